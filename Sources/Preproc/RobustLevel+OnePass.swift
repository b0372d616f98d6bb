import Foundation

/// The MAD and the clipping iterations of `RobustLevel.level` from one pass over the values after the median's.
///
/// A full-size master bias or dark is read from its mapped file row by row: each pass over it is bound by the memory
/// it streams (64 MB), and the plain form makes four after the median (the MAD, then one per clipping iteration).
/// Here the MAD's counting pass also sums the offsets d = v - median of the values in a core |d| < inner and keeps
/// the few values in a shell inner <= |d| < outer. The cuts the iterations will use are not known yet, but the
/// first is nsigma x 1.4826 x the MAD, which the MAD's bracket holds between two sample values, and the next ones
/// move little from it: inner and outer are taken well inside and outside (0.6 and 1.6 times). An iteration whose
/// level and cut keep the whole core inside (inner + |level - median| < cut) and everything beyond the shell outside
/// (outer - |level - median| >= cut) takes its sums from the core's, moved to the new level
/// (sum (d - delta) = S1 - k delta, sum (d - delta)^2 = S2 - 2 delta S1 + k delta^2), plus the shell values inside
/// its cut; any other iteration makes its own pass as before. The values kept are the same; the sums agree with the
/// plain form to rounding, as its own passes do.
extension RobustLevel {
    /// nil when the MAD's bracket missed it or a value is NaN (the caller then takes the plain form).
    static func clippedInOnePass(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
                                 fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, median med: Double,
                                 nsigma: Double, niter: Int, sample: MedianBracket.Sample? = nil)
        -> (level: Double, readnoise: Double)? {
        guard med.isFinite else { return nil }
        let bracket = MedianBracket(rows: rows, cols: cols, sample: sample ?? .init(rows: rows, cols: cols, row: row, fill: fill),
                                    distanceFrom: med)
        let inner = 0.6 * nsigma * 1.4826 * bracket.lo, outer = 1.6 * nsigma * 1.4826 * bracket.hi
        let parts = mapRowBlocks(rows: rows, cols: cols) { range, buffer -> (BracketCounts, ClippedSums, ShellValues) in
            var counts = bracket.counts(rows: range.count)
            var core = ClippedSums(level: med, cut: inner)
            var shell = ShellValues(center: med, inner: inner, outer: outer, limit: range.count * cols / 16 + 64)
            for r in range {
                fill(r, buffer)
                let values = UnsafeBufferPointer(buffer)
                // three loops over the row (in the cache), the first two in functions of their own: inlined
                // together, their vector accumulators did not all fit in registers
                counts.addRow(values); core.addRow(values); shell.add(values)
            }
            return (counts, core, shell)
        }
        guard let madValue = bracket.median(parts.map { $0.0 }) else { return nil }
        var coreCount = 0, coreSum = 0.0, coreSquares = 0.0
        for p in parts { let t = p.1.totals; coreCount += t.count; coreSum += t.sum; coreSquares += t.sumSquares }
        let complete = !parts.contains { $0.2.overflowed }
        var shell: [Double] = []
        if complete {
            shell.reserveCapacity(parts.reduce(0) { $0 + $1.2.values.count })
            for p in parts { shell += p.2.values }
        }
        return clip(median: med, mad: 1.4826 * madValue, nsigma: nsigma, niter: niter) { level, cut in
            let delta = level - med
            // a margin far above the rounding of |v - level| against |v - median| +- |delta|
            let margin = 1e-9 * (abs(level) + cut)
            guard complete, inner + abs(delta) + margin <= cut, outer - abs(delta) - margin >= cut else {
                return clippedTotals(rows: rows, cols: cols, fill: fill, level: level, cut: cut)
            }
            let k = Double(coreCount)
            var count = coreCount, sum = coreSum - k * delta, squares = coreSquares - 2 * delta * coreSum + k * delta * delta
            for v in shell {
                let d = v - level
                if abs(d) < cut { count += 1; sum += d; squares += d * d }
            }
            return (count, sum, squares)
        }
    }

    /// The values v with inner <= |v - center| < outer, in the order they come, up to `limit` of them (beyond it,
    /// `overflowed` and no more are kept). Four values at a time, one branch per four on whether any is kept.
    struct ShellValues {
        private let center: Double, inner: Double, outer: Double, limit: Int
        private(set) var values: [Double] = []
        private(set) var overflowed = false

        init(center: Double, inner: Double, outer: Double, limit: Int) {
            self.center = center; self.inner = inner; self.outer = outer; self.limit = limit
        }

        @inline(__always)
        mutating func add(_ row: UnsafeBufferPointer<Double>) {
            guard !overflowed else { return }
            let n = row.count, raw = UnsafeRawPointer(row.baseAddress!)
            let c4 = SIMD4(repeating: center), in4 = SIMD4(repeating: inner), out4 = SIMD4(repeating: outer)
            var i = 0
            while i + 4 <= n {
                var t = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD4<Double>.self) - c4
                t.replace(with: -t, where: t .< 0)
                let keep = (t .>= in4) .& (t .< out4)
                let kept = unsafeBitCast(keep, to: SIMD4<Int64>.self)
                if kept != SIMD4<Int64>() {   // one vector test
                    for q in 0..<4 where kept[q] != 0 { values.append(row[i + q]) }
                }
                i += 4
            }
            while i < n {
                let t = abs(row[i] - center)
                if t >= inner && t < outer { values.append(row[i]) }
                i += 1
            }
            if values.count > limit { overflowed = true; values = [] }
        }
    }
}
