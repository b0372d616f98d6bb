import FITS
import Foundation
import LinearAlgebra

/// Subtracts a sky model from a flat-fielded frame, making the sframe (desispec.sky.subtract_sky with its
/// defaults): fibers with a bad FIBERSTATUS get ivar 0 and BADFIBER; with `zeroIvar`, masked pixels get ivar 0;
/// except for blue cameras the line part of each fiber's model (model minus its continuum interpolated between
/// sky lines) is scaled by the fiber's throughput correction; ivar combines frame and model; masks are OR-ed.
/// `applyThroughputCorrection` scales the whole model instead.
public func subtractSky(_ frame: inout Frame, _ sky: SkyModel, applyThroughputCorrection: Bool = false,
                        applyThroughputCorrectionToLines: Bool = true, zeroIvar: Bool = true) throws {
    guard frame.nspec == sky.nspec, frame.nwave == sky.nwave else {
        throw DESIError.mismatch("frame is [\(frame.nspec), \(frame.nwave)], sky model is [\(sky.nspec), \(sky.nwave)]")
    }
    guard sameWavelengthGrid(frame.wave, sky.wave) else {
        throw DESIError.mismatch("frame and sky not on same wavelength grid")
    }
    if let a = frame.camera, let b = sky.camera, a != b {
        throw DESIError.mismatch("frame is camera \(a), sky model is camera \(b)")
    }
    let nspec = frame.nspec, nwave = frame.nwave
    let status = frame.fibermap.map { $0.fiberStatus } ?? []
    let badBits = skyFiberStatusMask(arm: frame.camera?.arm)
    for f in 0..<nspec where status.count == nspec && status[f] & badBits != 0 {
        for i in 0..<nwave { frame.mask[f * nwave + i] |= SpecMask.badFiber; if zeroIvar { frame.ivar[f * nwave + i] = 0 } }
    }
    if zeroIvar { for k in 0..<frame.ivar.count where frame.mask[k] != 0 { frame.ivar[k] = 0 } }
    // The model is made one fiber at a time in a reused row (no copy of the whole sky flux): the same
    // operations, in the same order, as a full model array (sky flux, scaled or with its lines scaled, then
    // subtracted), so the result is bit-identical.
    let tc = sky.throughputCorrections
    let scaleLines = tc != nil && !applyThroughputCorrection && applyThroughputCorrectionToLines && frame.camera?.arm != .b
    var idx = [Int](), xc = [Double]()
    if scaleLines {
        var inCont = [Bool](repeating: true, count: nwave)
        for line in skyLineWavelengths where line >= 5700 {
            for i in 0..<nwave where abs(sky.wave[i] - line) <= 2 { inCont[i] = false }
        }
        idx = (0..<nwave).filter { inCont[$0] }
        xc = idx.map { sky.wave[$0] }
    }
    var row = [Double](repeating: 0, count: nwave)
    for f in 0..<nspec {
        let base = f * nwave
        for i in 0..<nwave { row[i] = sky.flux[base + i] }
        if let tc {
            if applyThroughputCorrection {
                for i in 0..<nwave { row[i] *= tc[f] }
            } else if scaleLines && !idx.isEmpty {
                let cont = Interpolation.linear(x: xc, y: idx.map { sky.flux[base + $0] }, at: sky.wave)
                for i in 0..<nwave {
                    let lines = max(0, sky.flux[base + i] - cont[i])
                    row[i] += (tc[f] - 1) * lines
                }
            }
        }
        for i in 0..<nwave {
            let k = base + i
            frame.flux[k] = Float(Double(frame.flux[k]) - row[i])
            frame.ivar[k] = Float(combineIvar(Double(frame.ivar[k]), sky.ivar[k]))
            frame.mask[k] |= sky.mask[k]
        }
    }
}

/// FIBERSTATUS bits of fibers that cannot be used for, or are not sky-subtracted by, the sky model
/// (desispec.fiberbitmasking.get_skysub_fiberbitmask_val = all fatal bits plus the bad-amplifier bit of the arm).
public func skyFiberStatusMask(arm: Camera.Arm?) -> UInt32 {
    FiberStatus.brokenFiber | FiberStatus.missingPosition | FiberStatus.badPosition | FiberStatus.badFiber
        | FiberStatus.badTrace | FiberStatus.badArc | FiberStatus.badFlat | FiberStatus.manyBadColumns | FiberStatus.manyRejected
        | FiberStatus.badAmp(arm: arm)
}

/// Combined inverse variance 1/(1/a + 1/b), 0 where either is 0 (desispec.util.combine_ivar).
@inlinable public func combineIvar(_ a: Double, _ b: Double) -> Double {
    (a > 0 && b > 0) ? 1 / (1 / a + 1 / b) : 0
}
