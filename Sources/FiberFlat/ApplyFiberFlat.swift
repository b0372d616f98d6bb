import DESICore
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
        throw DESIError.mismatch("frame and fiberflat do not have the same wavelength arrays (\(frame.nwave) from \(frame.wave.first ?? 0) A vs \(fiberflat.nwave) from \(fiberflat.wave.first ?? 0) A)")
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

/// Averages fiber flats (desispec.fiberflat.average_fiberflat): with two, the ivar-weighted mean of the
/// unmasked values; with more, the masked median with ivar = sum(ivar) * 2/pi. The mask keeps the bits
/// set in every input; meanspec is averaged with the same kind of weights.
public func averageFiberFlats(_ flats: [FiberFlat]) throws -> FiberFlat {
    guard let first = flats.first else { throw DESIError.invalidArgument("input fiberflat list is empty") }
    if flats.count == 1 { return first }
    for (n, ff) in flats.enumerated().dropFirst() {
        guard ff.nspec == first.nspec, sameWavelengthGrid(first.wave, ff.wave) else {
            throw DESIError.mismatch("fiberflats do not have the same wavelength arrays or fibers (input \(n))")
        }
        if let a = first.camera, let b = ff.camera, a != b {
            throw DESIError.mismatch("fiberflats of different cameras: \(a) and \(b) (input \(n))")
        }
    }
    let count = first.flat.count, nwave = first.nwave
    var flat = [Double](repeating: 0, count: count)
    var ivar = [Double](repeating: 0, count: count)
    if flats.count > 2 {
        var vals = [Double]()
        for k in 0..<count {
            vals.removeAll(keepingCapacity: true)
            for ff in flats where ff.mask[k] == 0 { vals.append(ff.flat[k]) }
            // numpy masked median of an all-masked column is masked: desispec's masked_median returns 1 there
            flat[k] = vals.isEmpty ? 1 : Statistics.medianInPlace(&vals)
            var s = 0.0
            for ff in flats { s += ff.ivar[k] }
            ivar[k] = s * 2 / Double.pi
        }
    } else {
        for k in 0..<count {
            var sw = 0.0, swf = 0.0
            for ff in flats where ff.mask[k] == 0 { sw += ff.ivar[k]; swf += ff.ivar[k] * ff.flat[k] }
            flat[k] = sw != 0 ? swf / sw : 0
            ivar[k] = sw
        }
    }
    var mask = first.mask
    for ff in flats.dropFirst() {
        for k in 0..<count {
            if mask[k] > 0 && ff.mask[k] > 0 { mask[k] |= ff.mask[k] }
            if ff.mask[k] == 0 { mask[k] = 0 }
        }
    }
    var sw = [Double](repeating: 0, count: nwave), swf = [Double](repeating: 0, count: nwave)
    for ff in flats {
        for i in 0..<nwave {
            var w = 0.0
            for f in 0..<ff.nspec {
                let k = f * nwave + i
                if ff.mask[k] == 0 { w += flats.count > 2 ? (ff.ivar[k] > 0 ? 1 : 0) : ff.ivar[k] }
            }
            sw[i] += w; swf[i] += w * ff.meanspec[i]
        }
    }
    let meanspec = (0..<nwave).map { sw[$0] > 0 ? swf[$0] / sw[$0] : 0 }
    return try FiberFlat(wave: first.wave, flat: flat, ivar: ivar, mask: mask, meanspec: meanspec,
                         chi2pdf: nil, header: first.header, fibermap: first.fibermap)
}
