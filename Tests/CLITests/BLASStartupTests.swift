import Foundation
import XCTest

/// The executable makes OpenBLAS single-threaded from its start (BLASThreads.startSingleThreaded): without
/// OPENBLAS_NUM_THREADS it starts itself again with OPENBLAS_NUM_THREADS=1, so no idle BLAS worker spins beside the
/// step; a value the user set is kept. Observed on a running process: `desispec info` on a FIFO waits for a writer,
/// and meanwhile /proc/PID/environ holds the environment of its last exec and /proc/PID/task its threads.
final class BLASStartupTests: XCTestCase {
    func testWithoutTheVariableTheProcessRunsWithOneBLASThread() throws {
        let seen = try environmentAndThreads(openblasThreads: nil)
        XCTAssertEqual(seen.value, "1", "OPENBLAS_NUM_THREADS of the running process")
        XCTAssertEqual(seen.threads, 1, "threads of a process waiting on its input: no BLAS workers")
    }

    func testAValueTheUserSetIsKept() throws {
        let seen = try environmentAndThreads(openblasThreads: "2")
        XCTAssertEqual(seen.value, "2")
    }

    /// Starts `desispec info FIFO`, waits (up to 20 s) until it has exec'd for the last time, reads its
    /// OPENBLAS_NUM_THREADS and thread count, then lets it finish.
    private func environmentAndThreads(openblasThreads: String?) throws -> (value: String?, threads: Int) {
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
        var value: String?
        var waited = 0.0
        while waited < 20 {
            // the FIFO open blocks in the kernel: the process is asleep once the exec chain is done
            let stat = (try? String(contentsOfFile: "\(proc)/stat", encoding: .utf8)) ?? ""
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "\(proc)/environ"))) ?? Data()
            let entries = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            value = entries.first { $0.hasPrefix("OPENBLAS_NUM_THREADS=") }.map { String($0.dropFirst(21)) }
            let asleep = stat.split(separator: ")").last?.split(separator: " ").first == "S"
            if asleep && (openblasThreads != nil || value != nil) { break }
            Thread.sleep(forTimeInterval: 0.05)
            waited += 0.05
        }
        Thread.sleep(forTimeInterval: 0.2)   // settle: any thread the libraries start is there by now
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/task").count) ?? 0
        return (value, threads)
        #endif
    }
}
