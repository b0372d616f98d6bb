import Foundation
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

/// Small seeded generator for test noise (SplitMix64 + Box-Muller).
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
