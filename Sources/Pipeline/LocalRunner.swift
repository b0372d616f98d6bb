import Foundation
import Synchronization

/// The outcome of running a task graph.
public struct RunSummary: Sendable, Codable {
    public var done: [String] = []
    /// Tasks that were already done and were not run again.
    public var skipped: [String] = []
    public var failed: [String] = []
    /// Tasks not run because a dependency failed.
    public var blocked: [String] = []

    /// 0: everything done; 2: some task failed or could not run (see Docs/exit-codes.md).
    public var exitCode: Int32 { failed.isEmpty && blocked.isEmpty ? 0 : 2 }
}

/// Runs the tasks of a graph on this machine: each task is one `desispec` subprocess with its output in its own
/// log file; independent tasks run in parallel; state goes to the production database as it changes.
///
/// A task counts as done when all its outputs exist: every step writes through a temporary file and a rename, so an
/// output that exists is complete. That makes a run that was killed safe to start again: it redoes only what has no
/// output yet.
public final class LocalRunner {
    public let executable: URL
    public let layout: ProductionLayout
    public let database: StateDatabase
    public let maxParallel: Int
    public var progress: (String) -> Void = { _ in }

    public init(executable: URL, layout: ProductionLayout, database: StateDatabase, maxParallel: Int) {
        self.executable = executable; self.layout = layout; self.database = database
        self.maxParallel = max(1, maxParallel)
    }

    static func outputsExist(_ task: PipelineTask) -> Bool {
        task.outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    /// Tasks whose outputs are missing, in dependency order (what a run would do).
    public func pending(_ graph: TaskGraph) -> [PipelineTask] {
        graph.tasks.filter { !Self.outputsExist($0) }
    }

    public func run(_ graph: TaskGraph) throws -> RunSummary {
        try database.insert(graph.tasks, logPath: layout.log(for:))
        var summary = RunSummary()
        var state: [String: TaskState] = [:]
        let byName = Dictionary(uniqueKeysWithValues: graph.tasks.map { ($0.name, $0) })
        for t in graph.tasks {
            if Self.outputsExist(t) {
                state[t.name] = .done
                summary.skipped.append(t.name)
                try database.setState(t.name, .done)
            } else {
                state[t.name] = .waiting
                try database.setState(t.name, .waiting)
            }
        }

        let completions = CompletionQueue()
        var running: [String: Process] = [:]

        func isReady(_ t: PipelineTask) -> Bool {
            state[t.name] == .waiting && t.dependencies.allSatisfy { state[$0] == .done || byName[$0] == nil }
        }
        func isBlocked(_ t: PipelineTask) -> Bool {
            t.dependencies.contains { state[$0] == .failed || state[$0] == .some(.waiting) && blockedSet.contains($0) }
        }
        var blockedSet = Set<String>()

        while true {
            // Mark tasks that can never run because a dependency failed.
            var changed = true
            while changed {
                changed = false
                for t in graph.tasks where state[t.name] == .waiting && !blockedSet.contains(t.name) && isBlocked(t) {
                    blockedSet.insert(t.name)
                    changed = true
                    let culprit = t.dependencies.first { state[$0] == .failed || blockedSet.contains($0) } ?? "?"
                    try database.setState(t.name, .waiting, message: "not run: dependency \(culprit) did not complete")
                }
            }
            // Launch what is ready.
            for t in graph.tasks where running.count < maxParallel && isReady(t) && !blockedSet.contains(t.name) {
                state[t.name] = .running
                try database.setState(t.name, .running)
                let name = t.name
                let process = try launch(t) { status in completions.push(name, status) }
                running[t.name] = process
                progress("start  \(t.name)")
            }
            if running.isEmpty { break }
            for (name, status) in completions.waitForSome() {
                running[name] = nil
                let task = byName[name]!
                if status == 0 && Self.outputsExist(task) {
                    state[name] = .done
                    summary.done.append(name)
                    try database.setState(name, .done)
                    progress("done   \(name)")
                } else {
                    state[name] = .failed
                    summary.failed.append(name)
                    let why = status == 0 ? "exit 0 but outputs missing" : "exit code \(status)"
                    try database.setState(name, .failed, message: why)
                    progress("FAILED \(name) (\(why); log: \(layout.log(for: task)))")
                }
            }
        }
        summary.blocked = graph.tasks.filter { blockedSet.contains($0.name) }.map(\.name)
        return summary
    }

    fileprivate func launch(_ task: PipelineTask, onExit: @escaping @Sendable (Int32) -> Void) throws -> Process {
        let fm = FileManager.default
        for out in task.outputs {
            let dir = (out as NSString).deletingLastPathComponent
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // Temporary files of a run that was killed before its rename.
            let base = (out as NSString).lastPathComponent
            for f in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where f.hasPrefix(".tmp-") && f.hasSuffix(base) {
                try? fm.removeItem(atPath: "\(dir)/\(f)")
            }
        }
        let logPath = layout.log(for: task)
        try fm.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = fm.createFile(atPath: logPath, contents: Data("# \(task.commandLine)\n".utf8))
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let p = Process()
        p.executableURL = executable
        p.arguments = task.arguments
        p.standardOutput = log
        p.standardError = log
        p.terminationHandler = { proc in
            try? log.close()
            onExit(proc.terminationStatus)
        }
        try p.run()
        return p
    }
}

/// Exit statuses of finished subprocesses, handed from their termination handlers to the scheduling loop: a list
/// under a mutex and a semaphore counting the statuses not yet taken (one signal per push).
private final class CompletionQueue: Sendable {
    private let items = Mutex<[(String, Int32)]>([])
    private let signal = DispatchSemaphore(value: 0)

    func push(_ name: String, _ status: Int32) {
        items.withLock { $0.append((name, status)) }
        signal.signal()
    }

    /// Blocks until at least one process finished; returns all that did.
    func waitForSome() -> [(String, Int32)] {
        signal.wait()
        let batch = items.withLock { taken in
            defer { taken.removeAll() }
            return taken
        }
        // Consume the extra signals of the items taken in this batch.
        for _ in 1..<max(1, batch.count) { signal.wait() }
        return batch
    }
}

extension LocalRunner {
    /// Runs one task (as a Slurm array job does), recording its state; returns its exit status.
    public func runSingle(_ task: PipelineTask) throws -> Int32 {
        try database.insert([task], logPath: layout.log(for:))
        try database.setState(task.name, .running)
        let completions = CompletionQueue()
        let name = task.name
        _ = try launch(task) { status in completions.push(name, status) }
        let status = completions.waitForSome().first?.1 ?? 1
        if status == 0 && Self.outputsExist(task) {
            try database.setState(task.name, .done)
            return 0
        }
        try database.setState(task.name, .failed, message: status == 0 ? "exit 0 but outputs missing" : "exit code \(status)")
        return status == 0 ? 1 : status
    }
}
