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
        let sample = MedianBracket.Sample(rows: rows, cols: cols, row: row, fill: fill)
        let med = median(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: nil, sample: sample)
        if let result = clippedInOnePass(rows: rows, cols: cols, row: row, fill: fill, median: med, nsigma: nsigma,
                                         niter: niter, sample: sample) {
            return result
        }
        let mad = 1.4826 * median(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: med, sample: sample)
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
                       fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, distanceFrom center: Double?,
                       sample: MedianBracket.Sample? = nil) -> Double {
        if let m = bracketedMedian(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: center, sample: sample) {
            return m
        }
        // NaN values (a master bias with NaN pixels) have no rank: the plain median's quickselect places them where
        // its comparisons leave them, so only the full copy in the same order gives its value
        var all = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            fill(r, row)
            for c in 0..<cols { all[r * cols + c] = center.map { abs(row[c] - $0) } ?? row[c] }
        }
        return Statistics.medianInPlace(&all)
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
}
