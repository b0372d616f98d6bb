import DESICore
import FITS
import Foundation
import PSF

/// Everything `desispec simulate` needs to know.
public struct SimulationOptions: Sendable {
    public var night: Int
    public var expid: Int
    public var flavor: ExposureFlavor
    public var cameras: [Camera]
    public var nspec: Int
    /// CCD active size; nil: from the PSF file, or full (4128 x 4114), or the small default.
    public var ny: Int
    public var nx: Int
    public var psfPath: String?
    /// PSF files of some cameras (camera name -> path), in place of `psfPath` or the built-in PSF for those cameras
    /// (`simulate --psf r0=PATH`: a real r PSF beside built-in b and z PSFs).
    public var cameraPSFPaths: [String: String] = [:]
    /// The PSF file camera `cam` is rendered with: its own, else `psfPath`; nil: the built-in PSF.
    public func psfPath(for cam: Camera) -> String? { cameraPSFPaths[cam.name] ?? psfPath }
    public var exptime: Double
    public var seed: UInt64
    public var outdir: String
    public var dataDirectory: String?
    public var cosmics: Bool
    public var overwrite: Bool
    public var truthImages: Bool
    /// Built-in PSF used without --psf: the simple pixel-integrated Gaussian (`AnalyticPSF`) or the PSF module's
    /// realistic Gauss-Hermite PSF with tails (`GaussHermitePSF.analytic`).
    public var psfModel: PSFModel = .gaussian
    public enum PSFModel: String, Sendable, CaseIterable { case gaussian, gaussHermite = "gauss-hermite" }
    /// Provenance line recorded in every output ("desispec-swift VERSION simulate ARGS").
    public var history: String
    /// When set, the CCDs get a bias structure, a pixel flat and bad columns, and their calibration frames
    /// (bias, dark, pixflat, mask per camera: `CCDCalibrationSet`) are written into this folder.
    public var calibrationDirectory: String? = nil
    /// Folder where the instrument's average flux calibration of each camera is written as fluxcalib-CAMERA.fits
    /// (`NominalFluxCalibration`, the DESI_SPECTRO_CALIB file the flux calibration falls back on); existing files stay.
    public var averageFluxCalibrationDirectory: String? = nil
    /// Seeing FWHM [arcsec] of science exposures (nil: `Instrument.seeingFWHM`), recorded as SEEING in the header.
    public var seeingFWHM: Double? = nil
    /// With `calibrationDirectory`: give the CCDs their defects (bias structure, pixel flat, bad columns); false: the
    /// plain CCD (its frames and yaml are still written, so that preproc is configured as for real data).
    public var calibrationDefects = true
    /// Tile observed by a science exposure (nil: 1000 + EXPID % 1000). The targets depend on (seed, tile) only, so
    /// several exposures of one tile see the same objects; photon noise, read noise and cosmics depend on (seed, EXPID).
    public var tile: Int?
    /// Render with per-fiber PSF errors (wavelength offsets, width scales); the truth PSF stays unperturbed.
    public var psfPerturbation: PSFPerturbationSpec?

    public var tileID: Int { tile ?? 1000 + expid % 1000 }
    /// Seed of what is fixed on the sky for a tile: the targets and their spectra.
    var targetSeed: UInt64 { seed &+ UInt64(truncatingIfNeeded: tileID) &* 0x9E37_79B9_7F4A_7C15 }
    /// Seed of what changes from one exposure to the next: photon and read noise, cosmic rays.
    var noiseSeed: UInt64 { seed &+ UInt64(truncatingIfNeeded: expid) &* 0xBF58_476D_1CE4_E5B9 }

    public init(night: Int, expid: Int, flavor: ExposureFlavor, cameras: [Camera], nspec: Int, ny: Int, nx: Int,
                psfPath: String?, exptime: Double, seed: UInt64, outdir: String, dataDirectory: String?, cosmics: Bool,
                overwrite: Bool, truthImages: Bool, history: String) {
        self.night = night; self.expid = expid; self.flavor = flavor; self.cameras = cameras; self.nspec = nspec
        self.ny = ny; self.nx = nx; self.psfPath = psfPath; self.exptime = exptime; self.seed = seed; self.outdir = outdir
        self.dataDirectory = dataDirectory; self.cosmics = cosmics; self.overwrite = overwrite; self.truthImages = truthImages
        self.history = history
    }
}

/// Paths written by a simulation.
public struct SimulationOutputs: Sendable {
    public var directory: String
    public var raw: String
    public var fibermap: String
    public var truth: String
    public var psfs: [String]
}

/// Runs a whole simulated exposure and writes its files into $outdir/NIGHT/EXPID/ (all or nothing: the files go to a
/// temporary folder that is renamed at the end).
public enum SimulationRunner {
    public typealias PSFLoader = @Sendable (_ path: String, _ camera: Camera) throws -> any SpectralPSF

    public static func run(_ o: SimulationOptions, psfLoader: PSFLoader?, log: (String) -> Void) throws -> SimulationOutputs {
        guard !o.cameras.isEmpty else { throw DESIError.invalidArgument("simulate: no cameras given") }
        guard (1...500).contains(o.nspec) else { throw DESIError.invalidArgument("simulate: --nspec must be in 1...500, got \(o.nspec)") }
        guard o.exptime >= 0 else { throw DESIError.invalidArgument("simulate: --exptime must be >= 0") }
        guard o.night >= 20000101 && o.night <= 21001231 else {
            throw DESIError.invalidArgument("simulate: --night must be YYYYMMDD, got \(o.night)")
        }
        guard o.expid >= 0 && o.expid < 100_000_000 else { throw DESIError.invalidArgument("simulate: --expid must be in 0...99999999") }
        let psfFiles = o.cameras.compactMap { o.psfPath(for: $0) }
        if !psfFiles.isEmpty && psfLoader == nil { throw DESIError.invalidArgument("simulate: this build cannot read PSF files") }
        for p in psfFiles where !FileManager.default.fileExists(atPath: p) {
            throw DESIError.badFile(path: p, problem: "PSF file not found")
        }
        let expName = FileLayout.expidString(o.expid)
        let nightDir = (o.outdir as NSString).appendingPathComponent(FileLayout.nightString(o.night))
        let finalDir = (nightDir as NSString).appendingPathComponent(expName)
        let fm = FileManager.default
        if fm.fileExists(atPath: finalDir) && !o.overwrite {
            throw DESIError.invalidArgument("simulate: \(finalDir) exists (use --overwrite to replace it)")
        }

        let inputs = try SpectralInputs.load(dataDirectory: o.dataDirectory)
        log("spectral inputs: " + inputs.sources.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        var sim = ExposureSimulator(inputs: inputs)
        if let seeing = o.seeingFWHM {
            guard seeing > 0 && seeing.isFinite else { throw DESIError.invalidArgument("simulate: --seeing must be > 0, got \(seeing)") }
            sim.instrument.seeingFWHM = seeing
        }

        // PSFs first: a bad PSF or a bad CCD size fails before any work
        var psfs: [Camera: any SpectralPSF] = [:]
        for cam in o.cameras {
            let psf: any SpectralPSF
            if let p = o.psfPath(for: cam), let loader = psfLoader {
                psf = try loader(p, cam)
                guard psf.nspec >= o.nspec else {
                    throw DESIError.badFile(path: p, problem: "describes \(psf.nspec) fibers, --nspec is \(o.nspec)")
                }
            } else if o.psfModel == .gaussHermite {
                let r = Instrument.wavelengthRange(cam.arm)
                let span = FiberBundleLayout(gap: 10).span(o.nspec)   // the layout of GaussHermitePSF.analytic
                guard Double(o.nx) >= span + 40, o.ny > 60 else {
                    throw DESIError.invalidArgument("simulate: \(o.nspec) fibers need a CCD at least \(Int(span + 40)) pixels wide "
                                                    + "and 60 rows, got \(o.ny)x\(o.nx)")
                }
                psf = try GaussHermitePSF.analytic(nspec: o.nspec, wavemin: r.lowerBound - 10, wavemax: r.upperBound + 10,
                                                   npixX: o.nx, npixY: o.ny, firstFiberX: (Double(o.nx) - span) / 2)
            } else {
                psf = try AnalyticPSF.forCamera(cam.arm, nspec: o.nspec, npixX: o.nx, npixY: o.ny)
            }
            guard psf.npixY % 2 == 0, psf.npixX % 2 == 0, psf.npixY > 0, psf.npixX > 0 else {
                throw DESIError.invalidArgument("simulate: the CCD (\(psf.npixY)x\(psf.npixX)) must have even sizes for four amplifiers")
            }
            psfs[cam] = psf
        }
        // the PSFs the CCDs see: perturbed per fiber where asked
        var rendered: [Camera: PerturbedPSF] = [:]
        if let spec = o.psfPerturbation {
            for cam in o.cameras { rendered[cam] = try spec.perturb(psfs[cam]!) }
        }

        // targets per spectrograph
        var targets: [Int: [SimulatedTarget]] = [:]
        var throughputs: [Int: [Double]] = [:]
        for sp in Set(o.cameras.map(\.spectrograph)).sorted() {
            targets[sp] = o.flavor == .science
                ? TargetSimulator.make(nspec: o.nspec, spectrograph: sp, inputs: inputs, instrument: sim.instrument, seed: o.targetSeed)
                : TargetSimulator.calibrationFibers(nspec: o.nspec, spectrograph: sp)
            throughputs[sp] = sim.fiberThroughputs(nspec: o.nspec, spectrograph: sp, seed: o.seed)
        }

        var ph = RawExposureWriter.primaryHeader(night: o.night, expid: o.expid, exptime: o.exptime, flavor: o.flavor.rawValue,
                                                 obstype: o.flavor.obstype)
        ph.set("SEED", Int(truncatingIfNeeded: o.seed), comment: "Simulation seed")
        // science: the objects (truth in the barycentric frame) reach the CCD in the observatory frame of this pointing
        // and time, through the factor extraction's --barycentric-correction reads from the same header
        var objectFactor = 1.0
        if o.flavor == .science {
            ph.set("TILEID", o.tileID, comment: "Tile observed")
            ph.set("TARGTRA", TargetSimulator.fieldCentre.ra, comment: "Target RA of the tile centre [deg]")
            ph.set("TARGTDEC", TargetSimulator.fieldCentre.dec, comment: "Target Dec of the tile centre [deg]")
            // the observing conditions the exposure was simulated in, under the keys DESI's raw headers use
            ph.set("AIRMASS", sim.instrument.airmass, comment: "Airmass")
            ph.set("SEEING", sim.instrument.seeingFWHM, comment: "Seeing FWHM [arcsec]")
            objectFactor = try BarycentricCorrection.factor(header: ph, source: "simulated primary header")
            log(String(format: "barycentric correction toward the tile centre: %.4f km/s",
                       (objectFactor - 1) * BarycentricCorrection.speedOfLight / 1000))
        }
        ph.addHistory(o.history)

        var exposures: [CameraExposure] = []
        var raws: [RawCamera] = []
        var calibrationSets: [CCDCalibrationSet] = []
        for cam in o.cameras.sorted() {
            let psf: any SpectralPSF = rendered[cam] ?? psfs[cam]!
            log("simulating \(cam) (\(o.flavor.rawValue), \(o.nspec) fibers, CCD \(psf.npixY)x\(psf.npixX))")
            let exp = try sim.simulateCamera(camera: cam, flavor: o.flavor, psf: psf, targets: targets[cam.spectrograph]!,
                                             fiberThroughput: throughputs[cam.spectrograph]!, exptime: o.exptime, seed: o.noiseSeed,
                                             objectWavelengthFactor: objectFactor)
            var electrons = exp.electrons
            var calibration: CCDCalibrationSet? = nil
            if o.calibrationDirectory != nil {
                let set = o.calibrationDefects ? CCDCalibrationSet.make(camera: cam.name, ny: exp.ny, nx: exp.nx, seed: o.seed)
                    : CCDCalibrationSet.plain(camera: cam.name, ny: exp.ny, nx: exp.nx)
                set.applyPixflat(to: &electrons)
                calibration = set
                calibrationSets.append(set)
            }
            let cameraStream = cam.spectrograph * 3 + Camera.Arm.allCases.firstIndex(of: cam.arm)!
            var rng = SimulationRandom(seed: o.noiseSeed, stream: 900_000 + UInt64(cameraStream))
            if o.cosmics && (o.flavor == .science || o.flavor == .dark) && o.exptime > 0 {
                // about 2 hits per cm2 per minute on the 15 um pixel CCDs
                let areaCm2 = Double(exp.ny * exp.nx) * 0.0015 * 0.0015
                let count = Int((2.0 * areaCm2 * o.exptime / 60).rounded())
                _ = CosmicRayInjector().inject(into: &electrons, ny: exp.ny, nx: exp.nx, count: count, rng: &rng)
            }
            let config = calibration?.config ?? CCDConfig.desiDefault(ny: exp.ny, nx: exp.nx, camera: cam.name)
            var raw = config.readout(electrons: electrons, ny: exp.ny, nx: exp.nx, exptime: o.exptime, rng: &rng)
            raw.header.set("CAMERA", cam.name)
            raw.header.addHistory(o.history)
            raws.append(raw)
            exposures.append(exp)
        }

        // write everything into a temporary folder, then move it into place
        try fm.createDirectory(atPath: nightDir, withIntermediateDirectories: true)
        let tmpDir = (nightDir as NSString).appendingPathComponent(".tmp-\(expName)-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(atPath: tmpDir, withIntermediateDirectories: false)
        do {
            let rawName = FileLayout.rawFileName(expid: o.expid)
            try RawExposureWriter.writeRawExposure(path: (tmpDir as NSString).appendingPathComponent(rawName), primaryHeader: ph,
                                                   cameras: raws)

            let allTargets = targets.keys.sorted().flatMap { targets[$0]! }
            var fmap = TargetSimulator.fibermap(targets: allTargets, exptime: o.exptime, night: o.night, expid: o.expid,
                                                flavor: o.flavor.rawValue, tile: o.tileID)
            fmap.table.header.addHistory(o.history)
            let fmName = FileLayout.fibermapFileName(expid: o.expid)
            try FITSFile.writeAtomically((tmpDir as NSString).appendingPathComponent(fmName)) { f in
                var h0 = FITSHeader(); h0.addHistory(o.history)
                try f.writeEmptyHDU(header: h0)
                try f.writeTable(fmap.table, name: "FIBERMAP")
            }

            var psfNames: [String] = []
            for cam in o.cameras.sorted() {
                let name = FileLayout.truthPSFFileName(camera: cam.name)
                let dst = (tmpDir as NSString).appendingPathComponent(name)
                if let p = o.psfPath(for: cam) {
                    try fm.copyItem(atPath: p, toPath: dst)
                } else if let a = psfs[cam] as? AnalyticPSF {
                    try a.writeGaussHermite(path: dst, camera: cam.name, history: o.history)
                } else if let g = psfs[cam] as? GaussHermitePSF {
                    try g.write(to: dst, history: [o.history])
                }
                psfNames.append(name)
                if let perturbed = rendered[cam], let spec = o.psfPerturbation {
                    let truthName = FileLayout.truthPSFPerturbationFileName(camera: cam.name)
                    try perturbed.writeTruth(path: (tmpDir as NSString).appendingPathComponent(truthName), camera: cam.name,
                                             nspec: o.nspec, spec: spec, history: o.history)
                }
            }

            var th = FITSHeader()
            th.set("NIGHT", o.night); th.set("EXPID", o.expid); th.set("FLAVOR", o.flavor.rawValue)
            th.set("EXPTIME", o.exptime); th.set("SEED", Int(truncatingIfNeeded: o.seed))
            if o.flavor == .science {
                th.set("HELIOCOR", objectFactor, comment: "Barycentric factor of the raw data; truth is barycentric")
            }
            th.set("SEEING", sim.instrument.seeingFWHM, comment: "Seeing FWHM [arcsec]")
            th.set("AIRMASS", sim.instrument.airmass); th.set("AREA", sim.instrument.areaCm2, comment: "Telescope area [cm2]")
            th.set("FIBAREA", sim.instrument.fiberAreaArcsec2, comment: "Fiber area [arcsec2]")
            for (k, v) in inputs.sources.sorted(by: { $0.key < $1.key }) { th.addHistory("input \(k): \(v)") }
            th.addHistory(o.history)
            let truthName = FileLayout.truthFileName(expid: o.expid)
            try TruthWriter.write(path: (tmpDir as NSString).appendingPathComponent(truthName), exposures: exposures, header: th,
                                  includeImages: o.truthImages)

            if let dir = o.calibrationDirectory {
                for set in calibrationSets { try set.write(directory: dir, history: o.history); try set.writeConfig(directory: dir) }
            }
            if let dir = o.averageFluxCalibrationDirectory {
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for cam in o.cameras.sorted() {
                    let path = (dir as NSString).appendingPathComponent(FileLayout.averageFluxCalibrationFileName(camera: cam.name))
                    if fm.fileExists(atPath: path) { continue }
                    try NominalFluxCalibration.make(arm: cam.arm, instrument: sim.instrument, inputs: inputs).write(path)
                }
            }
            if fm.fileExists(atPath: finalDir) { try fm.removeItem(atPath: finalDir) }
            try fm.moveItem(atPath: tmpDir, toPath: finalDir)
            func p(_ n: String) -> String { (finalDir as NSString).appendingPathComponent(n) }
            return SimulationOutputs(directory: finalDir, raw: p(rawName), fibermap: p(fmName), truth: p(truthName), psfs: psfNames.map(p))
        } catch {
            try? fm.removeItem(atPath: tmpDir)
            throw error
        }
    }
}
