import FITS
import Foundation
import XCTest

final class DiffCommandTests: XCTestCase {
    func write(_ path: String, pixels: [Float], fibers: [Int32]) throws {
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(pixels, shape: [2, 3], name: "FLUX")
            try f.writeTable(FITSTable(columns: [FITSColumn("FIBER", .int32(fibers))]), name: "FIBERMAP")
        }
    }

    func testIdenticalFilesExitZeroAndDifferencesExitThreeWithTheLargestDifference() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let a = dir.appendingPathComponent("a.fits").path, b = dir.appendingPathComponent("b.fits").path
        try write(a, pixels: [1, 2, 3, 4, 5, 6], fibers: [0, 1])
        try write(b, pixels: [1, 2, 3, 4, 5.5, 6], fibers: [0, 1])
        let same = try CLIRunner.run(["diff", a, a])
        XCTAssertEqual(same.status, 0, same.stdout + same.stderr)
        let d = try CLIRunner.run(["diff", a, b])
        XCTAssertEqual(d.status, 3)
        XCTAssertTrue(d.stdout.contains("FLUX: DIFFERS max|diff| 0.5"), d.stdout)
        XCTAssertTrue(d.stdout.contains("FIBERMAP.FIBER: same"), d.stdout)
        let tolerant = try CLIRunner.run(["diff", a, b, "--rtol", "0.1"])
        XCTAssertEqual(tolerant.status, 0, tolerant.stdout)
    }
}
