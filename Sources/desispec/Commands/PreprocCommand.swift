import ArgumentParser
import DESICore
import FITS
import Foundation
import Logging
import Pipeline
import Preproc

/// `desispec preproc`: raw CCD exposure -> preproc-CAM-EXPID.fits (IMAGE, IVAR, MASK, READNOISE), as desi_preproc.
struct PreprocCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preproc",
        abstract: "Preprocess raw CCD images: overscan, bias, gain, dark, pixel flat, variance, cosmic rays.",
        discussion: """
        Example: desispec preproc -i desi-00001234.fits.fz --cameras r0 --outdir out/
                 desispec preproc -n 20240101 -e 1234 --cameras b0,r0,z0   (uses DESI_SPECTRO_DATA, DESI_SPECTRO_REDUX/SPECPROD)
        Calibration images come from --bias/--dark/--pixflat/--mask FILE, or from the camera's entry of a
        DESI_SPECTRO_CALIB yaml (--calib-config FILE, or DIR/spec/smN/smN-ARM.yaml, DIR = --calib-dir or
        $DESI_SPECTRO_CALIB); no such config is an error unless every step has its file or is off (--no-calib-config
        skips the steps without a file instead). --noX skips step X. A named file that does not exist, or a calibration
        config without a BIAS, DARK or MASK entry, is an error unless the step is switched off (--nobias, ...). The
        bias and dark are first looked for as the night's biasnight/darknight in the production (calibnight/NIGHT/).
        --model-variance derives the Poisson variance from a model of the image (the PSF's traces: --psf, else the
        config's PSF; the sky model's fiber flat: --fiberflat, else the config's FIBERFLAT, else none);
        --bkgsub-for-science subtracts the background measured between the blocks of fiber traces, --scattered-light
        a model of the light scattered in the spectrograph (both with the PSF's traces).
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "Raw exposure file (desi-EXPID.fits.fz).")
    var infile: String?
    @Option(name: [.short, .long], help: "Night YYYYMMDD (with --expid, instead of --infile).")
    var night: Int?
    @Option(name: [.short, .long], help: "Exposure id (with --night).")
    var expid: Int?
    @Option(name: .long, help: "Comma-separated cameras (default: every camera HDU of the file).")
    var cameras: String?
    @Option(name: [.short, .long], help: "Output file (one camera only).")
    var outfile: String?
    @Option(name: .long, help: "Output directory for preproc-CAM-EXPID.fits (default: the production's preproc folder, else .).")
    var outdir: String?
    @Option(name: .long, help: "Fibermap file whose FIBERMAP table is copied into the output.")
    var fibermap: String?
    @Option(name: .long, help: "Bias frame (HDU 0, raw shape, ADU).")
    var bias: String?
    @Option(name: .long, help: "Dark current image (HDU 0, electrons/s; multiplied by EXPTIME).")
    var dark: String?
    @Option(name: .long, help: "Pixel flat image (HDU 0).")
    var pixflat: String?
    @Option(name: .long, help: "Bad-pixel mask image (HDU 0, ccdmask bits).")
    var mask: String?
    @Option(name: .long, help: "DESI_SPECTRO_CALIB camera yaml (e.g. sm1-r.yaml) for gains, saturation, crosstalk and calibration files.")
    var calibConfig: String?
    @Option(name: .customLong("calib-dir"), help: "Calibration folder in DESI_SPECTRO_CALIB's layout (default: $DESI_SPECTRO_CALIB).")
    var calibDir: String?
    @Flag(name: [.customLong("no-calib-config"), .customLong("no-ccd-calib-filename")],
          help: "Run without a calibration config (steps without a file given are then skipped with a warning).")
    var noCalibConfig = false
    @Flag(name: .long, help: "Do not subtract a bias frame.") var nobias = false
    @Flag(name: .long, help: "Do not subtract the dark.") var nodark = false
    @Flag(name: .long, help: "Do not divide by the pixel flat.") var nopixflat = false
    @Flag(name: .long, help: "Do not apply the bad-pixel mask.") var nomask = false
    @Flag(name: .long, help: "Do not mask cosmic rays.") var nocosmic = false
    @Flag(name: .long, help: "Do not apply the gain (image in ADU).") var nogain = false
    @Flag(name: .long, help: "Do not correct amplifier crosstalk.") var nocrosstalk = false
    @Flag(name: .long, help: "Do not correct dark trails (calibration DARKTRAILAMP*).") var nodarktrail = false
    @Option(name: .long, help: "Amplifiers to mask as BADAMP, e.g. AD.") var badamps: String = ""
    @Option(name: .customLong("cosmics-nsig"), help: "Cosmics: sigmas above the neighbours.") var cosmicsNsig: Double = 6
    @Option(name: .customLong("cosmics-cfudge"), help: "Cosmics: sigmas inconsistent with the PSF.") var cosmicsCfudge: Double = 3
    @Option(name: .customLong("cosmics-c2fudge"), help: "Cosmics: PSF fudge factor (default: calibration COSMICS_C2, else 0.5).")
    var cosmicsC2fudge: Double?
    @Flag(name: .customLong("model-variance"), help: "Variance from a model of the image (PSF traces, fiber flat).")
    var modelVariance = false
    @Flag(name: .customLong("bkgsub-for-science"), help: "Subtract the background measured between blocks of fiber traces.")
    var bkgsubForScience = false
    @Flag(name: .customLong("scattered-light"), help: "Subtract a model of the light scattered in the spectrograph (PSF traces).")
    var scatteredLight = false
    @Option(name: .customLong("bkgsub-weights"), help: """
        How --bkgsub-for-science averages the pixels between the blocks: uniform (unbiased, default) or ivar \
        (desispec's inverse-variance weights, biased low by a few percent).
        """)
    var bkgsubWeights: String = BlockBackground.GapWeights.uniform.rawValue
    @Option(name: .long, help: "PSF file for --model-variance / --bkgsub-for-science (default: the calibration config's PSF).")
    var psf: String?
    @Option(name: .long, help: "Fiber flat for the --model-variance sky model (default: the calibration config's FIBERFLAT).")
    var fiberflat: String?
    @Flag(name: .customLong("no-traceshift"), help: "Do not fit the traces' x shift before modelling the image.")
    var noTraceshift = false
    @Flag(name: .customLong("bkgsub-for-dark"), help: "Subtract a smooth background of the whole CCD (200-pixel patch medians).")
    var bkgsubForDark = false
    @Flag(name: .long, help: "Do not flag the CCD regions of $DESI_SPECTRO_CALIB/ccd/ccd-region-mask.csv.") var noregionmask = false
    @Flag(name: .customLong("no-cte-correction"), help: "Do not correct the CTE of the amplifiers the calibration config names.")
    var noCteCorrection = false
    @Option(name: .customLong("cte-params"), help: "CTE parameter yaml (default: the production's calibnight/NIGHT/ctecorr-NIGHT.yaml).")
    var cteParams: String?
    @Option(name: .long, help: "Cameras processed at the same time (each is itself parallel).") var ncpu: Int = 1
    @Flag(name: .long, help: "Log the time of each step (read, calibration, amplifiers, pixel pass, cosmics, write).") var timing = false

    func validate() throws {
        if infile == nil && (night == nil || expid == nil) { throw ValidationError("give --infile, or --night and --expid") }
        if infile != nil && (night != nil || expid != nil) { throw ValidationError("give either --infile or --night/--expid, not both") }
        if ncpu < 1 { throw ValidationError("--ncpu must be at least 1") }
        if noCalibConfig && (calibConfig != nil || calibDir != nil) {
            throw ValidationError("--no-calib-config contradicts --calib-config / --calib-dir")
        }
        let switchedOff = [("bias", nobias, bias), ("dark", nodark, dark), ("pixflat", nopixflat, pixflat), ("mask", nomask, mask)]
        for (flag, on, file) in switchedOff where on && file != nil {
            throw ValidationError("--no\(flag) and --\(flag) contradict each other")
        }
    }

    func run() throws {
        let log = global.makeLogger("preproc")
        try runStep(keepingFreedArraysInHeap: true) {
            let input = try infile ?? FileLayout().findfile(.raw, night: night, expid: expid)
            let camList = try PreprocExposure.cameras(in: input, requested: try cameras.map { try Camera.parseList($0).map(\.name) })
            if outfile != nil && camList.count != 1 {
                throw DESIError.invalidArgument("--outfile needs exactly one camera (got \(camList.joined(separator: ",")))")
            }
            let cmdline = CommandLine.arguments.dropFirst().joined(separator: " ")
            let job = PreprocExposure(input: input, cameras: camList, destination: destination(), night: night, expid: expid,
                                      fibermap: try fibermap.map(PreprocExposure.readFibermap),
                                      history: DESIProvenance.line(command: "preproc", arguments: [cmdline]), concurrency: ncpu)
            let command = self
            let failures = job.run(options: { raw, warn in try command.options(for: raw, log: warn) },
                                   warn: { log.warning("\($0)") }, report: { command.log($0, to: log) })
            if !failures.isEmpty { throw DESIError.failed(failures.joined(separator: "; ")) }
        }
    }

    /// What to say when a camera is written: its timings (with --timing), the notes about its data, its output.
    func log(_ done: CameraPreprocReport, to log: Logger) {
        if timing {
            let steps = done.timings.map { "\($0.step) \(String(format: "%.3f", $0.seconds)) s" }
            log.info("\(done.camera): timing \(steps.joined(separator: ", "))")
        }
        for n in done.notes { log.warning("\(done.camera): \(n)") }
        let seconds = String(format: "%.1f", done.seconds)
        log.info("\(done.camera): \(done.cosmicCount) cosmic-ray pixels; wrote \(done.output) in \(seconds) s")
    }

    /// --outfile, else --outdir, else the production's preproc folder ($DESI_SPECTRO_REDUX/$SPECPROD), else here.
    func destination() -> PreprocDestination {
        if let outfile { return .file(outfile) }
        if let outdir { return .folder(outdir) }
        if let prod = try? ProductionLayout(FileLayout()).prodRoot { return .production(specprod: prod) }
        return .folder("")
    }

    /// Calibration choices for one camera: file > calib yaml > skipped (with a warning).
    func options(for raw: RawImage, log: (String) -> Void) throws -> PreprocOptions {
        var o = PreprocOptions()
        let nightly = PreprocCalibrationLookup.nightly(raw)
        // a config is needed by every step that is on and has no file of its own (desispec's CalibFinder)
        let needed = (!nobias && bias == nil && nightly.bias == nil) || (!nodark && dark == nil && nightly.dark == nil)
            || (!nopixflat && pixflat == nil) || (!nomask && mask == nil)
        let config = noCalibConfig ? nil
            : try PreprocCalibrationLookup.config(file: calibConfig, directory: calibDir, raw: raw, needed: needed)
        o.calibration = config
        o.bias = try PreprocCalibrationLookup.source("bias", off: nobias, file: bias, nightly: nightly.bias, config: config, log: log)
        o.dark = try PreprocCalibrationLookup.source("dark", off: nodark, file: dark, nightly: nightly.dark, config: config, log: log)
        o.pixflat = try PreprocCalibrationLookup.source("pixflat", off: nopixflat, file: pixflat, nightly: nil, config: config, log: log)
        o.mask = try PreprocCalibrationLookup.source("mask", off: nomask, file: mask, nightly: nil, config: config, log: log)
        try addRegionMasksAndCTE(to: &o, raw: raw, config: config, log: log)
        let cte = !o.noCTECorrection && PreprocCTELookup.needed(raw: raw, config: config)
        if modelVariance || bkgsubForScience || scatteredLight || cte {
            let why = modelVariance ? "--model-variance" : scatteredLight ? "--scattered-light"
                : bkgsubForScience ? "--bkgsub-for-science" : "the CTE correction"
            let psfPath = try PreprocCalibrationLookup.required(psf, key: "PSF", config: config, why: why)
            o.traces = try PreprocTraces.provider(psfPath: psfPath)
            if cte { o.cteProfiles = try PreprocCTEProfiles.provider(psfPath: psfPath) }
            let short = (psfPath as NSString).lastPathComponent
            o.tracesDependency = short
            o.scatteredLightDependency = psf == nil ? short : nil
        }
        o.fitTraceShift = !noTraceshift
        if modelVariance || cte {
            o.modelVariance = modelVariance
            if let ff = fiberflat ?? config?.file("FIBERFLAT") {
                guard FileManager.default.fileExists(atPath: ff) else {
                    throw DESIError.badFile(path: ff, problem: "fiber flat for --model-variance does not exist")
                }
                o.fiberflat = ModelFiberFlat(try FiberFlat.read(ff))
                o.fiberflatDependency = (ff as NSString).lastPathComponent
            } else {
                log("no fiber flat (--fiberflat or calibration FIBERFLAT): the image model has no sky model")
            }
        }
        o.bkgsubScience = bkgsubForScience
        guard let weights = BlockBackground.GapWeights(rawValue: bkgsubWeights) else {
            throw DESIError.invalidArgument("--bkgsub-weights must be uniform or ivar, not '\(bkgsubWeights)'")
        }
        o.bkgsubWeights = weights
        o.scatteredLight = scatteredLight
        o.bkgsubDark = bkgsubForDark
        o.nocosmic = nocosmic; o.nogain = nogain; o.nocrosstalk = nocrosstalk; o.nodarktrail = nodarktrail; o.badamps = badamps
        o.cosmicsNsig = cosmicsNsig; o.cosmicsCfudge = cosmicsCfudge; o.cosmicsC2fudge = cosmicsC2fudge
        return o
    }
}
