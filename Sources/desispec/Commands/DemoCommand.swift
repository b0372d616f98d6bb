import ArgumentParser
import DESICore
import Foundation
import Pipeline
import QA
import Simulation
import StdStars

/// `desispec demo`: the README's main job. Simulates a small night (an arc, a flat and two science exposures of one
/// tile) with `desispec simulate`, reduces it with the night's task graph (`desispec run night`), and checks the
/// coadded spectra against the simulator's truth.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Simulate a small night (2 arcs, a flat, 2 science exposures of one tile) and reduce it end to end: "
            + "cframes, coadds, QA, and a check against the truth.",
        discussion: """
        Example: desispec demo --outdir demo --cameras b0,r0,z0 --nspec 20
        Writes OUTDIR/raw (the simulated night, with truth files), OUTDIR/calib (starting PSFs), OUTDIR/redux/demo
        (the production: preproc, exposures, calibnight, tiles, QA, run/ with the task database and logs) and
        OUTDIR/demo-summary.json. Running it again resumes: finished simulations and tasks are not redone.
        Exit codes: 0 when every task is done and the coadds match the truth within --max-rms; 2 when a task failed;
        3 when the coadds miss the truth; 1 on a setup error.
        """
    )

    @Option(help: "Output folder.") var outdir = "demo-output"
    @Option(help: "Comma-separated cameras.") var cameras = "b0,r0,z0"
    @Option(help: "Fibers per spectrograph (the first ones of each petal).") var nspec = 20
    @Option(help: "Night, YYYYMMDD.") var night = "20250101"
    @Option(help: "Random seed of the simulation.") var seed: UInt64 = 1
    @Option(help: "Tile of the science exposures.") var tile = 1000
    @Option(name: [.short, .customLong("jobs")], help: "Tasks run at once (default: number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .customLong("data-dir"), help: """
        Folder with spectra/, templates/, filters/ for the simulator (default: $DESISPEC_TESTDATA; built-in spectra otherwise).
        """)
    var dataDir: String?
    @Option(name: .customLong("psf"), help: """
        PSF files the exposures are simulated with, as `simulate --psf`: PATH for every camera or \
        CAMERA=PATH[,CAMERA=PATH...] (e.g. r0=psf-r0-00051060.fits, a real r PSF); default: the simulator's built-in PSFs.
        """)
    var simulationPSF: String?
    @Option(name: .customLong("max-rms"), help: "Largest accepted relative rms of coadd vs truth.") var maxRMS = 0.03
    @Flag(help: "Print the summary as JSON on standard output.") var json = false
    @Flag(name: .customLong("no-barycentric-correction"), help: """
        Extract the science exposures without --barycentric-correction (desi_proc's option of that name): a control \
        whose coadds keep the Earth's motion, so the velocity offset is minus the printed barycentric correction.
        """)
    var noBarycentricCorrection = false
    @Flag(name: .customLong("plain-ccds"), help: """
        Simulate CCDs without defects (simulate --calib-plain) instead of CCDs with a bias structure, a pixel flat, \
        a hot and a dead column in their calibration files (simulate --calib, the default).
        """)
    var plainCCDs = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runStep {
            let log = global.makeLogger("demo")
            let env = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"]
            var demo = DemoNight(root: absolute(outdir), night: night, cameras: try Camera.parseList(cameras), nspec: nspec,
                                 seed: seed, tile: tile, simulationData: dataDir.map(absolute),
                                 calibrationData: (dataDir ?? env).map(absolute), jobs: jobs, executable: selfExecutable(),
                                 quiet: global.quiet)
            demo.barycentricCorrection = !noBarycentricCorrection
            demo.simulationPSF = simulationPSF
            demo.ccdDefects = !plainCCDs
            let (summary, comparisons) = try demo.run(builtinStarInputs: BuiltinSimulationInputs.write(to:), compare: {
                try TruthComparison.compare(coaddPath: $0, truthPath: $1, fibermapPath: $2)
            }, log: { log.info("\($0)") })
            // the worst band of any coadd (NaN, and so a failure, when a band had no block bright enough to judge)
            let bandRMS = comparisons.flatMap { $0.bands.map(\.blockRelativeRMS) }
            let worst = bandRMS.contains { $0.isNaN } ? .nan : bandRMS.max() ?? .nan

            let layout = demo.layout
            let report = DemoReport(rawRoot: demo.rawRoot, production: layout.prodRoot,
                                    qaIndex: layout.qaNightHTML(night: night), logs: layout.logDir(night: night),
                                    tasksDone: summary.done.count + summary.skipped.count, tasksFailed: summary.failed,
                                    tasksNotRun: summary.blocked.count, coadds: comparisons, worstRelativeRMS: worst,
                                    maxRelativeRMS: maxRMS)
            try report.write(to: "\(demo.root)/demo-summary.json")
            if json { print(try report.jsonString()) } else { report.printText() }
            if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
            if comparisons.isEmpty || !(worst <= maxRMS) { throw ExitCode(3) }
        }
    }
}

/// The simulator's built-in stellar grid and DECam curves as files (with the standard-star fit's stand-in Gaia
/// curves), so that a night simulated without the data folder is calibrated with what made it.
enum BuiltinSimulationInputs {
    static func write(to dir: String) throws -> (templates: String, filters: String) {
        let inputs = SpectralInputs.builtin()
        let templates = "\(dir)/star-templates-simulator.fits"
        if !FileManager.default.fileExists(atPath: templates) { try inputs.stars.write(templates) }
        let filters = "\(dir)/filters"
        try FileManager.default.createDirectory(atPath: filters, withIntermediateDirectories: true)
        for curve in inputs.filters { try curve.writeECSV("\(filters)/decam2014-\(curve.band).ecsv") }
        let gaia = FilterSet.builtin()
        for band in ["G", "BP", "RP"] { try gaia.filters["GAIA-\(band)"]!.writeECSV("\(filters)/gaiadr2-\(band).ecsv") }
        return (templates, filters)
    }
}

/// What `desispec demo` made and how well it did.
struct DemoReport: Codable {
    var rawRoot: String
    var production: String
    var qaIndex: String
    var logs: String
    var tasksDone: Int
    var tasksFailed: [String]
    var tasksNotRun: Int
    var coadds: [TruthComparison]
    var worstRelativeRMS: Double
    var maxRelativeRMS: Double

    func jsonString() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try enc.encode(self), as: UTF8.self)
    }

    func write(to path: String) throws {
        try Data(try jsonString().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    func printText() {
        print("simulated night:   \(rawRoot)  (truth-EXPID.fits and truth-psf-CAM.fits next to each raw file)")
        print("production:        \(production)")
        print("  cframes:         \(production)/exposures/NIGHT/EXPID/cframe-CAM-EXPID.fits")
        print("  coadds:          \(production)/tiles/cumulative/TILE/NIGHT/coadd-SP-TILE-thruNIGHT.fits")
        print("  QA index:        \(qaIndex)")
        print("  task logs:       \(logs)")
        print("tasks done \(tasksDone), failed \(tasksFailed.count), not run \(tasksNotRun)")
        for f in tasksFailed { print("  failed: \(f)  (log: \(logs)/\(f).log)") }
        for c in coadds {
            print("coadd vs truth: \(c.coadd)")
            for b in c.bands {
                print(String(format: "  %@: %d targets, relative rms %.4f over %d blocks of %d pixels, median pull %+.3f, pull NMAD %.3f",
                             b.band, b.targets, b.blockRelativeRMS, b.blocksUsed, TruthComparison.blockSize, b.medianPull, b.pullNMAD))
            }
            let helio = c.barycentricVelocity.map { String(format: "%+.3f km/s", $0) } ?? "none"
            print(String(format: "  velocity offset vs truth: median %+.3f km/s over %d bright targets "
                         + "(barycentric correction of the raw data: %@)", c.velocityOffset, c.velocityTargets, helio))
        }
        print(String(format: "worst band relative rms of the coadds vs truth: %.4f (limit %.3f): %@", worstRelativeRMS, maxRelativeRMS,
                     worstRelativeRMS <= maxRelativeRMS ? "OK" : "TOO LARGE"))
    }
}
