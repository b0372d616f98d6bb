import DESICore
import Foundation
import PSF

/// A PSF that differs per fiber from `base` the way the PSF fitted to arcs differs from the true one on real data:
/// fiber f's light of wavelength lambda lands where `base` puts lambda + wavelengthOffset[f] (Angstrom), and its
/// spots are stretched along the wavelength direction (CCD rows) by widthScale[f] about their centre. Rendering
/// with it and reducing with `base` gives frames whose per-fiber wavelength and LSF errors are known: the truth
/// for the sky adjustments (desispec's --adjust-wavelength --adjust-lsf).
public struct PerturbedPSF: SpectralPSF {
    public let base: any SpectralPSF
    public let wavelengthOffset: [Double]
    public let widthScale: [Double]

    public init(base: any SpectralPSF, wavelengthOffset: [Double], widthScale: [Double]) throws {
        guard wavelengthOffset.count == base.nspec, widthScale.count == base.nspec else {
            throw DESIError.mismatch("PSF perturbation: \(wavelengthOffset.count) offsets and \(widthScale.count) width scales "
                                     + "for a PSF of \(base.nspec) fibers")
        }
        guard widthScale.allSatisfy({ $0 > 0.5 && $0 < 2 }) else {
            throw DESIError.invalidArgument("PSF perturbation: width scales must lie between 0.5 and 2")
        }
        self.base = base; self.wavelengthOffset = wavelengthOffset; self.widthScale = widthScale
    }

    /// Offsets `commonOffset + amplitude * sin(2 pi fiber / period)` and scales
    /// `1 + scaleAmplitude * sin(2 pi fiber / scalePeriod)`: smooth across fibers, as the PSF errors of a real
    /// spectrograph; the common offset, a flexure along the dispersion.
    public static func smooth(base: any SpectralPSF, offsetAmplitude: Double, offsetPeriod: Double, scaleAmplitude: Double,
                              scalePeriod: Double, commonOffset: Double = 0) throws -> PerturbedPSF {
        let n = base.nspec
        return try PerturbedPSF(base: base,
                                wavelengthOffset: (0..<n).map {
                                    commonOffset + offsetAmplitude * sin(2 * Double.pi * Double($0) / offsetPeriod)
                                },
                                widthScale: (0..<n).map { 1 + scaleAmplitude * sin(2 * Double.pi * Double($0) / scalePeriod) })
    }

    public var nspec: Int { base.nspec }
    public var wavemin: Double { base.wavemin }
    public var wavemax: Double { base.wavemax }
    public var npixX: Int { base.npixX }
    public var npixY: Int { base.npixY }

    public func x(fiber: Int, wavelength: Double) -> Double { base.x(fiber: fiber, wavelength: wavelength + wavelengthOffset[fiber]) }
    public func y(fiber: Int, wavelength: Double) -> Double { base.y(fiber: fiber, wavelength: wavelength + wavelengthOffset[fiber]) }
    public func wavelength(fiber: Int, y: Double) -> Double { base.wavelength(fiber: fiber, y: y) - wavelengthOffset[fiber] }

    /// The base spot at the moved wavelength, its variance along the rows changed by (scale^2 - 1) sigma^2 (sigma^2:
    /// the stamp's row variance less the 1/12 of pixel integration) through f + (Delta / 2) d2f/dy2 with the discrete
    /// second difference: the sum is kept and the row variance changes by exactly Delta (first order in Delta, so
    /// meant for the few-percent changes of real PSF errors; negative values of a sharpened wing are set to 0).
    public func spot(fiber: Int, wavelength: Double) -> PSFSpot {
        let s = base.spot(fiber: fiber, wavelength: wavelength + wavelengthOffset[fiber])
        let scale = widthScale[fiber]
        if scale == 1 || s.ny < 3 { return s }
        var total = 0.0, m1 = 0.0, m2 = 0.0
        for i in 0..<s.ny {
            let r = (0..<s.nx).reduce(0.0) { $0 + s.values[i * s.nx + $1] }
            total += r; m1 += r * Double(i); m2 += r * Double(i * i)
        }
        guard total > 0 else { return s }
        let variance = max(m2 / total - pow(m1 / total, 2) - 1.0 / 12, 0)
        let delta = (scale * scale - 1) * variance
        let ny = s.ny + 2
        func value(_ i: Int, _ j: Int) -> Double { i >= 0 && i < s.ny ? s.values[i * s.nx + j] : 0 }
        var values = [Double](repeating: 0, count: ny * s.nx)
        for i in 0..<ny {
            let b = i - 1
            for j in 0..<s.nx {
                let v = value(b, j) + 0.5 * delta * (value(b + 1, j) - 2 * value(b, j) + value(b - 1, j))
                values[i * s.nx + j] = max(v, 0)
            }
        }
        return PSFSpot(x0: s.x0, y0: s.y0 - 1, nx: s.nx, ny: ny, values: values)
    }
}
