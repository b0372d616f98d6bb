import ArgumentParser
import DESICore
import Foundation
import PSF
import QA

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
    @Option(name: .long, help: "Preprocessed image (VARIANCE check; default: preproc-CAM-EXPID.fits of the production).")
    var preproc: String?
    @Option(name: .long, help: "2D model of the extraction (desispec extract --model), for the VARIANCE check's residuals.")
    var model: String?
    @Option(name: .shortAndLong, help: "Output file, .json or .yaml (default qa-CAM-EXPID.json next to the frame).")
    var output: String?
    @Option(name: .customLong("make-plots"), help: "Write figures qa-{sky,diagnosis,s2n,frame,variance}-CAM-EXPID.png in this folder.")
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
            let target = try FrameQARun.Target(path: frame)
            let (kind, camera, expid, night) = (target.kind, target.camera, target.expid, target.night)
            let related = RelatedFiles(frame: frame, camera: camera.name, expid: expid, night: night, search: !noSearch)
            let inputs = FrameQARun.Inputs(fiberflat: fiberflat ?? related.find(["fiberflat"], nightly: "fiberflatnight"),
                                           sky: kind.isSkySubtracted ? nil : (sky ?? related.find(["sky"])),
                                           calib: calib ?? related.find(["fluxcalib"]),
                                           psf: psf ?? related.find(["psf"], nightly: "psfnight"),
                                           preproc: preproc ?? related.findPreproc(), model: model)
            let folder = (frame as NSString).deletingLastPathComponent
            let out = output ?? FileLayout.qaFrameFile(folder: folder, camera: camera.name, expid: expid)
            let result = try FrameQARun.run(target, inputs: inputs, readTraces: Self.readTraces, output: out, plotDirectory: makePlots,
                                            software: DESIProvenance.line(command: "qa-frame"),
                                            log: QALog(debug: { log.debug("\($0)") }, warning: { log.warning("\($0)") }))
            for w in result.warnings { log.warning("\(camera.name) \(w)") }
            log.info("wrote \(out)")
            flagged = result.flagged
        }
        if failOnFlag && flagged { throw ExitCode(3) }
    }

    /// The CCD rows of a PSF file's traces (YTRACE), for the diagnosis, and their columns (the variance check).
    static func readTraces(_ path: String) throws -> TraceRows {
        let traces = try TraceOnlyPSF.read(path)
        return TraceRows(nspec: traces.nspec, row: { traces.y(fiber: $0, wavelength: $1) },
                         column: { f, y in traces.x(fiber: f, wavelength: traces.wavelength(fiber: f, y: y)) })
    }
}
