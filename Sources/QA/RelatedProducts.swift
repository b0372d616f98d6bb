import DESICore
import FITS
import Foundation

/// The products a frame's QA uses, each read with its own data-model reader and checked against the frame's camera
/// and size: the fiber flat (FIBERFLAT metrics of a flat; flat-fielding before sky subtraction), the sky-subtracted
/// frame (the frame itself for sframes and cframes, else frame / fiber flat - sky), the flux calibration and the
/// PSF traces (CCD rows for the diagnosis).
struct RelatedProducts {
    var fiberflat: FiberFlat?
    var fiberflatPath: String?
    var sframe: Frame?
    /// Pixels rejected in the sky fit (sky file NREJ), when a sky model was subtracted here.
    var nrej: Int?
    var skyPath: String?
    var calib: FluxCalibration?
    var calibPath: String?
    var traces: TraceRows?
    var psfPath: String?
    /// The preprocessed image and the extraction's 2D model (VARIANCE check).
    var preproc: Image?
    var preprocPath: String?
    var model: [Float]?
    var modelPath: String?

    static func read(for target: FrameQARun.Target, inputs: FrameQARun.Inputs, readTraces: (String) throws -> TraceRows,
                     log: QALog) throws -> RelatedProducts {
        var p = RelatedProducts()
        let frame = target.frame
        let skyPath = target.kind.isSkySubtracted ? nil : inputs.sky
        if let path = inputs.fiberflat, target.isFlat || skyPath != nil {
            let ff = try FiberFlat.read(path)
            if let c = ff.camera, c != target.camera {
                throw DESIError.mismatch("\(path) is camera \(c), \(target.path) is camera \(target.camera)")
            }
            log.debug("fiber flat \(path)")
            if target.isFlat {
                guard ff.nspec == frame.nspec, ff.nwave == frame.nwave else {
                    let sizes = "fiber flat is [\(ff.nspec), \(ff.nwave)], frame is [\(frame.nspec), \(frame.nwave)]"
                    throw DESIError.mismatch("\(path): \(sizes)")
                }
            }
            p.fiberflat = ff; p.fiberflatPath = path
        }
        if target.kind.isSkySubtracted {
            p.sframe = frame
        } else if let path = skyPath, !target.isFlat {
            let model = try SkyModel.read(path)
            var s = frame
            do {
                if target.kind == .frame, let ff = p.fiberflat { try applyFiberFlat(&s, ff) }
                try subtractSky(&s, model)
            } catch let e as DESIError {
                throw DESIError.mismatch("\(path): \(e.description)")
            }
            p.sframe = s; p.nrej = model.nrej; p.skyPath = path
            log.debug("sky model \(path)")
        }
        if let path = inputs.calib, !target.isFlat {
            let fc = try FluxCalibration.read(path)
            guard fc.nspec == frame.nspec, fc.nwave == frame.nwave else {
                let sizes = "flux calibration is [\(fc.nspec), \(fc.nwave)], frame is [\(frame.nspec), \(frame.nwave)]"
                throw DESIError.mismatch("\(path): \(sizes)")
            }
            p.calib = fc; p.calibPath = path
            log.debug("flux calibration \(path)")
        }
        if let path = inputs.psf {
            let traces: TraceRows
            do { traces = try readTraces(path) } catch let e as DESIError {
                throw DESIError.badFile(path: path, problem: "not a PSF with traces (\(e.description))")
            }
            guard traces.nspec >= frame.nspec else {
                throw DESIError.mismatch("\(path): PSF has \(traces.nspec) fibers, frame has \(frame.nspec)")
            }
            p.traces = traces; p.psfPath = path
        }
        if let path = inputs.preproc {
            let image = try Image.read(path)
            if let c = image.camera, c != target.camera {
                throw DESIError.mismatch("\(path) is camera \(c), \(target.path) is camera \(target.camera)")
            }
            p.preproc = image; p.preprocPath = path
            log.debug("preprocessed image \(path)")
            if let m = inputs.model {
                p.model = try readModel(m, ny: image.ny, nx: image.nx); p.modelPath = m
                log.debug("extraction model \(m)")
            }
        }
        return p
    }

    /// The 2D model image of `desispec extract --model` (primary HDU, float32 electrons), checked against the image size.
    static func readModel(_ path: String, ny: Int, nx: Int) throws -> [Float] {
        let f = try FITSFile.open(path)
        let m = f.hasHDU("MODEL") ? try f.readImage("MODEL", as: Float.self) : try f.readImage(as: Float.self)
        guard m.shape == [ny, nx] else {
            throw DESIError.mismatch("\(path): model image is \(m.shape), the preprocessed image is [\(ny), \(nx)]")
        }
        return m.data
    }

    /// The INPUTS entry of the QA: the frame and each related file used.
    func inputsEntry(frame: String) -> [(String, QAValue)] {
        var inputs: [(String, QAValue)] = [("FRAME", .string(frame))]
        if let p = fiberflatPath { inputs.append(("FIBERFLAT", .string(p))) }
        if let p = skyPath { inputs.append(("SKY", .string(p))) }
        if let p = calibPath { inputs.append(("FLUXCALIB", .string(p))) }
        if let p = psfPath { inputs.append(("PSF", .string(p))) }
        if let p = preprocPath { inputs.append(("PREPROC", .string(p))) }
        if let p = modelPath { inputs.append(("MODEL", .string(p))) }
        return inputs
    }
}
