import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
/// Cores: every task runs with DESISPEC_NCPU threads (the default thread count of every step), and the threads of
/// the running tasks together never exceed the cores: a task is started only when a core is free, with the free
/// cores shared among the tasks ready to start (one task alone gets them all). Results do not depend on the thread
/// count, so the sharing changes only the speed. Each finished task's wall time, CPU time and peak resident memory
/// (wait4's rusage of the subprocess) end its log, go to the state database's message and to `resources`.
///
/// A task counts as done when all its outputs exist: every step writes through a temporary file and a rename, so an
/// output that exists is complete. That makes a run that was killed safe to start again: it redoes only what has no
/// output yet.
public final class LocalRunner {
    public let executable: URL
    public let layout: ProductionLayout
    public let database: StateDatabase
    public let maxParallel: Int
    /// Cores shared by the running tasks.
    public let cores: Int
    public var progress: (String) -> Void = { _ in }
    /// Called after each task ends with the number of tasks finished (done, failed) and the number to run.
    public var onTaskEnd: (_ finished: Int, _ total: Int) -> Void = { _, _ in }
    /// What each task run by this runner used, by task name.
    public private(set) var resources: [String: TaskResources] = [:]

    public init(executable: URL, layout: ProductionLayout, database: StateDatabase, maxParallel: Int,
                cores: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.executable = executable; self.layout = layout; self.database = database
        self.maxParallel = max(1, maxParallel)
        self.cores = max(1, cores)
    }

    /// Threads for the next task started when `busy` threads are running and `ready` tasks (at least 1) could
    /// start: the free cores shared among them, at least 1; 0 when no core is free and something is running.
    static func threadsForNextTask(cores: Int, busy: Int, ready: Int, running: Int) -> Int {
        let free = cores - busy
        if free < 1 { return running == 0 ? 1 : 0 }
        return max(1, free / max(1, ready))
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
        var running: [String: Int] = [:]   // task name: its threads
        let total = graph.tasks.count - summary.skipped.count
        var finished = 0

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
            // Launch what is ready, while a core is free.
            var ready = graph.tasks.filter { isReady($0) && !blockedSet.contains($0.name) }
            while running.count < maxParallel, let t = ready.first {
                let threads = Self.threadsForNextTask(cores: cores, busy: running.values.reduce(0, +),
                                                      ready: min(ready.count, maxParallel - running.count), running: running.count)
                if threads == 0 { break }
                ready.removeFirst()
                state[t.name] = .running
                try database.setState(t.name, .running)
                let name = t.name
                try launch(t, threads: threads) { status, used in completions.push(name, status, used) }
                running[t.name] = threads
                progress("start  \(t.name)")
            }
            if running.isEmpty { break }
            for (name, status, used) in completions.waitForSome() {
                running[name] = nil
                finished += 1
                let task = byName[name]!
                resources[name] = used
                if status == 0 && Self.outputsExist(task) {
                    state[name] = .done
                    summary.done.append(name)
                    try database.setState(name, .done, message: used.summary)
                    progress("done   \(name)  (\(used.summary))")
                } else {
                    state[name] = .failed
                    summary.failed.append(name)
                    let why = status == 0 ? "exit 0 but outputs missing" : "exit code \(status)"
                    try database.setState(name, .failed, message: why)
                    progress("FAILED \(name) (\(why); log: \(layout.log(for: task)))")
                }
                onTaskEnd(finished, total)
            }
        }
        summary.blocked = graph.tasks.filter { blockedSet.contains($0.name) }.map(\.name)
        return summary
    }

    /// Starts `task` as a subprocess with `threads` threads (DESISPEC_NCPU), its standard output and error appended
    /// to its log; `onExit` gets its exit status (128 + signal when killed) and what it used, from a thread that
    /// waits for it (wait4).
    fileprivate func launch(_ task: PipelineTask, threads: Int,
                            onExit: @escaping @Sendable (Int32, TaskResources) -> Void) throws {
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
        var environment = ProcessInfo.processInfo.environment
        environment["DESISPEC_NCPU"] = String(threads)
        let start = Date()
        let pid = try spawnLogged(executable.path, arguments: task.arguments, environment: environment, log: logPath)
        Thread.detachNewThread {
            var status: Int32 = 0
            var usage = rusage()
            while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
            let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
            // ru_maxrss is in kilobytes on Linux, in bytes on macOS. On Linux it also holds the launching process's
            // peak resident memory (carried across fork and exec): a floor of the runner's own size, small for
            // `desispec run`, which holds no data.
            #if os(Linux)
            let peak = Int(usage.ru_maxrss) * 1024
            #else
            let peak = Int(usage.ru_maxrss)
            #endif
            let used = TaskResources(threads: threads, wallSeconds: Date().timeIntervalSince(start),
                                     userSeconds: seconds(usage.ru_utime), systemSeconds: seconds(usage.ru_stime),
                                     peakMemoryBytes: peak)
            if let h = FileHandle(forWritingAtPath: logPath) {
                h.seekToEndOfFile()
                h.write(Data("# resources: \(used.summary)\n".utf8))
                try? h.close()
            }
            onExit(exitStatus, used)
        }
    }
}

/// What one task's subprocess used (wait4's rusage, and the wall time seen by the runner).
public struct TaskResources: Sendable, Codable, Equatable {
    public var threads: Int
    public var wallSeconds: Double
    public var userSeconds: Double
    public var systemSeconds: Double
    /// Peak resident memory (ru_maxrss).
    public var peakMemoryBytes: Int
    public var cpuSeconds: Double { userSeconds + systemSeconds }
    /// "threads 2, wall 12.34 s, cpu 20.10 s, peak memory 812.3 MB" (the line ending each task log).
    public var summary: String {
        String(format: "threads %d, wall %.2f s, cpu %.2f s, peak memory %.1f MB", threads, wallSeconds, cpuSeconds,
               Double(peakMemoryBytes) / 1e6)
    }
}

/// Starts `path` with `arguments` and `environment`, standard input from /dev/null, standard output and error
/// appended to the file `log`; returns its process id.
private func spawnLogged(_ path: String, arguments: [String], environment: [String: String], log: String) throws -> pid_t {
    #if canImport(Darwin)
    var actions: posix_spawn_file_actions_t? = nil
    #else
    var actions = posix_spawn_file_actions_t()
    #endif
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in argv + envp { free(p) } }
    var pid = pid_t()
    let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
    guard rc == 0 else {
        throw PipelineError.invalid("cannot start \(path): \(String(cString: strerror(rc)))")
    }
    return pid
}

/// Exit statuses of finished subprocesses, handed from their termination handlers to the scheduling loop: a list
/// under a mutex and a semaphore counting the statuses not yet taken (one signal per push).
private final class CompletionQueue: Sendable {
    private let items = Mutex<[(String, Int32, TaskResources)]>([])
    private let signal = DispatchSemaphore(value: 0)

    func push(_ name: String, _ status: Int32, _ used: TaskResources) {
        items.withLock { $0.append((name, status, used)) }
        signal.signal()
    }

    /// Blocks until at least one process finished; returns all that did.
    func waitForSome() -> [(String, Int32, TaskResources)] {
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
        try launch(task, threads: cores) { status, used in completions.push(name, status, used) }
        let result = completions.waitForSome().first
        let status = result?.1 ?? 1
        if status == 0 && Self.outputsExist(task) {
            try database.setState(task.name, .done, message: result?.2.summary ?? "")
            return 0
        }
        try database.setState(task.name, .failed, message: status == 0 ? "exit 0 but outputs missing" : "exit code \(status)")
        return status == 0 ? 1 : status
    }
}
