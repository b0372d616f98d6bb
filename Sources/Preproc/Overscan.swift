import DESICore
import Foundation
import LinearAlgebra

/// Overscan statistics as desispec.preproc computes them.
public enum Overscan {
    /// Bias of the standard deviation of a Gaussian sample clipped at +-nsigma (desispec.preproc._clipped_std_bias):
    /// sqrt(1 - 2a exp(-a^2/2) / (sqrt(2 pi) erf(a / sqrt 2))). Divide a clipped std by it.
    public static func clippedStdBias(_ nsigma: Double) -> Double {
        let a = nsigma
        return (1 - 2 * a * exp(-a * a / 2) / ((2 * Double.pi).squareRoot() * erf(a / 2.0.squareRoot()))).squareRoot()
    }

    /// Level and read noise of overscan pixels (desispec.preproc.calc_overscan): start from the median and
    /// 1.4826 x MAD, then `niter` times keep |x - level| < nsigma x noise and take their mean and standard
    /// deviation; the noise is finally divided by `clippedStdBias(nsigma)`. With fewer than 5 pixels kept, returns
    /// the median and the MAD estimate.
    public static func level(_ pix: [Double], nsigma: Double = 5, niter: Int = 3) -> (level: Double, readnoise: Double) {
        guard !pix.isEmpty else { return (.nan, .nan) }
        let (med, mad) = medianAndMAD(pix)
        var level = med, noise = mad
        for _ in 0..<niter {
            let cut = nsigma * noise
            var n = 0, s = 0.0
            pix.withUnsafeBufferPointer { p in
                for v in p where abs(v - level) < cut { s += v; n += 1 }
            }
            if n < 5 { return (med, mad) }
            let mean = s / Double(n)
            var s2 = 0.0
            pix.withUnsafeBufferPointer { p in
                for v in p where abs(v - level) < cut { s2 += (v - mean) * (v - mean) }
            }
            level = mean
            noise = (s2 / Double(n)).squareRoot()
        }
        return (level, noise / clippedStdBias(nsigma))
    }

    /// The median of `pix` and 1.4826 x the median of |pix - median|, as `Statistics.medianInPlace` gives them
    /// (`Statistics.median`: a whole overscan region, 132k values, by the sampled bracket instead of a quickselect).
    static func medianAndMAD(_ pix: [Double]) -> (median: Double, mad: Double) {
        let med = Statistics.median(pix)
        return (med, 1.4826 * Statistics.median(pix.map { abs($0 - med) }))
    }

    /// OSTEP (desispec.preproc.compute_overscan_step): max - min of the row-to-row differences of the
    /// median-filtered (size 7) per-row overscan, ignoring `edgeMargin` rows at each end. 0 when too few rows.
    public static func step(_ perRow: [Double], medianSize: Int = 7, edgeMargin: Int = 50) -> Double {
        let n = perRow.count
        guard n > 2 * edgeMargin else { return 0 }
        let m = Smoothing.medianFilter(perRow, size: medianSize, boundary: .reflect)
        var diff = [Double](repeating: 0, count: n)
        for i in 0..<(n - 1) { diff[i] = m[i + 1] - m[i] }
        let part = diff[edgeMargin..<(n - edgeMargin)]
        return part.max()! - part.min()!
    }

    /// Rows of an amplifier whose overscan may hold the trail of a bright charge deposit
    /// (desispec.preproc.find_overscan_cosmic_trails): the maximum over the `width` active columns next to the
    /// overscan, minus its median filter (size `smooth`), above `threshold` ADU, where the per-row overscan also departs
    /// by more than 2 ADU from its median filter (size 20); flagged rows grow by 2 rows each side.
    /// (desispec slices with Python semantics; here the column band is clipped to the raw image.)
    static func cosmicTrailRows(raw: RawPixels, rawNx: Int, data: CCDRegion, bias: CCDRegion, perRow: [Double],
                                       width: Int = 300, threshold: Double = 25000, smooth: Int = 100) -> [Bool] {
        let n = perRow.count
        let toTheLeft = data.cols.upperBound <= bias.cols.lowerBound
        let cols = toTheLeft ? max(0, bias.cols.lowerBound - width)..<bias.cols.lowerBound
                             : bias.cols.upperBound..<min(rawNx, bias.cols.upperBound + width)
        guard !cols.isEmpty else { return [Bool](repeating: false, count: n) }
        var active = [Double](repeating: 0, count: n)
        for (k, r) in bias.rows.enumerated() where k < n {
            var m = -Double.infinity
            for c in cols { m = max(m, raw[r * rawNx + c]) }
            active[k] = m
        }
        let smoothActive = Smoothing.medianFilter(active, size: smooth, boundary: .reflect)
        let smoothOverscan = Smoothing.medianFilter(perRow, size: 20, boundary: .reflect)
        var bad = (0..<n).map { active[$0] - smoothActive[$0] > threshold && abs(perRow[$0] - smoothOverscan[$0]) > 2 }
        for _ in 0..<2 {
            let old = bad
            for i in 1..<max(1, n) where old[i - 1] { bad[i] = true }
            let mid = bad
            for i in 0..<max(0, n - 1) where mid[i + 1] { bad[i] = true }
        }
        return bad
    }

    /// Replaces the values at `bad` by linear interpolation between the good ones (numpy.interp: constant beyond the ends).
    public static func interpolate(_ values: [Double], bad: [Bool]) -> [Double] {
        let good = values.indices.filter { !bad[$0] }
        guard !good.isEmpty else { return values }
        let goodX = good.map(Double.init), goodY = good.map { values[$0] }
        var out = values
        for i in values.indices where bad[i] { out[i] = Interpolation.linear(x: goodX, y: goodY, at: Double(i)) }
        return out
    }
}
