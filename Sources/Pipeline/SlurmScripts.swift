import Foundation

/// Batch scripts for Slurm: one job per task type (a step group), a job array over that type's tasks (cameras,
/// spectrographs, tiles), each job depending (afterok) on the jobs of the types its tasks need.
public struct SlurmPlan: Sendable {
    public struct Job: Sendable {
        public var type: TaskType
        public var script: String
        public var path: String
        public var taskNames: [String]
        /// Types whose jobs must succeed first.
        public var after: [TaskType]
    }
    public var jobs: [Job]

    /// - Parameters:
    ///   - executable: absolute path of `desispec` on the cluster nodes.
    ///   - partition/time/account: passed to #SBATCH lines when given.
    /// Folder of the jobs' Slurm output files (it must exist when a job starts, or Slurm fails the job).
    public var logDirectory: String

    public init(graph: TaskGraph, layout: ProductionLayout, executable: String, night: String,
                partition: String? = nil, timeMinutes: Int = 30, account: String? = nil) {
        logDirectory = layout.logDir(night: night)
        let typeOf = Dictionary(uniqueKeysWithValues: graph.tasks.map { ($0.name, $0.type) })
        var jobs: [Job] = []
        for (type, _) in graph.countsByType {
            let tasks = graph.tasks.filter { $0.type == type }
            let after = Set(tasks.flatMap { $0.dependencies.compactMap { typeOf[$0] } }).subtracting([type]).sorted()
            let path = "\(layout.scriptDir)/\(night)/\(type.rawValue)-\(night).slurm"
            var s = "#!/bin/bash\n"
            s += "#SBATCH --job-name=\(type.rawValue)-\(night)\n"
            s += "#SBATCH --array=0-\(tasks.count - 1)\n"
            s += "#SBATCH --ntasks=1\n"
            s += "#SBATCH --time=\(timeMinutes)\n"
            s += "#SBATCH --output=\(layout.logDir(night: night))/slurm-\(type.rawValue)-%A_%a.log\n"
            if let partition { s += "#SBATCH --partition=\(partition)\n" }
            if let account { s += "#SBATCH --account=\(account)\n" }
            s += "# \(tasks.count) \(type.rawValue) task(s) of night \(night); written by desispec run night --slurm\n"
            s += "set -u\n"
            s += "tasks=(\n" + tasks.map { "  \($0.name)" }.joined(separator: "\n") + "\n)\n"
            s += "exec \(shellQuote(executable)) prod run-task --prod-root \(shellQuote(layout.prodRoot)) "
            s += "--raw-root \(shellQuote(layout.rawRoot)) \"${tasks[$SLURM_ARRAY_TASK_ID]}\"\n"
            jobs.append(Job(type: type, script: s, path: path, taskNames: tasks.map(\.name), after: after))
        }
        self.jobs = jobs
    }

    public func write() throws {
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        for job in jobs {
            try FileManager.default.createDirectory(atPath: (job.path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try job.script.write(toFile: job.path, atomically: true, encoding: .utf8)
        }
    }

    /// Submits every job with sbatch, chaining dependencies; returns the job id of each type.
    public func submit(sbatch: String = "sbatch") throws -> [TaskType: String] {
        var ids: [TaskType: String] = [:]
        for job in jobs {
            var args = ["--parsable"]
            let deps = job.after.compactMap { ids[$0] }
            if !deps.isEmpty { args.append("--dependency=afterok:" + deps.map { "\($0)" }.joined(separator: ":")) }
            args.append(job.path)
            let out = try runCommand(sbatch, args)
            let id = out.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
                throw PipelineError.invalid("sbatch did not return a job id for \(job.path): \(out)")
            }
            ids[job.type] = id
        }
        return ids
    }
}

func shellQuote(_ s: String) -> String {
    s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Runs a program found on PATH and returns its standard output; throws with its standard error on failure.
func runCommand(_ program: String, _ arguments: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [program] + arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw PipelineError.invalid("\(program) \(arguments.joined(separator: " ")) failed: \(String(decoding: e, as: UTF8.self))")
    }
    return String(decoding: o, as: UTF8.self)
}
