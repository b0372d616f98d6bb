import ArgumentParser
import DESICore
import FiberFlat
import FluxCalib
import Foundation
import PSF
import QA
import Sky

/// `desispec qa-frame FRAME`: the QA metrics of one camera's frame (desi_qa_frame, desispec.qa.qa_frame), as JSON
/// or YAML, with optional figures.
struct QAFrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qa-frame",
        abstract: "QA metrics of one frame: FIBERFLAT, SKYSUB, DIAGNOSIS, FLUXCALIB, S2N as they apply.",
        discussion: """
        The frame's kind (frame, sframe, cframe; flat or science) decides the metrics: a flat frame with its fiber
        flat gives FIBERFLAT; an sframe or cframe, or a frame with its sky model, gives SKYSUB (sky fibers of the
        sky-subtracted frame) and DIAGNOSIS (broad residual features); a flux calibration gives FLUXCALIB; sframe
        and cframe give S2N. Related files not given are looked for next to the frame by their DESI names
        (sky-CAM-EXPID.fits, fiberflat-CAM-EXPID.fits, fluxcalib-CAM-EXPID.fits, psf-CAM-EXPID.fits) and in
        ../../../calibnight/NIGHT (fiberflatnight-CAM-NIGHT.fits, psfnight-CAM-NIGHT.fits).
        Exit codes: 0 (also when metrics warn: see WARNINGS in the output), 1 bad input, 3 with --fail-on-flag when
        the diagnosis finds a broad residual feature.
        Example: desispec qa-frame sframe-r0-00012345.fits --make-plots QA/
        """
    )

    @Argument(help: "Frame file (frame-, sframe- or cframe-CAM-EXPID.fits).")
    var frame: String
    @Option(name: .long, help: "Fiber flat (FIBERFLAT metrics of a flat frame; flat-fielding before sky subtraction).")
    var fiberflat: String?
    @Option(name: .long, help: "Sky model (sky-CAM-EXPID.fits), to sky-subtract a frame.")
    var sky: String?
    @Option(name: .long, help: "Flux calibration (fluxcalib-CAM-EXPID.fits).")
    var calib: String?
    @Option(name: .long, help: "PSF with YTRACE (CCD rows of the traces: tells wavelength- from row-aligned features).")
    var psf: String?
    @Option(name: .shortAndLong, help: "Output file, .json or .yaml (default qa-CAM-EXPID.json next to the frame).")
    var output: String?
    @Option(name: .customLong("make-plots"), help: "Write figures qa-{sky,diagnosis,s2n,frame}-CAM-EXPID.png in this folder.")
    var makePlots: String?
    @Flag(name: .customLong("no-search"), help: "Use only the related files given; do not look for them next to the frame.")
    var noSearch = false
    @Flag(name: .customLong("fail-on-flag"), help: "Exit with code 3 when the diagnosis flags a residual feature.")
    var failOnFlag = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("qa-frame")
        var flagged = false
        try runStep {
            let (input, kind) = try SpectralFileReader.read(frame)
            guard [.frame, .fframe, .sframe, .cframe].contains(kind) else {
                throw DESIError.badFile(path: frame, problem: "a \(kind.rawValue) file, not a frame; give a frame, sframe or cframe")
            }
            guard let camera = input.camera else {
                throw DESIError.badFile(path: frame, problem: "no valid CAMERA keyword in HDU 0")
            }
            let expid = input.header.int("EXPID") ?? 0
            let night = input.header["NIGHT"].map { v in v.intValue.map(String.init) ?? v.stringValue ?? "" } ?? ""
            let flavor = (input.header.string("FLAVOR") ?? input.header.string("OBSTYPE") ?? "science").lowercased()
            let isFlat = flavor.contains("flat")
            let related = RelatedFiles(frame: frame, camera: camera.name, expid: expid, night: night, search: !noSearch)

            // Inputs, each checked against the frame's camera and size.
            let fiberflatPath = fiberflat ?? related.find(["fiberflat"], nightly: "fiberflatnight")
            let skyPath = kind.isSkySubtracted ? nil : (sky ?? related.find(["sky"]))
            let calibPath = calib ?? related.find(["fluxcalib"])
            let psfPath = psf ?? related.find(["psf"], nightly: "psfnight")
            var ff: FiberFlat?
            if let p = fiberflatPath, isFlat || skyPath != nil {
                ff = try FiberFlat.read(p)
                if let c = ff?.camera, c != camera { throw DESIError.mismatch("\(p) is camera \(c), \(frame) is camera \(camera)") }
                log.debug("fiber flat \(p)")
            }
            var ffInput: FrameQA.FiberFlatInput?
            if isFlat, let ff {
                guard ff.nspec == input.nspec, ff.nwave == input.nwave else {
                    throw DESIError.mismatch("\(fiberflatPath!): fiber flat is [\(ff.nspec), \(ff.nwave)], frame is [\(input.nspec), \(input.nwave)]")
                }
                ffInput = .init(flat: ff.flat.map { Float($0) }, mask: ff.mask, meanSpectrum: ff.meanspec.map { Float($0) }, chi2pdf: ff.chi2pdf)
            }
            // The sky-subtracted frame.
            var sframe: Frame?
            var nrej: Int?
            if kind.isSkySubtracted {
                sframe = input
            } else if let sp = skyPath, !isFlat {
                let model = try SkyModel.read(sp)
                var s = input
                do {
                    if kind == .frame, let ff { try applyFiberFlat(&s, ff) }
                    try subtractSky(&s, model)
                } catch let e as DESIError {
                    throw DESIError.mismatch("\(sp): \(e.description)")
                }
                sframe = s
                nrej = model.nrej
                log.debug("sky model \(sp)")
            }
            var calibInput: FrameQA.CalibInput?
            if let cp = calibPath, !isFlat {
                let fc = try FluxCalib.read(cp)
                guard fc.nspec == input.nspec, fc.nwave == input.nwave else {
                    throw DESIError.mismatch("\(cp): flux calibration is [\(fc.nspec), \(fc.nwave)], frame is [\(input.nspec), \(input.nwave)]")
                }
                calibInput = .init(calib: fc.calib, ivar: fc.ivar)
                log.debug("flux calibration \(cp)")
            }
            var ccdRow: ((Int, Double) -> Double)?
            if let pp = psfPath {
                let traces: TraceOnlyPSF
                do { traces = try TraceOnlyPSF.read(pp) } catch let e as DESIError {
                    throw DESIError.badFile(path: pp, problem: "not a PSF with traces (\(e.description))")
                }
                guard traces.nspec >= input.nspec else {
                    throw DESIError.mismatch("\(pp): PSF has \(traces.nspec) fibers, frame has \(input.nspec)")
                }
                ccdRow = { traces.y(fiber: $0, wavelength: $1) }
            }
            if !isFlat && sframe == nil && calibInput == nil {
                log.warning("\(frame): no sky model or flux calibration found: only the frame's header is in the QA")
            }

            let result = try FrameQA.compute(frame: input, kind: kind, fiberflat: ffInput, sframe: sframe, nrej: nrej,
                                             calib: calibInput, ccdRow: ccdRow, path: frame)
            var qa = result.qa
            if case .dict(var items) = qa {
                var inputs: [(String, QAValue)] = [("FRAME", .string(frame))]
                if ff != nil, let p = fiberflatPath { inputs.append(("FIBERFLAT", .string(p))) }
                if let p = skyPath, sframe != nil { inputs.append(("SKY", .string(p))) }
                if let p = calibPath, calibInput != nil { inputs.append(("FLUXCALIB", .string(p))) }
                if let p = psfPath { inputs.append(("PSF", .string(p))) }
                items.insert(("INPUTS", .dict(inputs)), at: 4)
                items.insert(("SOFTWARE", .string("desispec-swift \(DesispecVersion.string) qa-frame")), at: 4)
                qa = .dict(items)
            }
            let tag = "\(camera.name)-\(FileLayout.expidString(expid))"
            let out = output ?? ((frame as NSString).deletingLastPathComponent as NSString).appendingPathComponent("qa-\(tag).json")
            if let dir = makePlots {
                let title = "\(camera.name) exposure \(expid)"
                if let s = result.sframe, let sky = qa["SKYSUB"] {
                    try Figures.skyResiduals(sky, wave: s.wave, title: "\(title): sky residuals", path: "\(dir)/qa-sky-\(tag).png")
                }
                if let d = result.diagnosis, let s = result.sframe {
                    try Figures.diagnosis(d, frame: s, title: title, path: "\(dir)/qa-diagnosis-\(tag).png")
                }
                if let s2n = qa["S2N"], s2n["MEDIAN_SNR"] != nil, input.fibermap != nil {
                    try Figures.signalToNoise(s2n, title: "\(title): S/N", path: "\(dir)/qa-s2n-\(tag).png")
                }
                try Figures.frameImage(result.sframe ?? input, title: "\(title) (\(result.sframe != nil && !kind.isSkySubtracted ? "sky-subtracted " : "")\(kind.rawValue))",
                                       path: "\(dir)/qa-frame-\(tag).png")
            }
            try qa.write(to: out)
            for w in result.warnings { log.warning("\(camera.name) \(w)") }
            log.info("wrote \(out)")
            flagged = result.diagnosis?.flagged ?? false
        }
        if failOnFlag && flagged { throw ExitCode(3) }
    }
}
