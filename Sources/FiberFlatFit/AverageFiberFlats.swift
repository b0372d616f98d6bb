import DESICore
import Foundation
import LinearAlgebra

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
