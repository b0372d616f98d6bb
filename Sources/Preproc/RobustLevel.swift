import Foundation
import LinearAlgebra

/// `Overscan.level` (desispec.preproc.calc_overscan) over a rows x cols block whose rows are produced one at a time
/// by `fill(row, buffer)`, without copying a large block: the exact median comes from one counting pass around a
/// bracket taken from a sorted sample (Floyd-Rivest), falling back to a full copy and quickselect when the bracket
/// misses: the same median and MAD as `Overscan.level` on the extracted block. Each clipping iteration is one
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
        let mad = 1.4826 * median(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: med)
        var level = med, noise = mad
        for _ in 0..<niter {
            // values within nsigma x noise of the current level: their mean and standard deviation, from the sums of
            // their offsets d = v - level (mean = level + <d>, variance = <d^2> - <d>^2; the offsets are of the
            // order of the noise, so nothing cancels)
            let current = level, cut = nsigma * noise
            let parts = mapRowBlocks(rows: rows, cols: cols) { range, buffer -> ClippedSums in
                var sums = ClippedSums(level: current, cut: cut)
                for r in range { fill(r, buffer); sums.add(UnsafeBufferPointer(buffer)) }
                return sums
            }
            var k = 0, sd = 0.0, sdd = 0.0
            for p in parts { let t = p.totals; k += t.count; sd += t.sum; sdd += t.sumSquares }
            if k < 5 { return (med, mad) }
            let meanOffset = sd / Double(k)
            level += meanOffset
            noise = max(0, sdd / Double(k) - meanOffset * meanOffset).squareRoot()
        }
        return (level, noise / Overscan.clippedStdBias(nsigma))
    }

    /// Count, sum and sum of squares of the offsets v - level of the values with |v - level| < cut, accumulated in
    /// eight lanes (vector registers) and added at the end.
    struct ClippedSums {
        private let level: SIMD8<Double>, cut: SIMD8<Double>
        private var count = SIMD8<Int64>(), sum = SIMD8<Double>(), sumSquares = SIMD8<Double>()
        private var tailCount = 0, tailSum = 0.0, tailSquares = 0.0

        init(level: Double, cut: Double) {
            self.level = SIMD8(repeating: level)
            self.cut = SIMD8(repeating: cut)
        }

        @inline(__always)
        mutating func add(_ values: UnsafeBufferPointer<Double>) {
            let n = values.count, raw = UnsafeRawPointer(values.baseAddress!)
            var i = 0
            while i + 8 <= n {
                let d = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD8<Double>.self) - level
                let inside = (d .< cut) .& (d .> -cut)   // |d| < cut, false for NaN as the scalar test
                let kept = SIMD8<Double>(repeating: 0).replacing(with: d, where: inside)
                count.replace(with: count &+ 1, where: inside)
                sum += kept
                sumSquares += kept * kept
                i += 8
            }
            let l = level[0], c = cut[0]
            while i < n {
                let d = values[i] - l
                if abs(d) < c { tailCount += 1; tailSum += d; tailSquares += d * d }
                i += 1
            }
        }

        var totals: (count: Int, sum: Double, sumSquares: Double) {
            (Int(count.wrappedSum()) + tailCount, sum.sum() + tailSum, sumSquares.sum() + tailSquares)
        }
    }

    /// Median of the values, or of their distances |v - center| when `center` is given, as
    /// `Statistics.medianInPlace` defines it (mean of the two middle order statistics for an even count).
    static func median(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
                       fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, distanceFrom center: Double?) -> Double {
        let n = rows * cols
        let k1 = n / 2, k0 = n % 2 == 1 ? k1 : k1 - 1
        @inline(__always) func transform(_ v: Double) -> Double { center.map { abs(v - $0) } ?? v }
        // sample on an evenly spaced grid of rows and columns, sorted; the bracket keeps ~4.5 sigma of rank uncertainty
        let sr = min(rows, 64), sc = min(cols, max(1, 8192 / sr))
        let s = sr * sc
        var sample = [Double](repeating: 0, count: s)
        for i in 0..<sr {
            fill(i * rows / sr, row)
            for j in 0..<sc { sample[i * sc + j] = transform(row[j * cols / sc]) }
        }
        sample.sort()
        let margin = Int(4.5 * Double(s).squareRoot() / 2) + 2
        let lo = sample[max(0, k0 * s / n - margin)], hi = sample[min(s - 1, k1 * s / n + margin)]
        let expectedMiddle = 4 * margin * n / s + 16
        let parts = mapRowBlocks(rows: rows, cols: cols) { range, buffer -> BracketCounts in
            var counts = BracketCounts(lo: lo, hi: hi, center: center,
                                       expectedMiddle: expectedMiddle * range.count / rows + 16)
            for r in range { fill(r, buffer); counts.add(UnsafeBufferPointer(buffer)) }
            return counts
        }
        var below = 0, eqLo = 0, eqHi = 0
        var middle: [Double] = []
        middle.reserveCapacity(parts.reduce(0) { $0 + $1.middle.count })
        for p in parts { below += p.below; eqLo += p.equalLo; eqHi += p.equalHi; middle += p.middle }
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
        if let a = rank(k0), let b = rank(k1) { return k0 == k1 ? b : 0.5 * (a + b) }
        var all = [Double](repeating: 0, count: n)
        for r in 0..<rows { fill(r, row); for c in 0..<cols { all[r * cols + c] = transform(row[c]) } }
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

    /// Where values (or their distances from `center`) fall around a bracket [lo, hi]: counts below lo, equal to lo
    /// and equal to hi, and the values strictly inside kept (NaN counts nowhere). Eight lanes at a time: the
    /// comparisons are counted without branches (half the values are below lo, a branch would mispredict).
    struct BracketCounts {
        private let lo: SIMD8<Double>, hi: SIMD8<Double>, center: SIMD8<Double>, useDistance: Bool
        private var belowLanes = SIMD8<Int64>(), equalLoLanes = SIMD8<Int64>(), equalHiLanes = SIMD8<Int64>()
        private var tailBelow = 0, tailEqualLo = 0, tailEqualHi = 0
        var middle: [Double] = []

        init(lo: Double, hi: Double, center: Double?, expectedMiddle: Int) {
            self.lo = SIMD8(repeating: lo); self.hi = SIMD8(repeating: hi)
            self.center = SIMD8(repeating: center ?? 0); useDistance = center != nil
            middle.reserveCapacity(expectedMiddle)
        }

        var below: Int { Int(belowLanes.wrappedSum()) + tailBelow }
        var equalLo: Int { Int(equalLoLanes.wrappedSum()) + tailEqualLo }
        var equalHi: Int { Int(equalHiLanes.wrappedSum()) + tailEqualHi }

        @inline(__always)
        mutating func add(_ values: UnsafeBufferPointer<Double>) {
            let n = values.count, raw = UnsafeRawPointer(values.baseAddress!)
            var i = 0
            while i + 8 <= n {
                var t = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD8<Double>.self)
                if useDistance {
                    t -= center
                    t.replace(with: -t, where: t .< 0)
                }
                belowLanes.replace(with: belowLanes &+ 1, where: t .< lo)
                equalLoLanes.replace(with: equalLoLanes &+ 1, where: t .== lo)
                equalHiLanes.replace(with: equalHiLanes &+ 1, where: t .== hi)
                let inside = (t .> lo) .& (t .< hi)
                if any(inside) { for k in 0..<8 where inside[k] { middle.append(t[k]) } }
                i += 8
            }
            let l = lo[0], h = hi[0], c = center[0]
            while i < n {
                let t = useDistance ? abs(values[i] - c) : values[i]
                if t < l { tailBelow += 1 } else if t == l { tailEqualLo += 1 } else if t < h { middle.append(t) }
                else if t == h { tailEqualHi += 1 }
                i += 1
            }
        }
    }
}
