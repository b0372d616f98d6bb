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
