import ArgumentParser
import DESICore
import Foundation
import PSF
import Simulation

/// `desispec simulate`: a simulated raw exposure with its fibermap, the PSF used and the truth.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a raw DESI exposure (arc, flat, science, zero, dark) with its fibermap, PSF and truth.",
        discussion: """
        Writes OUTDIR/NIGHT/EXPID/: desi-EXPID.fits.fz (raw, one HDU per camera), fibermap-EXPID.fits,
        truth-psf-CAMERA.fits (the PSF used) and truth-EXPID.fits (per camera: expected extracted electrons/A,
        object flux, sky flux, calibration, throughputs). Same --seed, same files. Nothing is written on error.
        With --calib, also OUTDIR/calib/{bias,dark,pixflat,mask}-CAMERA.fits and their calibration config
        OUTDIR/calib/spec/smN/smN-ARM.yaml (DESI_SPECTRO_CALIB's layout: desispec preproc --calib-dir OUTDIR/calib).
        Example: desispec simulate --night 20250101 --expid 1 --flavor arc --cameras b0,r0,z0 --nspec 25 \\
                 --ccd-size narrow --outdir sim
        """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Night, YYYYMMDD.") var night: Int = 20250101
    @Option(help: "Exposure id.") var expid: Int = 1
    @Option(help: "arc, flat, science, zero or dark.") var flavor: String = "science"
    @Option(help: "Comma-separated cameras, e.g. b0,r0,z0.") var cameras: String = "b0,r0,z0"
    @Option(help: "Fibers per spectrograph (1-500).") var nspec: Int = 500
    @Option(help: """
        PSF file (GAUSS-HERMITE or trace-only) of every camera, or CAMERA=PATH[,CAMERA=PATH...] for some cameras \
        (e.g. r0=psf-r0.fits), the others built-in; by default a built-in analytic PSF.
        """) var psf: String?
    @Option(help: "Built-in PSF without --psf: gaussian (pixel-integrated Gaussian) or gauss-hermite (with tails).")
    var psfModel: String = "gaussian"
    @Option(help: """
        full (4128 x 4114); narrow (4128 rows, DESI's dispersion, just wide enough for --nspec fibers: for reductions \
        end to end); small (1024 rows just as wide: spectra 4x shorter than on DESI's CCDs, quick for preproc and \
        PSF tests, but extraction at DESI's 0.8 A is ill-posed there).
        """) var ccdSize: String = "full"
    @Option(help: "CCD rows (overrides --ccd-size).") var ny: Int?
    @Option(help: "CCD columns (overrides --ccd-size).") var nx: Int?
    @Option(help: "Exposure time in seconds (default: arc 5, flat 10, science 900, dark 900, zero 0).") var exptime: Double?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: """
        Tile of a science exposure (default 1000 + EXPID % 1000). Exposures of one tile with one seed see the same \
        targets, with new noise.
        """)
    var tile: Int?
    @Option(help: "Output folder (raw data layout NIGHT/EXPID below it).") var outdir: String = "."
    @Option(help: "Seeing FWHM [arcsec] of a science exposure (default 1.1), written as SEEING in its header.") var seeing: Double?
    @Option(help: "Also write each camera's average flux calibration (fluxcalib-CAMERA.fits, kept if there) in this folder.")
    var fluxcalibAverageDir: String?
    @Option(help: "Folder with spectra/, templates/, filters/ (default: $DESISPEC_TESTDATA if set; built-in spectra otherwise).")
    var dataDir: String?
    @Flag(help: "Do not add cosmic rays (science and dark exposures have them by default).") var noCosmics = false
    @Flag(help: "Replace an existing OUTDIR/NIGHT/EXPID.") var overwrite = false
    @Flag(help: "Also store the noiseless electron image of each camera in the truth file.") var truthImages = false
    @Flag(help: """
        Give the CCDs a bias structure, pixel flat and bad columns, and write their calibration frames as \
        OUTDIR/calib/{bias,dark,pixflat,mask}-CAMERA.fits and the yaml naming them, OUTDIR/calib/spec/smN/smN-ARM.yaml.
        """)
    var calib = false
    @Option(name: .customLong("psf-wave-offset"), help: """
        Render with per-fiber wavelength errors AMP,PERIOD: fiber f's light of lambda lands where the PSF puts \
        lambda + AMP sin(2 pi f / PERIOD) [Angstrom]; truth-psf-CAMERA.fits stays unperturbed, the injected values \
        go to truth-psf-perturbation-CAMERA.fits.
        """) var psfWaveOffset: String?
    @Option(name: .customLong("psf-width-scale"), help: """
        Render with per-fiber LSF width errors AMP,PERIOD: spot widths along the dispersion scaled by \
        1 + AMP sin(2 pi f / PERIOD) (a few percent; see --psf-wave-offset for the files).
        """) var psfWidthScale: String?
    @Option(name: .customLong("psf-wave-shift"), help: """
        Render with a flexure along the dispersion: every fiber's light of lambda lands where the PSF puts lambda + \
        SHIFT [Angstrom] (see --psf-wave-offset for the files); `traceshift --sky` measures it back.
        """) var psfWaveShift: Double?
    @Flag(name: .customLong("calib-plain"), help: "Like --calib, for CCDs without defects (the raw data are unchanged).")
    var calibPlain = false

    func run() throws {
        let log = global.makeLogger("simulate")
        try runStep {
            guard let fl = ExposureFlavor(rawValue: flavor.lowercased()) else {
                let flavors = ExposureFlavor.allCases.map(\.rawValue).joined(separator: ", ")
                throw DESIError.invalidArgument("--flavor must be one of \(flavors), got '\(flavor)'")
            }
            guard let model = SimulationOptions.PSFModel(rawValue: psfModel) else {
                throw DESIError.invalidArgument("--psf-model must be gaussian or gauss-hermite, got '\(psfModel)'")
            }
            let cams = try Camera.parseList(cameras)
            let (commonPSF, cameraPSFs) = try Self.psfFiles(psf)
            let size = try SimulatedCCDSize.resolve(named: ccdSize, nspec: nspec, psfModel: model, ny: ny, nx: nx, psfPath: commonPSF)
            let data = dataDir ?? ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"]
            let args = CommandLine.arguments.dropFirst()
            var options = SimulationOptions(night: night, expid: expid, flavor: fl, cameras: cams, nspec: nspec, ny: size.0, nx: size.1,
                                            psfPath: commonPSF, exptime: exptime ?? fl.defaultExptime, seed: seed, outdir: outdir,
                                            dataDirectory: data, cosmics: !noCosmics, overwrite: overwrite, truthImages: truthImages,
                                            history: DESIProvenance.line(command: args.first ?? "simulate",
                                                                         arguments: Array(args.dropFirst())))
            options.psfModel = model
            options.cameraPSFPaths = cameraPSFs
            if calib || calibPlain { options.calibrationDirectory = (outdir as NSString).appendingPathComponent("calib") }
            options.calibrationDefects = !calibPlain
            options.tile = tile
            options.psfPerturbation = try psfPerturbation()
            options.seeingFWHM = seeing
            options.averageFluxCalibrationDirectory = fluxcalibAverageDir
            let out = try SimulationRunner.run(options, psfLoader: { path, _ in try readPSF(path) }) { log.info("\($0)") }
            log.info("wrote \(out.raw), \(out.fibermap), \(out.truth) and \(out.psfs.count) PSF file(s)")
        }
    }

    /// --psf split into the PSF of every camera (a plain path) or the PSFs of some cameras (CAMERA=PATH, comma separated).
    static func psfFiles(_ option: String?) throws -> (all: String?, cameras: [String: String]) {
        guard let option, option.contains("=") else { return (option, [:]) }
        var out: [String: String] = [:]
        for item in option.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty, let cam = try? Camera.parseList(parts[0]), cam.count == 1 else {
                throw DESIError.invalidArgument("--psf: expected PATH or CAMERA=PATH[,CAMERA=PATH...], got '\(item)'")
            }
            out[cam[0].name] = parts[1]
        }
        return (nil, out)
    }

    /// The PSF errors of --psf-wave-offset / --psf-width-scale / --psf-wave-shift, or nil without any.
    func psfPerturbation() throws -> PSFPerturbationSpec? {
        if psfWaveOffset == nil && psfWidthScale == nil && psfWaveShift == nil { return nil }
        var spec = PSFPerturbationSpec()
        if let d = psfWaveShift {
            guard d.isFinite, abs(d) < 5 else { throw DESIError.invalidArgument("--psf-wave-shift must be within +-5 Angstrom, got \(d)") }
            spec.commonOffset = d
        }
        if let t = psfWaveOffset {
            (spec.offsetAmplitude, spec.offsetPeriod) = try PSFPerturbationSpec.pair(t, option: "--psf-wave-offset")
        }
        if let t = psfWidthScale {
            (spec.scaleAmplitude, spec.scalePeriod) = try PSFPerturbationSpec.pair(t, option: "--psf-width-scale")
        }
        return spec
    }
}
