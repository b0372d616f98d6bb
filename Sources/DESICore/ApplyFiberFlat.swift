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
    // The flat is taken one fiber at a time into a reused row (no copy of the whole flat): with HELIOCOR the
    // row is the flat interpolated to the frame's wavelengths over its ivar > 0 pixels, as before.
    let nwave = frame.nwave
    let shifted = frame.header.double("HELIOCOR").map { helio in fiberflat.wave.map { $0 * helio } }
    var row = [Double](repeating: 0, count: nwave)
    for f in 0..<frame.nspec {
        let base = f * nwave
        let good = shifted == nil ? [] : (0..<nwave).filter { fiberflat.ivar[base + $0] > 0 }
        if let shifted, !good.isEmpty {
            row = Interpolation.linear(x: good.map { shifted[$0] }, y: good.map { fiberflat.flat[base + $0] }, at: frame.wave)
        } else {
            for i in 0..<nwave { row[i] = fiberflat.flat[base + i] }
        }
        for i in 0..<nwave {
            let k = base + i
            let c = row[i], civ = fiberflat.ivar[k]
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
}
