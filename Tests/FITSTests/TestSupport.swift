import FITS
import Foundation
import XCTest

/// A fresh temporary folder for one test, removed at teardown.
func makeTemporaryDirectory(_ test: XCTestCase, _ label: String = "fits") -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// Folder of the real DESI files (env DESISPEC_TESTDATA, default ../shared/data next to the package root).
func testDataDirectory() -> String {
    if let dir = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"], !dir.isEmpty { return dir }
    // This file is Tests/FITSTests/TestSupport.swift: the package root is two levels up.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent("../shared/data").standardized.path
}

/// Path of a real data file, or XCTSkip when the shared data are not there.
func requireTestData(_ relative: String) throws -> String {
    let path = (testDataDirectory() as NSString).appendingPathComponent(relative)
    guard FileManager.default.fileExists(atPath: path) else {
        throw XCTSkip("real DESI test file \(path) not found: set DESISPEC_TESTDATA to the shared data folder")
    }
    return path
}
