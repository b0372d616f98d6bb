import FITS
import Foundation
import XCTest

/// HDU lookup, errors that name the file and the HDU, truncated files, atomic writes.
final class FITSErrorTests: XCTestCase {
    func writeTwoHDUs(_ path: String) throws {
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage([Float](repeating: 1, count: 6), shape: [2, 3], name: "FLUX")
            try f.writeImage([Double](repeating: 2, count: 3), shape: [3], name: "Wavelength")
        }
    }

    func testHDULookupIsCaseInsensitive() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("a.fits").path
        try writeTwoHDUs(path)
        let f = try FITSFile.open(path)
        XCTAssertEqual(f.hduNames(), ["FLUX", "Wavelength"])
        XCTAssertTrue(f.hasHDU("wavelength"))
        XCTAssertEqual(f.hduIndex(named: "WAVELENGTH"), 1)
        try f.moveTo(name: "wavelength")
        XCTAssertEqual(f.currentHDUIndex, 1)
        XCTAssertEqual(try f.readImage(as: Double.self).data, [2, 2, 2])
        try f.moveTo(name: "flux")
        XCTAssertEqual(f.currentHDUIndex, 0)
    }

    func testMissingHDUNamesTheHDUAndTheFile() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("a.fits").path
        try writeTwoHDUs(path)
        let f = try FITSFile.open(path)
        XCTAssertThrowsError(try f.moveTo(name: "IVAR")) { e in
            guard let fe = e as? FITSError else { return XCTFail("not a FITSError: \(e)") }
            XCTAssertEqual(fe.path, path)
            XCTAssertEqual(fe.hdu, "IVAR")
            let named = fe.description.contains(path) && fe.description.contains("IVAR") && fe.description.contains("FLUX")
            XCTAssertTrue(named, fe.description)
        }
        XCTAssertThrowsError(try f.moveTo(index: 5)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("5"), "\(e)")
        }
    }

    func testMissingFileAndNonFITSFile() throws {
        let dir = makeTemporaryDirectory(self)
        let missing = dir.appendingPathComponent("nope.fits").path
        XCTAssertThrowsError(try FITSFile.open(missing)) { e in
            XCTAssertTrue("\(e)".contains(missing) && "\(e)".contains("no such file"), "\(e)")
        }
        let text = dir.appendingPathComponent("text.fits").path
        try "hello, not FITS".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FITSFile.open(text)) { e in XCTAssertTrue("\(e)".contains(text), "\(e)") }
    }

    func testTruncatedFileGivesAClearError() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("full.fits").path
        let n = 100 * 100
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage((0..<n).map { Float($0) }, shape: [100, 100], name: "IMAGE")
            try f.writeImage((0..<n).map { Float($0) }, shape: [100, 100], name: "IVAR")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = dir.appendingPathComponent("cut.fits").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        // Half the file: the IMAGE HDU is complete-ish, IVAR is gone. Reading must throw, naming the file.
        var threw = false
        do {
            let f = try FITSFile.open(cut)
            _ = try f.readImage("IMAGE", as: Float.self)
            _ = try f.readImage("IVAR", as: Float.self)
        } catch {
            threw = true
            XCTAssertTrue("\(error)".contains(cut), "\(error)")
        }
        XCTAssertTrue(threw, "reading a file cut in half must fail")
        // Cut inside the first HDU's data: the image read itself fails.
        let cut2 = dir.appendingPathComponent("cut2.fits").path
        try bytes.prefix(2880 + 4 * n / 2).write(to: URL(fileURLWithPath: cut2))
        XCTAssertThrowsError(try { let f = try FITSFile.open(cut2); _ = try f.readImage("IMAGE", as: Float.self) }()) { e in
            XCTAssertTrue("\(e)".contains(cut2), "\(e)")
        }
    }

    func testWriteAtomicallyLeavesNothingWhenTheBodyThrows() throws {
        struct Boom: Error {}
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("out.fits").path
        XCTAssertThrowsError(try FITSFile.writeAtomically(path) { f in
            try f.writeImage([Float](repeating: 1, count: 4), shape: [2, 2], name: "IMAGE")
            throw Boom()
        }) { e in XCTAssertTrue(e is Boom) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "no output and no temporary file")
        // An existing file is kept intact when a rewrite fails.
        try FITSFile.writeAtomically(path) { f in try f.writeImage([Float](repeating: 7, count: 4), shape: [2, 2], name: "IMAGE") }
        XCTAssertThrowsError(try FITSFile.writeAtomically(path) { _ in throw Boom() })
        XCTAssertEqual(try FITSFile.open(path).readImage("IMAGE", as: Float.self).data, [7, 7, 7, 7])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.fits"])
    }

    /// An atomic write in steps: nothing at the path until commit, an existing file replaced in one step, a write
    /// abandoned (or released unfinished) leaves neither output nor temporary file.
    func testAtomicWriteAppearsOnlyWhenCommitted() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("steps.fits").path
        try FITSFile.writeAtomically(path) { f in try f.writeImage([Float](repeating: 7, count: 4), shape: [2, 2], name: "OLD") }
        let write = try AtomicFITSWrite(path)
        try write.file.writeImage([Float](repeating: 1, count: 4), shape: [2, 2], name: "IMAGE")
        XCTAssertTrue(try FITSFile.open(path).hasHDU("OLD"), "the old file is untouched before the commit")
        try write.file.writeImage([Int32](repeating: 2, count: 4), shape: [2, 2], name: "SECOND")
        try write.commit(checksum: true)
        let f = try FITSFile.open(path)
        XCTAssertFalse(f.hasHDU("OLD"))
        XCTAssertEqual(try f.readImage("SECOND", as: Int32.self).data, [2, 2, 2, 2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["steps.fits"])

        let other = dir.appendingPathComponent("abandoned.fits").path
        let abandoned = try AtomicFITSWrite(other)
        try abandoned.file.writeImage([Float](repeating: 1, count: 4), shape: [2, 2], name: "IMAGE")
        abandoned.abandon()
        do {
            let released = try AtomicFITSWrite(other)
            try released.file.writeImage([Float](repeating: 1, count: 4), shape: [2, 2], name: "IMAGE")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["steps.fits"])

        // a folder that cannot be made: the error names the output and says why
        let blocked = dir.appendingPathComponent("steps.fits/sub/out.fits").path
        XCTAssertThrowsError(try FITSFile.writeAtomically(blocked) { _ in }) { e in
            XCTAssertTrue("\(e)".hasPrefix(blocked), "\(e)")
            XCTAssertTrue("\(e)".contains("steps.fits is a file, not a folder"), "\(e)")
        }
    }
}
