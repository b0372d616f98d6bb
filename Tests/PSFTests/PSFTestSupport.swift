import Foundation
import LinearAlgebra
import XCTest

/// The shared DESI test files (env DESISPEC_TESTDATA, default ../shared/data from the package root).
func testDataPath(_ relative: String) throws -> String {
    let base = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data").standardized.path
    let path = (base as NSString).appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: path) else {
        throw XCTSkip("test data \(relative) not found under \(base) (set DESISPEC_TESTDATA)")
    }
    return path
}

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("psftests-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// Small seeded generator for test noise (SplitMix64 + Box-Muller), the one the other test targets use.
typealias TestRandom = SplitMix64
