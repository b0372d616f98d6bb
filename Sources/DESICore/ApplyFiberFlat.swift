import FITS
import Foundation
import LinearAlgebra

/// Checks that two wavelength grids agree as numpy.allclose does (rtol 1e-5, atol 1e-8): the fiber flat and
/// sky files store their grid as float32.
public func sameWavelengthGrid(_ a: [Double], _ b: [Double]) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where abs(a[i] - b[i]) > 1e-8 + 1e-5 * abs(b[i]) { return false }
    return true
}

/// Divides a frame by a fiber flat (desispec.fiberflat.apply_fiberflat):
/// ivar' = 1 / (1/(ivar C^2) + flux^2 / (ivar_C C^4)) where C > 0 and both ivars > 0 (else 0), flux' = flux / C
/// where C > 0, and mask bit BADFIBERFLAT where C == 0, ivar_C == 0 or the flat's mask is set.
/// With a HELIOCOR keyword in the frame header the flat is first moved to the frame's wavelength system.
public func applyFiberFlat(_ frame: inout Frame, _ fiberflat: FiberFlat) throws {
    guard frame.nspec == fiberflat.nspec else {
        throw DESIError.mismatch("frame has \(frame.nspec) spectra, fiber flat has \(fiberflat.nspec)")
    }
    guard sameWavelengthGrid(frame.wave, fiberflat.wave) else {
        let grids = "\(frame.nwave) from \(frame.wave.first ?? 0) A vs \(fiberflat.nwave) from \(fiberflat.wave.first ?? 0) A"
        throw DESIError.mismatch("frame and fiberflat do not have the same wavelength arrays (\(grids))")
    }
    if let fc = frame.camera, let ffc = fiberflat.camera, fc != ffc {
        throw DESIError.mismatch("frame is camera \(fc), fiber flat is camera \(ffc)")
    }
    let nwave = frame.nwave
    var flat = fiberflat.flat
    if let helio = frame.header.double("HELIOCOR") {
        let shifted = fiberflat.wave.map { $0 * helio }
        for f in 0..<fiberflat.nspec {
            let good = (0..<nwave).filter { fiberflat.ivar[f * nwave + $0] > 0 }
            if good.isEmpty { continue }
            let row = Interpolation.linear(x: good.map { shifted[$0] }, y: good.map { fiberflat.flat[f * nwave + $0] }, at: frame.wave)
            for i in 0..<nwave { flat[f * nwave + i] = row[i] }
        }
    }
    for k in 0..<frame.flux.count {
        let c = flat[k], civ = fiberflat.ivar[k]
        let iv = Double(frame.ivar[k]), fl = Double(frame.flux[k])
        if iv > 0 && civ > 0 && c > 0 {
            frame.ivar[k] = Float(1 / (1 / (iv * c * c) + fl * fl / (civ * c * c * c * c)))
        } else {
            frame.ivar[k] = 0
        }
        if c > 0 { frame.flux[k] = Float(fl / c) }
        if c == 0 || civ == 0 || fiberflat.mask[k] != 0 { frame.mask[k] |= SpecMask.badFiberFlat }
    }
}
