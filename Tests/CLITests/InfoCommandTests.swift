import FITS
import Foundation
import XCTest

final class InfoCommandTests: XCTestCase {
    func testHelpListsSubcommands() throws {
        let r = try CLIRunner.run(["--help"])
        XCTAssertEqual(r.status, 0)
        for name in ["info"] {
            XCTAssertTrue(r.stdout.contains(name), "--help should list \(name)")
        }
    }

    func testInfoDescribesEveryHDU() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let path = dir.appendingPathComponent("sample.fits").path
        try FITSFile.writeAtomically(path) { f in
            var h = FITSHeader()
            h.set("CAMERA", "r0", comment: "camera")
            try f.writeImage([Float](repeating: 1.5, count: 12), shape: [3, 4], name: "IMAGE", header: h)
            try f.writeTable(FITSTable(columns: [FITSColumn("FIBER", .int32([0, 1, 2])),
                                                 FITSColumn("FLUX", .float([Float](repeating: 0, count: 6)), cellShape: [2])]),
                             name: "FIBERMAP")
        }
        let r = try CLIRunner.run(["info", path, "--header", "IMAGE"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].contains("IMAGE") && lines[0].contains("image 3x4") && lines[0].contains("BITPIX=-32"), lines[0])
        XCTAssertTrue(lines[1].contains("FIBERMAP") && lines[1].contains("3 rows") && lines[1].contains("FLUX[2]"), lines[1])
        XCTAssertTrue(r.stdout.contains("CAMERA   = 'r0' / camera"), r.stdout)
    }

    func testMissingFileIsOneLineErrorAndExitOne() throws {
        let r = try CLIRunner.run(["info", "/nonexistent/file.fits"])
        XCTAssertEqual(r.status, 1)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("/nonexistent/file.fits") && r.stderr.contains("no such file"), r.stderr)
    }

    func testNotAFITSFileIsAClearError() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let path = dir.appendingPathComponent("junk.fits")
        try Data("this is not FITS".utf8).write(to: path)
        let r = try CLIRunner.run(["info", path.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: \(path.path)"), r.stderr)
    }

    func testUnknownHDUIsNamedInTheError() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let path = dir.appendingPathComponent("one.fits").path
        try FITSFile.writeAtomically(path) { f in try f.writeImage([Int16](repeating: 3, count: 4), shape: [2, 2], name: "IMAGE") }
        let r = try CLIRunner.run(["info", path, "--header", "NOPE"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("NOPE") && r.stderr.contains("IMAGE"), r.stderr)
    }
}
