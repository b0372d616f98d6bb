import ArgumentParser
import DESICore
import FITS
import Foundation
import Sky

/// `desispec sky`: the sky model of a science frame (desi_compute_sky), optionally the sky-subtracted sframe.
struct SkyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sky",
        abstract: "Compute the sky model of a frame from its SKY fibers (and optionally write the sframe).",
        discussion: """
        Example: desispec sky -i frame-r0-00000003.fits --fiberflat fiberflatnight-r0-20201214.fits \\
                   -o sky-r0-00000003.fits --sframe sframe-r0-00000003.fits
        The frame is divided by the fiber flat; the deconvolved sky is fitted to the SKY fibers with sigma clipping
        and each fiber's model is the sky seen through its resolution. --angular-variation-deg N lets the sky vary
        as a polynomial of degree N in x, y. --adjust-wavelength / --adjust-lsf (what desi_proc runs on science
        exposures) fit per-fiber wavelength offsets and LSF-width changes of the model at the sky lines, carried
        from the sky fibers to the others (linearly in fiber number, or with --pca-corr through a PCA basis).
        --fit-offsets fits constant and linear offsets in the CCD sectors that the calibration yaml names (OFFCOLS /
        CTECOLS keys; --calib-config or DESI_SPECTRO_CALIB), located with the traces of the exposure's PSF (--psf).
        --broad-rejection (not in desispec) also leaves out sky fibers whose residuals share a smooth excess.
        """
    )

    @Option(name: [.short, .customLong("infile")], help: "Input frame file.")
    var input: String
    @Option(name: .long, help: "Fiber flat file.")
    var fiberflat: String
    @Option(name: [.short, .customLong("outfile")], help: "Output sky model file.")
    var output: String
    @Option(name: .long, help: "Also write the flat-fielded, sky-subtracted frame here.")
    var sframe: String?
    @Option(name: .long, help: "Sigma clipping of the sky fibers' pixels.")
    var nsig = 4.0
    @Option(name: .customLong("angular-variation-deg"), help: "Degree of the sky's polynomial variation in focal-plane x, y.")
    var angularVariationDeg = 0
    @Flag(name: .customLong("no-extra-variance"), help: "Do not add the model variance measured on sky lines.")
    var noExtraVariance = false
    @Flag(name: .customLong("broad-rejection"),
          help: "Also leave out sky fibers with smooth residuals unlike the others (not in desispec).")
    var broadRejection = false
    @Flag(name: .customLong("adjust-wavelength"), help: "Fit per-fiber wavelength offsets of the sky model on the sky lines.")
    var adjustWavelength = false
    @Flag(name: .customLong("adjust-lsf"), help: "Fit per-fiber LSF-width changes of the sky model on the sky lines.")
    var adjustLSF = false
    @Flag(name: .customLong("adjust-with-more-fibers"), help: "Fit the adjustments on all fibers, not only the sky fibers.")
    var adjustWithMoreFibers = false
    @Option(name: .customLong("save-adjustments"),
            help: "Write the per-fiber adjustments here (desispec skycorr format; needs both --adjust-* flags).")
    var saveAdjustments: String?
    @Option(name: .customLong("pca-corr"), help: "PCA file (desispec skycorr PCA format) carrying the adjustments to all fibers.")
    var pcaCorr: String?
    @Flag(name: .customLong("fit-offsets"), help: "Fit offsets in the CCD sectors of the calibration yaml (OFFCOLS/CTECOLS keys).")
    var fitOffsets = false
    @Option(name: .customLong("calib-config"),
            help: "Camera calibration yaml for --fit-offsets (default: $DESI_SPECTRO_CALIB/spec/smN/smN-ARM.yaml).")
    var calibConfig: String?
    @Option(name: .customLong("calib-dir"),
            help: "Folder in DESI_SPECTRO_CALIB's layout for --fit-offsets' yaml (default: $DESI_SPECTRO_CALIB), as preproc.")
    var calibDir: String?
    @Option(name: .long, help: "PSF of the exposure for --fit-offsets (default: the production's psf file of the exposure).")
    var psf: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("sky")
        if saveAdjustments != nil && !(adjustWavelength && adjustLSF) {
            throw ValidationError("--save-adjustments needs both --adjust-wavelength and --adjust-lsf")
        }
        try runStep(keepingFreedArraysInHeap: true) {
            let (fielded, flat, resolution) = try flatFieldedFrame()
            var frame = fielded
            let o = try skyOptions(frame: frame, fiberflat: flat, log: { log.info("\($0)") })
            var sky: SkyModel
            var adjustments: SkyAdjustments?
            do {
                (sky, adjustments) = try computeSkyAndAdjustments(frame: frame, resolution: resolution, options: o,
                                                                  log: { log.debug("\($0)") })
            } catch let e as DESIError {
                throw DESIError.failed("\(input): \(e)")
            }
            sky.header.addProvenance(command: "sky", inputs: [input, fiberflat], options: provenanceOptions)
            if let adjustments {
                let used = adjustments.linesUsed.filter { $0 > 0 }
                log.info("adjusted \(used.count) fibers on up to \(used.max() ?? 0) sky lines")
            }
            if let saveAdjustments, let adjustments {
                try adjustments.write(to: saveAdjustments, header: sky.header)
                log.info("wrote \(saveAdjustments)")
            }
            try sky.write(to: output)
            log.info("wrote \(output) (\(sky.nrej) pixels rejected)")
            if let sframe {
                try subtractSky(&frame, sky)
                frame.appendScores(suffix: "SKYSUB")
                frame.header.addProvenance(command: "sky --sframe", inputs: [input, fiberflat], options: provenanceOptions)
                try frame.write(to: sframe, storedResolution: resolution?.stored)
                log.info("wrote \(sframe)")
            }
        }
    }
}

extension SkyCommand {
    /// The input frame divided by the fiber flat, with its RAW and FFLAT scores (as desi_process_exposure adds them)
    /// when the sframe is written (the sky model does not use them; they are medians over every spectrum). The frame
    /// is read without its resolution, which comes mapped from the file, read fiber by fiber (not converted into 63 MB
    /// of fresh memory) and written unchanged to the sframe (as cframe); where the file does not allow it (gzip) the
    /// frame holds it and the third value is nil.
    func flatFieldedFrame() throws -> (Frame, FiberFlat, StoredResolution?) {
        let stored = try Frame.storedResolution(input).flatMap(StoredResolution.init)
        var frame = try Frame.read(input, skipResolution: stored != nil)
        if let stored { try frame.checkStoredResolution(stored.stored) }
        if sframe != nil { frame.appendScores(suffix: "RAW") }
        let ff = try FiberFlat.read(fiberflat)
        do { try applyFiberFlat(&frame, ff) } catch let e as DESIError {
            throw DESIError.mismatch("\(input) and \(fiberflat): \(e)")
        }
        if sframe != nil { frame.appendScores(suffix: "FFLAT") }
        return (frame, ff, stored)
    }

    func skyOptions(frame: Frame, fiberflat flat: FiberFlat, log: (String) -> Void) throws -> SkyOptions {
        var o = SkyOptions()
        o.nsigClipping = nsig; o.addVariance = !noExtraVariance
        o.angularVariationDegree = angularVariationDeg; o.broadRejection = broadRejection
        o.adjustments.adjustWavelength = adjustWavelength; o.adjustments.adjustLSF = adjustLSF
        o.adjustments.withMoreFibers = adjustWithMoreFibers
        if let pcaCorr { o.adjustments.pca = try SkyCorrPCA.read(pcaCorr) }
        if fitOffsets {
            o.sectorOffsets = try SkySectorInputs.templates(frame: frame, fiberflat: flat, framePath: input, calibConfig: calibConfig,
                                                            calibDir: calibDir, psfPath: psf, log: log)
        }
        return o
    }

    /// The options as the provenance records them.
    var provenanceOptions: [String] {
        var options = ["--nsig", "\(nsig)", "--angular-variation-deg", "\(angularVariationDeg)"]
        for (on, flag) in [(noExtraVariance, "--no-extra-variance"), (broadRejection, "--broad-rejection"),
                           (adjustWavelength, "--adjust-wavelength"), (adjustLSF, "--adjust-lsf"),
                           (adjustWithMoreFibers, "--adjust-with-more-fibers"), (fitOffsets, "--fit-offsets")] where on {
            options.append(flag)
        }
        if let pcaCorr { options += ["--pca-corr", pcaCorr] }
        if let calibConfig { options += ["--calib-config", calibConfig] }
        if let calibDir { options += ["--calib-dir", calibDir] }
        if let psf { options += ["--psf", psf] }
        return options
    }
}
