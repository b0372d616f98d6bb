import FITS
import Foundation

/// Applies a flux calibration to a frame (desispec.fluxcalibration.apply_flux_calibration): flux /= calib and
/// ivar' = C^4 ivar ivarC / (C^2 ivarC + F^2 ivar) where calib, its ivar and the frame ivar are positive, else 0.
/// The flux unit becomes 1e-17 erg/s/cm2/A. Throws when the wavelength grids or sizes differ.
public func applyFluxCalibration(_ frame: inout Frame, _ calib: FluxCalibration) throws {
    guard frame.nwave == calib.nwave, frame.nspec == calib.nspec else {
        throw DESIError.mismatch("flux calibration is [\(calib.nspec), \(calib.nwave)], frame is [\(frame.nspec), \(frame.nwave)]")
    }
    let maxdiff = zip(frame.wave, calib.wave).map { abs($0 - $1) }.max() ?? 0
    guard maxdiff <= 0.001 else {
        throw DESIError.mismatch("flux calibration and frame have different wavelength grids (max difference \(maxdiff) A)")
    }
    for p in 0..<frame.flux.count {
        let c = Double(calib.calib[p]), ic = Double(calib.ivar[p]), iv = Double(frame.ivar[p]), f = Double(frame.flux[p])
        if ic > 0 && c > 0 && iv > 0 {
            frame.ivar[p] = Float(c * c * c * c * iv * ic / (c * c * ic + f * f * iv))
        } else {
            frame.ivar[p] = 0
        }
        frame.flux[p] = c > 0 ? Float(f / c) : 0
    }
    frame.header.set("BUNIT", "10**-17 erg/(s cm2 Angstrom)", comment: "Flux units")
}
