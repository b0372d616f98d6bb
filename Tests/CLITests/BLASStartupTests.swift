import Foundation
import XCTest

/// The executable runs OpenBLAS on one thread from its start (BLASThreads.startSingleThreaded): with a threaded
/// OpenBLAS (Debian's default) the workers it started as it loaded are stopped at once, so no idle BLAS worker spins
/// beside the step, and the process is not started a second time; a value the user set is kept. Observed on a running
/// process: `desispec info` on a FIFO waits for a writer, and meanwhile /proc/PID/environ holds the environment of its
/// last exec, /proc/PID/task its threads, /proc/PID/maps its libraries.
final class BLASStartupTests: XCTestCase {
    static let threadedOpenBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"

    func testWithoutTheVariableTheProcessRunsWithOneBLASThread() throws {
        let seen = try observe(openblasThreads: nil)
        XCTAssertEqual(seen.threads, 1, "threads of a process waiting on its input: no BLAS workers")
        // not started again: the environment of its exec is the one it was given, and it keeps its name in ps and top
        XCTAssertNil(seen.value)
        XCTAssertEqual(seen.name, seen.expectedName)
    }

    func testTheWorkersOfAThreadedOpenBLASAreStopped() throws {
        guard FileManager.default.fileExists(atPath: Self.threadedOpenBLAS) else { throw XCTSkip("no threaded OpenBLAS") }
        let seen = try observe(openblasThreads: nil, preload: Self.threadedOpenBLAS)
        XCTAssertTrue(seen.threadedBLAS)
        XCTAssertEqual(seen.threads, 1, "threads of a process waiting on its input: the BLAS workers stopped")
        XCTAssertNil(seen.value, "stopped in place, not by a second start with OPENBLAS_NUM_THREADS=1")
    }

    func testAValueTheUserSetIsKept() throws {
        let seen = try observe(openblasThreads: "2", preload: Self.threadedOpenBLAS)
        XCTAssertEqual(seen.value, "2")
    }

    /// Starts `desispec info FIFO` (with `preload` in LD_PRELOAD where that file exists), waits (up to 20 s) until it
    /// sleeps in the FIFO's open, reads its OPENBLAS_NUM_THREADS, thread count and whether a threaded OpenBLAS is
    /// mapped, then lets it finish.
    private func observe(openblasThreads: String?, preload: String? = nil)
        throws -> (value: String?, threads: Int, threadedBLAS: Bool, name: String, expectedName: String) {
        #if !os(Linux)
        throw XCTSkip("/proc is Linux's")
        #else
        let exe = CLIRunner.executable
        guard FileManager.default.isExecutableFile(atPath: exe.path) else { throw XCTSkip("desispec not built") }
        let dir = try CLIRunner.temporaryDirectory(self)
        let fifo = dir.appendingPathComponent("input.fits").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let p = Process()
        p.executableURL = exe
        p.arguments = ["info", fifo]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = openblasThreads
        if let lib = preload, FileManager.default.fileExists(atPath: lib) { env["LD_PRELOAD"] = lib }
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer {
            // the process sleeps in open(2) until a writer comes: end it
            p.terminate()
            p.waitUntilExit()
        }
        let proc = "/proc/\(p.processIdentifier)"
        // OPENBLAS_NUM_THREADS of its last exec, whether OpenBLAS is mapped yet, and whether that is a threaded build
        // (FileHandle reads to the end: Data(contentsOf:) stops after the first 4 KB of a /proc file, whose size is 0)
        func read() -> (value: String?, loaded: Bool, threaded: Bool) {
            let environ = FileHandle(forReadingAtPath: "\(proc)/environ")?.readDataToEndOfFile() ?? Data()
            let entries = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let value = entries.first { $0.hasPrefix("OPENBLAS_NUM_THREADS=") }.map { String($0.dropFirst(21)) }
            let maps = String(decoding: FileHandle(forReadingAtPath: "\(proc)/maps")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
            return (value, maps.contains("openblas"), maps.contains("openblas-pthread") || maps.contains("libopenblasp"))
        }
        var waited = 0.0
        while waited < 20 {
            // the FIFO open blocks in the kernel: the process is asleep once the exec chain is done
            let stat = (try? String(contentsOfFile: "\(proc)/stat", encoding: .utf8)) ?? ""
            let now = read()
            let asleep = stat.split(separator: ")").last?.split(separator: " ").first == "S"
            if asleep && now.loaded { break }
            Thread.sleep(forTimeInterval: 0.05)
            waited += 0.05
        }
        Thread.sleep(forTimeInterval: 0.2)   // settle: any thread the libraries start is there by now
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/task").count) ?? 0
        let (value, _, threadedBLAS) = read()
        let name = String(decoding: FileHandle(forReadingAtPath: "\(proc)/comm")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        return (value, threads, threadedBLAS, name.trimmingCharacters(in: .whitespacesAndNewlines),
                String(exe.resolvingSymlinksInPath().lastPathComponent.prefix(15)))
        #endif
    }
}
