import ArgumentParser
import Foundation
import Pipeline

/// `desispec prod ...`: a production's state database, as desi_pipe.
struct ProdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prod",
        abstract: "Create a production and follow its tasks (create, status, top, cleanup, sync, run-task).",
        subcommands: [ProdCreate.self, ProdStatus.self, ProdTop.self, ProdCleanup.self, ProdSync.self, ProdRunTask.self]
    )
}

struct ProdCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create the production folders, options and state database.",
        discussion: "Example: desispec prod create --raw-root raw --prod-root redux/demo --psf-dir raw/truth --nspec 25")
    @OptionGroup var location: ProductionLocation
    @Option(name: .customLong("psf-dir"), help: "Folder of starting PSFs psf-CAMERA.fits.") var psfDir: String?
    @Option(name: .long, help: "Fibers per spectrograph to extract.") var nspec: Int?
    @Option(name: .long, help: "Stellar templates of the standard-star fit (stdstars --starmodels).") var starmodels: String?
    @Option(name: .customLong("filters-dir"), help: "Filter curves of the standard-star fit (stdstars --filters-dir).")
    var filtersDir: String?
    @Flag(name: .customLong("no-fluxcalib"), help: "Stop at sky-subtracted frames (no standard stars).") var noFluxCalib = false
    @Option(name: .customLong("calib-dir"),
            help: "Calibration folder in DESI_SPECTRO_CALIB's layout for preproc (default: $DESI_SPECTRO_CALIB).")
    var calibDir: String?

    func run() throws {
        try runStep {
            let layout = try location.layout()
            var options = ProductionOptions(psfDir: psfDir.map(absolute), nspec: nspec, noFluxCalib: noFluxCalib,
                                            starModels: starmodels.map(absolute), filtersDir: filtersDir.map(absolute))
            options.calibDir = calibDir.map(absolute)
            try options.save(layout)
            _ = try StateDatabase(path: layout.database)
            let setup = """
            # source this file to work in this production
            export DESI_SPECTRO_DATA=\(layout.rawRoot)
            export DESI_SPECTRO_REDUX=\((layout.prodRoot as NSString).deletingLastPathComponent)
            export SPECPROD=\((layout.prodRoot as NSString).lastPathComponent)

            """
            try setup.write(toFile: "\(layout.prodRoot)/setup.sh", atomically: true, encoding: .utf8)
            print("created production \(layout.prodRoot)")
        }
    }
}

struct ProdStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "List tasks and their states.",
        discussion: "Example: desispec prod status --night 20250101 --state failed --json")
    @OptionGroup var location: ProductionLocation
    @Option(help: "Only this night.") var night: String?
    @Option(help: "Only tasks in this state (waiting, ready, running, done, failed).") var state: String?
    @Flag(help: "JSON output: an array of {name, type, night, expid, unit, state, log, message, command}.") var json = false

    func run() throws {
        try runStep {
            let db = try location.database().database
            var rows = try db.rows(night: night)
            if let state {
                guard let s = TaskState(rawValue: state) else { throw PipelineError.invalid("unknown state '\(state)'") }
                rows = rows.filter { $0.state == s }
            }
            if json {
                let items: [[String: String]] = rows.map { r in
                    ["name": r.task.name, "type": r.task.type.rawValue, "night": r.task.night,
                     "expid": r.task.expid.map(String.init) ?? "", "unit": r.task.unit ?? "", "state": r.state.rawValue,
                     "log": r.logPath, "message": r.message, "command": r.task.commandLine]
                }
                let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for r in rows {
                    let state = r.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                    print("\(state) \(r.task.name)" + (r.message.isEmpty ? "" : "  (\(r.message))"))
                }
            }
        }
    }
}

struct ProdTop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Task counts per type and state; refreshes every 10 s unless --once.")
    @OptionGroup var location: ProductionLocation
    @Flag(help: "Print once and exit.") var once = false

    func run() throws {
        try runStep {
            let db = try location.database().database
            repeat {
                for line in TaskCountsTable.lines(try db.rows()) { print(line) }
                if !once { print(""); Thread.sleep(forTimeInterval: 10) }
            } while !once
        }
    }
}

struct ProdCleanup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup", abstract: "Forget failed (or all) tasks in the database so the next run retries them; files stay.")
    @OptionGroup var location: ProductionLocation
    @Flag(help: "Only failed tasks.") var failed = false

    func run() throws {
        try runStep {
            let db = try location.database().database
            try db.delete(states: failed ? [.failed] : nil)
            print(failed ? "removed failed tasks from the database" : "removed all tasks from the database")
        }
    }
}

struct ProdSync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Rebuild task states of a night from the files that exist.")
    @OptionGroup var location: ProductionLocation
    @Argument(help: "Night, YEARMMDD.") var night: String

    func run() throws {
        try runStep {
            let summary = try ProductionSync.night(night, layout: try location.layout())
            print("\(summary.done) of \(summary.total) tasks done")
        }
    }
}

struct ProdRunTask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-task", abstract: "Run one task of the database by name (what Slurm jobs call).")
    @OptionGroup var location: ProductionLocation
    @Argument(help: "Task name, e.g. preproc_20250101_00000003_r0.") var name: String

    func run() throws {
        var status: Int32 = 0
        try runStep {
            let (layout, db) = try location.database()
            guard let row = try db.rows().first(where: { $0.task.name == name }) else {
                throw PipelineError.invalid("\(layout.database): no task named \(name)")
            }
            let runner = LocalRunner(executable: selfExecutable(), layout: layout, database: db, maxParallel: 1)
            status = try runner.runSingle(row.task)
            if status != 0 { FileHandle.standardError.write(Data("error: task \(name) failed; log: \(row.logPath)\n".utf8)) }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
