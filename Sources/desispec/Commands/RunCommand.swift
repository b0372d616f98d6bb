import ArgumentParser
import DESICore
import Foundation
import Pipeline

/// `desispec run exposure|night`: the whole chain of steps, in order, in parallel where independent.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the pipeline for one exposure or one night (preproc to coadd).",
        subcommands: [RunNight.self, RunExposure.self]
    )
}

/// What `run night` and `run exposure` share.
struct RunOptions: ParsableArguments {
    @OptionGroup var location: ProductionLocation
    @Option(name: .customLong("psf-dir"), help: "Folder of starting PSFs psf-CAMERA.fits (default: the production's options).")
    var psfDir: String?
    @Option(name: .long, help: "Fibers per spectrograph to extract (default: all).")
    var nspec: Int?
    @Option(name: [.short, .customLong("jobs")], help: "Tasks run at once (default: number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .customLong("dry-run"), help: "Print the commands that would run, run nothing.")
    var dryRun = false
    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false
    @Flag(name: .long, help: "Write Slurm batch scripts (one job array per step) instead of running here.")
    var slurm = false
    @Flag(name: .long, help: "With --slurm: submit the scripts with sbatch, chained by dependencies.")
    var submit = false
    @OptionGroup var global: GlobalOptions

    func graph(night: String, layout: ProductionLayout) throws -> TaskGraph {
        var options = ProductionOptions.load(layout) ?? ProductionOptions()
        if let psfDir { options.psfDir = absolute(psfDir) }
        if let nspec { options.nspec = nspec }
        let exposures = try NightInventory.exposures(night: night, layout: layout)
        return try TaskGraph.night(night, exposures: exposures, layout: layout, options: options.nightOptions)
    }

    func execute(_ graph: TaskGraph, night: String, layout: ProductionLayout) throws {
        let logger = global.makeLogger("run")
        let database = try StateDatabase(path: layout.database)
        let runner = LocalRunner(executable: selfExecutable(), layout: layout, database: database, maxParallel: jobs)
        if dryRun {
            for t in runner.pending(graph) { print(t.commandLine) }
            return
        }
        if slurm {
            let plan = SlurmPlan(graph: graph, layout: layout, executable: selfExecutable().path, night: night)
            try plan.write()
            try database.insert(graph.tasks, logPath: layout.log(for:))
            for job in plan.jobs { print("wrote \(job.path) (\(job.taskNames.count) tasks)") }
            if submit {
                let ids = try plan.submit()
                for job in plan.jobs { print("submitted \(job.type.rawValue): job \(ids[job.type] ?? "?")") }
            }
            return
        }
        let line = ProgressLine("night \(night)", total: runner.pending(graph).count)
        runner.onTaskEnd = { _, _ in line.advance() }
        if !global.quiet { runner.progress = { message in line.printAbove { logger.info("\(message)") } } }
        let summary = try runner.run(graph)
        line.finish()
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
        } else {
            print("done \(summary.done.count), already done \(summary.skipped.count), failed \(summary.failed.count), "
                  + "not run \(summary.blocked.count)")
            for f in summary.failed { print("failed: \(f)  log: \(layout.logDir(night: night))/\(f).log") }
        }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}

struct RunNight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "night",
        abstract: "Reduce every exposure of a night: calibrations first, then science, then spectra and coadds.",
        discussion: """
        Example: desispec run night 20250101 --raw-root raw --prod-root redux/demo --psf-dir raw/truth
        Re-running a night redoes only the tasks whose outputs are missing. Exit code 0 when every task is done,
        2 when some task failed (the rest still ran), 1 on a setup error.
        """
    )
    @Argument(help: "Night, YEARMMDD.") var night: String
    @OptionGroup var options: RunOptions

    func run() throws {
        try runStep {
            let layout = try options.location.layout()
            try options.execute(try options.graph(night: night, layout: layout), night: night, layout: layout)
        }
    }
}

struct RunExposure: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exposure",
        abstract: "Reduce one exposure of a night, with the nightly calibrations it needs.",
        discussion: "Example: desispec run exposure 20250101 3 --raw-root raw --prod-root redux/demo"
    )
    @Argument(help: "Night, YEARMMDD.") var night: String
    @Argument(help: "Exposure id.") var expid: Int
    @OptionGroup var options: RunOptions

    func run() throws {
        try runStep {
            let layout = try options.location.layout()
            let graph = try options.graph(night: night, layout: layout).forExposure(expid)
            guard !graph.tasks.isEmpty else { throw PipelineError.noData("night \(night) has no exposure \(expid)") }
            try options.execute(graph, night: night, layout: layout)
        }
    }
}
