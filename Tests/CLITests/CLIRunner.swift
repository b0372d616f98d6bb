import Foundation
import XCTest

/// Runs the built `desispec` executable (next to the test bundle in the build folder) and captures its output.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CLIRunner {
    /// The binary under test: $DESISPEC_BIN, else the `desispec` built beside the test bundle.
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["DESISPEC_BIN"] { return URL(fileURLWithPath: path) }
        let bundle = Bundle(for: BundleLocator.self).bundleURL
        // Linux: the bundle URL is the build folder itself; macOS: .../desispecPackageTests.xctest
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("desispec") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil,
                    executable chosen: URL? = nil) throws -> CLIResult {
        let exe = chosen ?? executable
        guard FileManager.default.isExecutableFile(atPath: exe.path) else {
            throw XCTSkip("desispec binary not built at \(exe.path); run `swift build` first")
        }
        let p = Process()
        p.executableURL = exe
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let directory { p.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read before waiting so a large output cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                         stderr: String(decoding: e, as: UTF8.self))
    }

    /// The optimised build in $DESISPEC_RELEASE_BIN (scripts/test.sh sets it), for tests that reduce full frames;
    /// nil without it.
    static var releaseExecutable: URL? {
        guard let path = ProcessInfo.processInfo.environment["DESISPEC_RELEASE_BIN"],
              FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return URL(fileURLWithPath: path)
    }

    /// `releaseExecutable`, or the test is skipped saying what it needs the build for.
    static func requireReleaseExecutable(for purpose: String) throws -> URL {
        guard let exe = releaseExecutable else {
            throw XCTSkip("set DESISPEC_RELEASE_BIN to a release build of desispec (\(purpose)); scripts/test.sh does")
        }
        return exe
    }

    /// One step of a chain run quietly with `executable`: a failure fails the test with its standard error and ends it.
    static func runStep(_ arguments: [String], executable: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(arguments + ["-q"], executable: executable)
        XCTAssertEqual(r.status, 0, "\(arguments.prefix(1)): \(r.stderr)", file: file, line: line)
        if r.status != 0 { throw XCTSkip("step failed") }
    }

    /// A fresh temporary folder, removed by the caller's addTeardownBlock.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Files left in a folder (to check that a failed step wrote nothing, not even a temporary file).
    static func files(in url: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
    }
}

private final class BundleLocator {}
