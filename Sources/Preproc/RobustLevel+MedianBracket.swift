import Foundation
import LinearAlgebra

// The exact median of `RobustLevel` from a sampled bracket and one counting pass over the rows.
extension RobustLevel {
    /// The median of `median` from a bracket and one counting pass; nil where the bracket missed the middle order
    /// statistics or the values hold a NaN (`median` then takes the full copy).
    static func bracketedMedian(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
                                fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, distanceFrom center: Double?,
                                sample: MedianBracket.Sample? = nil) -> Double? {
        let bracket = MedianBracket(rows: rows, cols: cols, sample: sample ?? .init(rows: rows, cols: cols, row: row, fill: fill),
                                    distanceFrom: center)
        let parts = mapRowBlocks(rows: rows, cols: cols) { range, buffer -> BracketCounts in
            var counts = bracket.counts(rows: range.count)
            for r in range { fill(r, buffer); counts.add(UnsafeBufferPointer(buffer)) }
            return counts
        }
        return bracket.median(parts)
    }

    /// Two order statistics of the sample of a rows x cols block (or of its distances from a centre) that hold the
    /// block's median between them, with high probability; `median` finds it from the counts of one pass.
    struct MedianBracket {
        let lo: Double, hi: Double
        let center: Double?
        /// The ranks of the two middle order statistics (equal for an odd count).
        let k0: Int, k1: Int
        let rows: Int
        /// About how many values fall strictly inside the bracket.
        let expectedMiddle: Int

        /// The bracket from a sample of these values (`Sample`; the median's sample serves the MAD's: the same places,
        /// so the same values, without reading the rows again).
        init(rows: Int, cols: Int, sample drawn: Sample, distanceFrom center: Double?) {
            let n = rows * cols
            k1 = n / 2; k0 = n % 2 == 1 ? k1 : k1 - 1
            self.rows = rows; self.center = center
            var sample = drawn.values
            if let c = center { for i in sample.indices { sample[i] = abs(sample[i] - c) } }
            let s = sample.count
            let margin = Int(4.5 * Double(s).squareRoot() / 2) + 2
            lo = Statistics.select(&sample, max(0, k0 * s / n - margin))
            hi = Statistics.select(&sample, min(s - 1, k1 * s / n + margin))
            expectedMiddle = 4 * margin * n / s + 16
        }

        /// The values at a stratified sample of places (256 x 256 at most): one row drawn in each of sr equal bands
        /// of rows, and in it one column in each of sc equal bands of columns, each draw at a pseudo-random place in
        /// its band (a fixed seed: the same sample every run). The bracket keeps ~4.5 sigma of rank uncertainty: ~1.8% of the values
        /// fall inside it with 65536 samples. Its two ends are order statistics of the sample, selected (no sort). A
        /// grid at fixed places is biased wherever the level follows the rows or columns: the first row of each of 64
        /// bands of a master bias that ramps from row to row sat half a band low, 0.8 % of the values, and the median
        /// of a full-size bias's data region fell outside the bracket (taken again from a full copy, ~10 % of a
        /// preprocessing's CPU); a pattern repeating every few rows or columns would alias the same way.
        struct Sample {
            let values: [Double]

            init(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
                 fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void) {
                let sr = min(rows, 256), sc = min(cols, max(1, 65536 / sr))
                var values = [Double](repeating: 0, count: sr * sc)
                var places = SplitMix64(seed: 1)
                @inline(__always) func draw(_ band: Range<Int>) -> Int {
                    band.lowerBound + Int(places.next() % UInt64(max(1, band.count)))
                }
                for i in 0..<sr {
                    fill(draw((i * rows / sr)..<((i + 1) * rows / sr)), row)
                    for j in 0..<sc { values[i * sc + j] = row[draw((j * cols / sc)..<((j + 1) * cols / sc))] }
                }
                self.values = values
            }
        }

        /// Empty counts for a block of `rows` rows.
        func counts(rows blockRows: Int) -> BracketCounts {
            BracketCounts(lo: lo, hi: hi, center: center, expectedMiddle: expectedMiddle * blockRows / rows + 16)
        }

        /// The median from the counts of every block, nil when it lies outside the bracket or a value is NaN.
        func median(_ parts: [BracketCounts]) -> Double? {
            var below = 0, eqLo = 0, eqHi = 0, unordered = 0
            var middle: [Double] = []
            middle.reserveCapacity(parts.reduce(0) { $0 + $1.middle.count })
            for p in parts {
                below += p.below; eqLo += p.equalLo; eqHi += p.equalHi; unordered += p.unordered; middle += p.middle
            }
            // order statistic k from the counts, nil when outside the bracket
            func rank(_ k: Int) -> Double? {
                var k = k - below
                if k < 0 { return nil }
                if k < eqLo { return lo }
                k -= eqLo
                if k < middle.count { return Statistics.select(&middle, k) }
                k -= middle.count
                if k < eqHi { return hi }
                return nil
            }
            guard unordered == 0, let a = rank(k0), let b = rank(k1) else { return nil }
            return k0 == k1 ? b : 0.5 * (a + b)
        }
    }

    /// Where values (or their distances from `center`) fall around a bracket [lo, hi]: counts below lo, equal to lo
    /// and equal to hi, and the values strictly inside kept; NaN values are only counted, as `unordered`. Four lanes
    /// at a time (an AVX register), the counters in registers for a whole row, and one branch per four values, on
    /// whether any is inside: the bracket holds ~2 % of the values, so it is rarely taken and well predicted (a
    /// branch on below / above would mispredict half the time; storing every value and moving the end only for those
    /// inside made each value wait on the previous one). The kept values are stored in the order they come, as
    /// before; counts are integers, and the kept values are only selected from.
    struct BracketCounts {
        private let lo: Double, hi: Double, center: Double, useDistance: Bool
        private(set) var below = 0, equalLo = 0, equalHi = 0, unordered = 0
        /// storage[0 ..< kept]: the values inside; the rest is room for the next row's stores.
        private var storage: [Double]
        private var kept = 0

        init(lo: Double, hi: Double, center: Double?, expectedMiddle: Int) {
            self.lo = lo; self.hi = hi
            self.center = center ?? 0; useDistance = center != nil
            storage = [Double](repeating: 0, count: max(16, expectedMiddle))
        }

        /// The values strictly inside the bracket.
        var middle: ArraySlice<Double> { storage[0..<kept] }

        @inline(__always)
        mutating func add(_ values: UnsafeBufferPointer<Double>) {
            // room for every value of the row
            if storage.count < kept + values.count {
                storage += repeatElement(0, count: max(storage.count, kept + values.count - storage.count))
            }
            if useDistance { count(values, distance: true) } else { count(values, distance: false) }
        }

        /// `add` as a function of its own (not inlined into a caller with other loops).
        @inline(never)
        mutating func addRow(_ values: UnsafeBufferPointer<Double>) { add(values) }

        /// The counting loop, `distance` constant in each copy (no test per value).
        @inline(__always)
        private mutating func count(_ values: UnsafeBufferPointer<Double>, distance: Bool) {
            let n = values.count, raw = UnsafeRawPointer(values.baseAddress!)
            let lo4 = SIMD4(repeating: lo), hi4 = SIMD4(repeating: hi), c4 = SIMD4(repeating: center)
            // minus the counts (a true comparison is -1 in its lane)
            var nBelow = SIMD4<Int64>(), nLo = SIMD4<Int64>(), nHi = SIMD4<Int64>(), nNaN = SIMD4<Int64>()
            var end = kept
            storage.withUnsafeMutableBufferPointer { sb in
                let out = sb.baseAddress!
                var i = 0
                while i + 4 <= n {
                    var t = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD4<Double>.self)
                    if distance {
                        t -= c4
                        t.replace(with: -t, where: t .< 0)
                    }
                    nBelow &+= unsafeBitCast(t .< lo4, to: SIMD4<Int64>.self)
                    nLo &+= unsafeBitCast(t .== lo4, to: SIMD4<Int64>.self)
                    nHi &+= unsafeBitCast(t .== hi4, to: SIMD4<Int64>.self)
                    nNaN &+= unsafeBitCast(t .!= t, to: SIMD4<Int64>.self)
                    let inside = unsafeBitCast((t .> lo4) .& (t .< hi4), to: SIMD4<Int64>.self)
                    if inside != SIMD4<Int64>() {   // one vector test
                        for q in 0..<4 where inside[q] != 0 { out[end] = t[q]; end &+= 1 }
                    }
                    i += 4
                }
                let l = lo, h = hi, c = center
                while i < n {
                    let t = distance ? abs(values[i] - c) : values[i]
                    if t < l { below += 1 } else if t == l { equalLo += 1 } else if t < h { out[end] = t; end += 1 }
                    else if t == h { equalHi += 1 } else if t.isNaN { unordered += 1 }
                    i += 1
                }
            }
            kept = end
            below -= Int(nBelow.wrappedSum()); equalLo -= Int(nLo.wrappedSum()); equalHi -= Int(nHi.wrappedSum())
            unordered -= Int(nNaN.wrappedSum())
        }
    }
}
