import Foundation
import LinearAlgebra

/// `Overscan.level` (desispec.preproc.calc_overscan) over a rows x cols block whose rows are produced one at a time
/// by `fill(row, buffer)`, without copying a large block: the exact median comes from one counting pass around a
/// bracket taken from a sorted sample (Floyd-Rivest), falling back to a full copy and quickselect when the bracket
/// misses. Sums run in the same row-major order as `Overscan.level` on the extracted block: identical results.
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
        let med = median(rows: rows, cols: cols, row: row, fill: fill, transform: { $0 })
        let mad = 1.4826 * median(rows: rows, cols: cols, row: row, fill: fill, transform: { abs($0 - med) })
        var level = med, noise = mad
        for _ in 0..<niter {
            let cut = nsigma * noise
            var k = 0, s = 0.0
            for r in 0..<rows { fill(r, row); for c in 0..<cols { let v = row[c]; if abs(v - level) < cut { s += v; k += 1 } } }
            if k < 5 { return (med, mad) }
            let mean = s / Double(k)
            var s2 = 0.0
            for r in 0..<rows { fill(r, row); for c in 0..<cols { let v = row[c]; if abs(v - level) < cut { s2 += (v - mean) * (v - mean) } } }
            level = mean
            noise = (s2 / Double(k)).squareRoot()
        }
        return (level, noise / Overscan.clippedStdBias(nsigma))
    }

    /// Median of transform(value) as `Statistics.medianInPlace` defines it (mean of the two middle order statistics
    /// for an even count).
    @inline(__always)
    static func median(rows: Int, cols: Int, row: UnsafeMutableBufferPointer<Double>,
                       fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void, transform: (Double) -> Double) -> Double {
        let n = rows * cols
        let k1 = n / 2, k0 = n % 2 == 1 ? k1 : k1 - 1
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
        var below = 0, eqLo = 0, eqHi = 0
        var middle: [Double] = []
        middle.reserveCapacity(4 * margin * n / s + 16)
        for r in 0..<rows {
            fill(r, row)
            for c in 0..<cols {
                let v = transform(row[c])
                if v < lo { below += 1 }
                else if v == lo { eqLo += 1 }
                else if v < hi { middle.append(v) }
                else if v == hi { eqHi += 1 }
            }
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
        if let a = rank(k0), let b = rank(k1) { return k0 == k1 ? b : 0.5 * (a + b) }
        var all = [Double](repeating: 0, count: n)
        for r in 0..<rows { fill(r, row); for c in 0..<cols { all[r * cols + c] = transform(row[c]) } }
        return Statistics.medianInPlace(&all)
    }
}
