import DESICore
import Foundation
import LinearAlgebra

/// The velocity offset of a spectrum against its model: the v (km/s) for which data(lambda) = a model(lambda (1 - v/c)),
/// fitted by Gauss-Newton on (a, v) with the pixels' inverse variances. A reduced spectrum in the truth's frame has
/// v ~ 0; one left in the observatory frame has v = minus the barycentric correction.
public enum VelocityOffset {
    /// Speed of light in km/s.
    static let c = BarycentricCorrection.speedOfLight / 1000

    /// The offset and its 1-sigma uncertainty in km/s, or nil when the spectrum has no feature to measure it on.
    /// `model(factor)` is the model at wavelengths `wave` times `factor` (the truth seen through the resolution).
    public static func fit(wave: [Double], flux: ArraySlice<Float>, ivar: ArraySlice<Float>,
                           model: (_ factor: Double) -> [Double]) -> (velocity: Double, sigma: Double)? {
        let n = wave.count
        guard n >= 3, flux.count == n, ivar.count == n else { return nil }
        let f0 = flux.startIndex, i0 = ivar.startIndex
        var v = 0.0, sigma = Double.infinity
        // Gauss-Newton; d model / d v from the model itself at v -+ h (a finite difference of the data grid along
        // wavelength misjudges the slope of lines about a pixel wide, and the iterations then converge slowly from
        // a shift of 20 km/s).
        let h = 0.5
        for _ in 0..<12 {
            let m = model(1 - v / c)
            let mPlus = model(1 - (v + h) / c), mMinus = model(1 - (v - h) / c)
            var s00 = 0.0, s01 = 0.0, s11 = 0.0, t0 = 0.0, t1 = 0.0
            for j in 0..<n {
                let w = Double(ivar[i0 + j])
                guard w > 0 else { continue }
                let g = (mPlus[j] - mMinus[j]) / (2 * h)
                let d = Double(flux[f0 + j])
                s00 += w * m[j] * m[j]; s01 += w * m[j] * g; s11 += w * g * g
                t0 += w * m[j] * d; t1 += w * g * d
            }
            let det = s00 * s11 - s01 * s01
            guard det > 0, s00 > 0 else { return nil }
            let a = (s11 * t0 - s01 * t1) / det, b = (s00 * t1 - s01 * t0) / det
            guard a > 0 else { return nil }
            let step = b / a
            v += step
            sigma = (s00 / det).squareRoot() / a
            guard v.isFinite, abs(v) < 1000 else { return nil }
            if abs(step) < 1e-4 { break }
        }
        return (v, sigma)
    }

    /// A spectrum given as bin averages (flux density) on bins centred at `wave`, to be seen at wavelengths scaled by a
    /// factor with sub-pixel accuracy: its integral is interpolated between the bin edges by a natural cubic spline
    /// and differenced over the scaled output bins, so flux is conserved and a line keeps its shape at every
    /// sub-pixel shift. (Linear interpolation of the bin averages flattens a line between the nodes, more at some
    /// shifts than at others, which biases a fitted velocity by a fraction of a pixel that depends on the shift.)
    public struct ShiftableSpectrum: Sendable {
        let cumulative: NaturalCubicSpline

        public init(wave: [Double], binAverages: [Double]) {
            let edges = Interpolation.edges(centers: wave)
            var c = [0.0]
            for k in binAverages.indices { c.append(c[k] + binAverages[k] * (edges[k + 1] - edges[k])) }
            cumulative = NaturalCubicSpline(x: edges, y: c)
        }

        /// Bin averages over the output bins centred at `wave` of the spectrum at wavelengths times `factor`:
        /// s(lambda factor) averaged over each bin (zero outside the spectrum's range).
        public func binAverages(at wave: [Double], factor: Double) -> [Double] {
            let edges = Interpolation.edges(centers: wave)
            let c = edges.map { cumulative($0 * factor) }
            return wave.indices.map { (c[$0 + 1] - c[$0]) / ((edges[$0 + 1] - edges[$0]) * factor) }
        }
    }

    /// The median over targets of their inverse-variance weighted offsets, keeping targets measured to better than
    /// `maxSigma` km/s (the bright ones): (median, targets used), NaN and 0 when none qualifies.
    public static func median(perTarget: [Int64: [(velocity: Double, sigma: Double)]], maxSigma: Double = 5)
        -> (median: Double, targets: Int) {
        var values: [Double] = []
        for (_, fits) in perTarget {
            let weight = fits.reduce(0) { $0 + 1 / ($1.sigma * $1.sigma) }
            guard weight > 0 else { continue }
            let v = fits.reduce(0) { $0 + $1.velocity / ($1.sigma * $1.sigma) } / weight
            if 1 / weight.squareRoot() < maxSigma { values.append(v) }
        }
        guard !values.isEmpty else { return (.nan, 0) }
        return (Statistics.median(values), values.count)
    }
}
