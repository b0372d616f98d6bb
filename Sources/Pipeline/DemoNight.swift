import DESICore
import Foundation

/// The README's main job as a library function: a small night (two arcs, a flat and two science exposures of one
/// tile) simulated with this executable's `simulate`, reduced with the night's task graph, and the coadds handed
/// to a comparison with the simulator's truth. The stage-specific parts (the standard-star inputs written for a
/// night simulated without the data folder, the comparison) are passed in, so the pipeline stays above the stages.
public struct DemoNight: Sendable {
    /// Output folder (absolute): raw/, calib/, redux/demo/ below it.
    public var root: String
    public var night: String
    public var cameras: [Camera]
    /// Fibers per spectrograph.
    public var nspec: Int
    /// Random seed of the simulation.
    public var seed: UInt64
    /// Tile of the science exposures.
    public var tile: Int
    /// Folder given to the simulator (--data-dir, absolute); nil: its default.
    public var simulationData: String?
    /// Folder whose templates/ and filters/ calibrate the standard stars (absolute); nil: none.
    public var calibrationData: String?
    /// Tasks run at once.
    public var jobs: Int
    /// This executable: runs `simulate` and every task.
    public var executable: URL
    /// Quiet simulations and no task progress.
    public var quiet: Bool
    /// `simulate --psf` for every exposure (a PSF file, or CAMERA=PATH[,...] for some cameras); nil: built-in PSFs.
    public var simulationPSF: String? = nil
    /// Science extractions with --barycentric-correction (false: the control, whose coadds keep the Earth's motion).
    public var barycentricCorrection = true
    /// CCDs with defects, as real ones (`simulate --calib`: a bias ramp, a 1% pixel flat, a hot and a dead column,
    /// in the calibration files preproc reads); false: CCDs without defects (`simulate --calib-plain`).
    public var ccdDefects = true

    public init(root: String, night: String, cameras: [Camera], nspec: Int, seed: UInt64, tile: Int,
                simulationData: String?, calibrationData: String?, jobs: Int, executable: URL, quiet: Bool) {
        self.root = root; self.night = night; self.cameras = cameras; self.nspec = nspec; self.seed = seed
        self.tile = tile; self.simulationData = simulationData; self.calibrationData = calibrationData
        self.jobs = jobs; self.executable = executable; self.quiet = quiet
    }

    /// The simulated night: (expid, flavor). Two arcs, as psfnight averages several.
    public static let exposures: [(Int, String)] = [(1, "arc"), (2, "arc"), (3, "flat"), (4, "science"), (5, "science")]

    public var rawRoot: String { "\(root)/raw" }
    public var calibDir: String { "\(root)/calib" }
    /// The simulated CCDs' calibration frames and configs (DESI_SPECTRO_CALIB's layout), as `simulate --calib` (or
    /// `--calib-plain` without `ccdDefects`) writes them.
    public var simulatedCalibDir: String { "\(rawRoot)/calib" }
    public var layout: ProductionLayout { ProductionLayout(rawRoot: rawRoot, prodRoot: "\(root)/redux/demo") }

    /// Simulates what is not there yet, installs the starting PSFs, reduces the night and compares each coadd
    /// with the truth of the first science exposure. Running it again resumes: finished simulations and tasks are
    /// not redone. `builtinStarInputs(calibDir)` writes the simulator's stellar templates and filter curves when
    /// the data folder lacks them; `compare(coadd, truth, fibermap)` judges one coadd. `log` gets the progress.
    public func run<Comparison>(builtinStarInputs: (String) throws -> (templates: String, filters: String),
                                compare: (_ coadd: String, _ truth: String, _ fibermap: String) throws -> Comparison,
                                log: @escaping (String) -> Void) throws -> (summary: RunSummary, comparisons: [Comparison]) {
        let layout = self.layout
        let fm = FileManager.default
        try fm.createDirectory(atPath: calibDir, withIntermediateDirectories: true)
        try simulate(layout: layout, log: log)
        try installStartingPSFs(layout: layout)

        // the production and its night; the standard stars are fitted with the templates and filter curves the
        // simulation drew them from (when it used the real ones of the data folder)
        let data = calibrationData
        var templates = data.map { "\($0)/templates/star_templates_v2.0-lite.fits" }.flatMap { fm.fileExists(atPath: $0) ? $0 : nil }
        let filters = data.map { "\($0)/filters" }.flatMap { (dir: String) -> String? in
            fm.fileExists(atPath: dir + "/decam2014-r.ecsv") ? dir : nil
        }
        if templates == nil {
            // the simulator used its built-in grid: write it out for the fit. Its photometry went through the filter
            // curves that ship with desispec (N and S), which the fit uses when no --filters-dir is given.
            templates = try builtinStarInputs(calibDir).templates
        }
        var options = ProductionOptions(psfDir: calibDir, nspec: nspec, starModels: templates, filtersDir: filters)
        options.calibDir = simulatedCalibDir
        try options.save(layout)
        let database = try StateDatabase(path: layout.database)
        let inventory = try NightInventory.exposures(night: night, layout: layout)
        var nightOptions = options.nightOptions
        nightOptions.barycentricCorrection = barycentricCorrection
        let graph = try TaskGraph.night(night, exposures: inventory, layout: layout, options: nightOptions)
        let runner = LocalRunner(executable: executable, layout: layout, database: database, maxParallel: jobs)
        let line = ProgressLine("night \(night)", total: runner.pending(graph).count)
        runner.onTaskEnd = { _, _ in line.advance() }
        if !quiet { runner.progress = { message in line.printAbove { log(message) } } }
        let summary = try runner.run(graph)
        line.finish()

        // the coadds against the truth of the first science exposure (same tile, same targets)
        let science = Self.exposures.first { $0.1 == "science" }!.0
        let truth = layout.rawTruth(night: night, expid: science)
        let fibermap = layout.rawFibermap(night: night, expid: science)
        var comparisons: [Comparison] = []
        for sp in Set(cameras.map(\.spectrograph)).sorted() {
            let coadd = layout.tileFile("coadd", spectrograph: sp, tile: tile, night: night)
            guard fm.fileExists(atPath: coadd) else { continue }
            comparisons.append(try compare(coadd, truth, fibermap))
        }
        return (summary, comparisons)
    }

    /// Simulates the exposures not there yet: a CCD as tall as DESI's (so the dispersion, ~0.5 A per row, is the
    /// real one and the 0.8 A extraction grid is sampled as in production), only as wide as the fibers need.
    private func simulate(layout: ProductionLayout, log: (String) -> Void) throws {
        for (expid, flavor) in Self.exposures {
            let raw = layout.raw(night: night, expid: expid)
            if FileManager.default.fileExists(atPath: raw) { log("\(raw) exists: not simulated again"); continue }
            var args = ["simulate", "--night", night, "--expid", String(expid), "--flavor", flavor,
                        "--cameras", cameras.map(\.name).joined(separator: ","), "--nspec", String(nspec),
                        "--ccd-size", "narrow", "--seed", String(seed), "--outdir", rawRoot, "--overwrite",
                        "--fluxcalib-average-dir", calibDir, ccdDefects ? "--calib" : "--calib-plain"]
            if flavor == "science" { args += ["--tile", String(tile)] }
            if let simulationData { args += ["--data-dir", simulationData] }
            if let simulationPSF { args += ["--psf", simulationPSF] }
            log("simulating exposure \(expid) (\(flavor))")
            try runExecutable(args)
        }
    }

    /// The starting PSFs: the instrument's nominal PSF (the first arc's truth), as DESI_SPECTRO_CALIB would hold
    /// it; the arc fit (`desispec psf`) refines it for the night.
    private func installStartingPSFs(layout: ProductionLayout) throws {
        let arcDir = layout.rawDir(night: night, expid: 1)
        for c in cameras {
            let start = "\(calibDir)/\(FileLayout.startingPSFFileName(camera: c.name))"
            if !FileManager.default.fileExists(atPath: start) {
                try FileManager.default.copyItem(atPath: "\(arcDir)/\(FileLayout.truthPSFFileName(camera: c.name))", toPath: start)
            }
        }
    }

    /// Runs this executable with `arguments` (and --quiet when quiet) and fails with its exit status.
    private func runExecutable(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments + (quiet ? ["--quiet"] : [])
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw DESIError.invalidArgument("desispec \(arguments.joined(separator: " ")) failed (exit \(p.terminationStatus))")
        }
    }
}
