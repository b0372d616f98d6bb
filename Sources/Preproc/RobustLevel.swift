import Foundation
import LinearAlgebra

/// `Overscan.level` (desispec.preproc.calc_overscan) over a rows x cols block whose rows are produced one at a time
/// by `fill(row, buffer)`, without copying a large block: the exact median comes from one counting pass around a
/// bracket taken from a sorted sample (Floyd-Rivest), falling back to a full copy and quickselect when the bracket
/// misses: the same median and MAD as `Overscan.level` on the extracted block. The MAD's counting pass also gathers
/// what the three clipping iterations need (`clippedInOnePass`); where that does not suffice, an iteration is one
/// vectorised pass (count, sum and sum of squares of the offsets from the previous level), where `Overscan.level`
/// makes two: level and noise agree with it to rounding (1e-13 relative). Passes run over a fixed set of row blocks
/// in parallel (an amplifier is one task among few: this lets it use every core), with results independent of the
/// number of threads.
enum RobustLevel {
    /// Below this many values, copy and use `Overscan.level` directly.
    static let smallCount = 65536

    /// With an accessor of single values.
    @inline(__always)
    static func level(rows: Int, cols: Int, nsigma: Double = 5, niter: Int = 3,
                      _ value: (Int, Int) -> Double) -> (level: Double, readnoise: Double) {
        level(rows: rows, cols: cols, nsigma: nsigma, niter: niter) { r, buf in for c in 0..<cols { buf[c] = value(r, c) } }
    }

    static func level(rows: Int, cols: Int, nsigma: Double = 5, niter: Int = 3,
                      fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void) -> (level: Double, readnoise: Double) {
        let n = rows * cols
        guard n > 0 else { return (.nan, .nan) }
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: cols)
        defer { row.deallocate() }
        if n < smallCount {
            var block = [Double](repeating: 0, count: n)
            for r in 0..<rows { fill(r, row); for c in 0..<cols { block[r * cols + c] = row[c] } }
            return Overscan.level(block, nsigma: nsigma, niter: niter)
        }
        let med = median(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: nil)
        if let result = clippedInOnePass(rows: rows, cols: cols, row: row, fill: fill, median: med, nsigma: nsigma,
                                         niter: niter) {
            return result
        }
        let mad = 1.4826 * median(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: med)
        return clip(median: med, mad: mad, nsigma: nsigma, niter: niter) { level, cut in
            clippedTotals(rows: rows, cols: cols, fill: fill, level: level, cut: cut)
        }
    }

    /// The clipping iterations of `Overscan.level` from the median and MAD: `totals(level, cut)` gives the count, sum
    /// and sum of squares of the offsets d = v - level of the values with |d| < cut. Each iteration's mean and
    /// standard deviation come from those sums (mean = level + <d>, variance = <d^2> - <d>^2; the offsets are of the
    /// order of the noise, so nothing cancels).
    static func clip(median med: Double, mad: Double, nsigma: Double, niter: Int,
                     totals: (Double, Double) -> (count: Int, sum: Double, sumSquares: Double))
        -> (level: Double, readnoise: Double) {
        var level = med, noise = mad
        for _ in 0..<niter {
            // no value is within a cut of 0 (a constant block): no pass needed to count none
            let cut = nsigma * noise
            let t = cut > 0 ? totals(level, cut) : (count: 0, sum: 0, sumSquares: 0)
            if t.count < 5 { return (med, mad) }
            let meanOffset = t.sum / Double(t.count)
            level += meanOffset
            noise = max(0, t.sumSquares / Double(t.count) - meanOffset * meanOffset).squareRoot()
        }
        return (level, noise / Overscan.clippedStdBias(nsigma))
    }

    /// `clip`'s totals from one vectorised pass over the values.
    static func clippedTotals(rows: Int, cols: Int, fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void,
                              level: Double, cut: Double) -> (count: Int, sum: Double, sumSquares: Double) {
        let parts = mapRowBlocks(rows: rows, cols: cols) { range, buffer -> ClippedSums in
            var sums = ClippedSums(level: level, cut: cut)
            for r in range { fill(r, buffer); sums.add(UnsafeBufferPointer(buffer)) }
            return sums
        }
        var k = 0, sd = 0.0, sdd = 0.0
        for p in parts { let t = p.totals; k += t.count; sd += t.sum; sdd += t.sumSquares }
        return (k, sd, sdd)
    }

    /// Count, sum and sum of squares of the offsets v - level of the values with |v - level| < cut, accumulated in
    /// eight lanes (lane j: the values at positions i = j mod 8 of each row, in order; the row's last n mod 8 values
    /// in a scalar tail) and added at the end. `add` keeps the lanes in two pairs of AVX registers while it runs (each
    /// holds four doubles; eight-lane vectors were spilled to the stack): each lane makes the same additions in the
    /// same order, so the sums are the same to the last bit; the count is an integer, summed in any order.
    struct ClippedSums {
        private let level: Double, cut: Double
        private var count = 0, sum = SIMD8<Double>(), sumSquares = SIMD8<Double>()
        private var tailCount = 0, tailSum = 0.0, tailSquares = 0.0

        init(level: Double, cut: Double) {
            self.level = level
            self.cut = cut
        }

        @inline(__always)
        mutating func add(_ values: UnsafeBufferPointer<Double>) {
            let n = values.count, p = values.baseAddress!
            let l = SIMD4(repeating: level), c = SIMD4(repeating: cut), zero = SIMD4<Double>()
            var s0 = sum.lowHalf, s1 = sum.highHalf, q0 = sumSquares.lowHalf, q1 = sumSquares.highHalf
            var inside = SIMD4<Int64>()   // minus the number of values kept, per lane
            @inline(__always) func lanes(_ offset: Int, _ s: inout SIMD4<Double>, _ q: inout SIMD4<Double>) {
                let d = SIMD4.load(p + offset) - l
                let keep = (d .< c) .& (d .> -c)   // |d| < cut, false for NaN as the scalar test
                let kept = zero.replacing(with: d, where: keep)
                inside &+= unsafeBitCast(keep, to: SIMD4<Int64>.self)
                s += kept
                q += kept * kept
            }
            var i = 0
            while i + 8 <= n {
                lanes(i, &s0, &q0); lanes(i &+ 4, &s1, &q1)
                i += 8
            }
            count -= Int(inside.wrappedSum())
            sum = SIMD8(lowHalf: s0, highHalf: s1)
            sumSquares = SIMD8(lowHalf: q0, highHalf: q1)
            while i < n {
                let d = values[i] - level
                if abs(d) < cut { tailCount += 1; tailSum += d; tailSquares += d * d }
                i += 1
            }
        }

        /// `add` as a function of its own (not inlined into a caller with other loops).
        @inline(never)
        mutating func addRow(_ values: UnsafeBufferPointer<Double>) { add(values) }

        var totals: (count: Int, sum: Double, sumSquares: Double) {
            (count + tailCount, sum.sum() + tailSum, sumSquares.sum() + tailSquares)
        }
    }

    /// Median of the values, or of their distances |v - center| when `center` is given, as
    /// `Statistics.medianInPlace` defines it (mean of the two middle order statistics for an even count).
    static func median(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
                       fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, distanceFrom center: Double?) -> Double {
        if let m = bracketedMedian(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: center) { return m }
        // NaN values (a master bias with NaN pixels) have no rank: the plain median's quickselect places them where
        // its comparisons leave them, so only the full copy in the same order gives its value
        var all = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            fill(r, row)
            for c in 0..<cols { all[r * cols + c] = center.map { abs(row[c] - $0) } ?? row[c] }
        }
        return Statistics.medianInPlace(&all)
    }

    /// The median of `median` from a bracket and one counting pass; nil where the bracket missed the middle order
    /// statistics or the values hold a NaN (`median` then takes the full copy).
    static func bracketedMedian(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
                                fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, distanceFrom center: Double?) -> Double? {
        let bracket = MedianBracket(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: center)
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

        /// A stratified sample (256 x 256 values at most): one row drawn in each of sr equal bands of rows, and in it
        /// one column in each of sc equal bands of columns, each draw at a pseudo-random place in its band (a fixed
        /// seed: the same sample every run). The bracket keeps ~4.5 sigma of rank uncertainty: ~1.8% of the values
        /// fall inside it with 65536 samples. Its two ends are order statistics of the sample, selected (no sort). A
        /// grid at fixed places is biased wherever the level follows the rows or columns: the first row of each of 64
        /// bands of a master bias that ramps from row to row sat half a band low, 0.8 % of the values, and the median
        /// of a full-size bias's data region fell outside the bracket (taken again from a full copy, ~10 % of a
        /// preprocessing's CPU); a pattern repeating every few rows or columns would alias the same way.
        init(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
             fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, distanceFrom center: Double?) {
            let n = rows * cols
            k1 = n / 2; k0 = n % 2 == 1 ? k1 : k1 - 1
            self.rows = rows; self.center = center
            @inline(__always) func transform(_ v: Double) -> Double { center.map { abs(v - $0) } ?? v }
            let sr = min(rows, 256), sc = min(cols, max(1, 65536 / sr))
            let s = sr * sc
            var sample = [Double](repeating: 0, count: s)
            var places = SplitMix64(seed: 1)
            @inline(__always) func draw(_ band: Range<Int>) -> Int {
                band.lowerBound + Int(places.next() % UInt64(max(1, band.count)))
            }
            for i in 0..<sr {
                fill(draw((i * rows / sr)..<((i + 1) * rows / sr)), row)
                for j in 0..<sc { sample[i * sc + j] = transform(row[draw((j * cols / sc)..<((j + 1) * cols / sc))]) }
            }
            let margin = Int(4.5 * Double(s).squareRoot() / 2) + 2
            lo = Statistics.select(&sample, max(0, k0 * s / n - margin))
            hi = Statistics.select(&sample, min(s - 1, k1 * s / n + margin))
            expectedMiddle = 4 * margin * n / s + 16
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

    /// Rows in a fixed number of blocks (whatever the number of threads, so the sums are always added in the same
    /// order), processed concurrently, each with its own row buffer; the blocks' results in block order.
    static let rowBlocks = 16

    static func mapRowBlocks<R>(rows: Int, cols: Int,
                                _ body: (Range<Int>, UnsafeMutableBufferPointer<Double>) -> R) -> [R] {
        let blocks = max(1, min(rowBlocks, rows))
        let results = IndexedResults<R>(count: blocks)
        parallelFor(blocks) { b in
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, cols))
            defer { buffer.deallocate() }
            results.set(b, body((rows * b / blocks)..<(rows * (b + 1) / blocks), buffer))
        }
        return results.all()
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
