import FITS
import Foundation
import LinearAlgebra
import XCTest

/// FITSFile.mapRawImage / writeImage(raw:): an image passed through as its stored bytes gives the HDU that writing
/// its values gives (same data, same DATASUM, valid checksums), and images that cannot be passed as bytes are refused.
final class FITSRawImageTests: XCTestCase {
    func testRawCopyEqualsWritingTheValues() throws {
        let dir = makeTemporaryDirectory(self)
        let source = dir.appendingPathComponent("source.fits").path
        var g = SplitMix64(seed: 11)
        // a resolution-like [nspec, ndiag, nwave] float32 cube, any bit pattern but NaN (NaN payloads compare unequal)
        let shape = [7, 11, 301]
        let cube = (0..<shape.reduce(1, *)).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: g.next()) & 0x7f7f_ffff) }
        try FITSFile.writeAtomically(source, checksum: true) { f in
            try f.writeImage([Float](repeating: 1, count: 6), shape: [2, 3], name: "FLUX")
            try f.writeImage(cube, shape: shape, name: "RESOLUTION")
        }
        let input = try FITSFile.open(source)
        try input.moveTo(name: "RESOLUTION")
        let raw = try XCTUnwrap(try input.mapRawImage())
        XCTAssertEqual(raw.bitpix, -32)
        XCTAssertEqual(raw.shape, shape)
        XCTAssertEqual(raw.bytes.count, cube.count * 4)

        let byValues = dir.appendingPathComponent("values.fits").path, byBytes = dir.appendingPathComponent("bytes.fits").path
        try FITSFile.writeAtomically(byValues, checksum: true) { f in
            try f.writeImage([Float](repeating: 2, count: 6), shape: [2, 3], name: "FLUX")
            try f.writeImage(cube, shape: shape, name: "RESOLUTION")
            try f.writeTable(FITSTable(columns: [FITSColumn("A", .int32([1, 2, 3]))]), name: "AFTER")
        }
        try FITSFile.writeAtomically(byBytes, checksum: true) { f in
            try f.writeImage([Float](repeating: 2, count: 6), shape: [2, 3], name: "FLUX")
            try f.writeImage(raw: raw, name: "RESOLUTION")
            try f.writeTable(FITSTable(columns: [FITSColumn("A", .int32([1, 2, 3]))]), name: "AFTER")
        }
        let size = { (p: String) in (try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? -1 }
        XCTAssertEqual(try size(byBytes), try size(byValues))
        let a = try FITSFile.open(byValues), b = try FITSFile.open(byBytes)
        let ra = try a.readImage("RESOLUTION", as: Float.self), rb = try b.readImage("RESOLUTION", as: Float.self)
        XCTAssertEqual(rb.shape, shape)
        XCTAssertEqual(rb.data.map(\.bitPattern), cube.map(\.bitPattern))
        XCTAssertEqual(ra.header.string("DATASUM"), rb.header.string("DATASUM"))
        for i in 0..<b.hduCount {
            try b.moveTo(index: i)
            let s = try b.checksumState()
            XCTAssertEqual(s.data, .correct, "HDU \(i)")
            XCTAssertEqual(s.hdu, .correct, "HDU \(i)")
        }
        XCTAssertEqual(try b.readTable("AFTER").rowCount, 3)
    }

    func testImagesThatMustBeReadAsValuesAreRefused() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("other.fits").path
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage([UInt32](repeating: 7, count: 12), shape: [3, 4], name: "MASK")            // BZERO 2^31
            try f.writeImage([Int16](repeating: 3, count: 64 * 64), shape: [64, 64], name: "RICE", compression: .rice)
            try f.writeTable(FITSTable(columns: [FITSColumn("A", .int32([1]))]), name: "TABLE")
            try f.writeImage([Double](repeating: 0.5, count: 4), shape: [4], name: "PLAIN")
        }
        let f = try FITSFile.open(path)
        for name in ["MASK", "RICE", "TABLE"] {
            try f.moveTo(name: name)
            XCTAssertNil(try f.mapRawImage(), name)
        }
        try f.moveTo(name: "PLAIN")
        let plain = try XCTUnwrap(try f.mapRawImage())
        XCTAssertEqual(plain.bitpix, -64)
        // big-endian bytes of 0.5
        XCTAssertEqual(Array(plain.bytes.prefix(8)), [0x3f, 0xe0, 0, 0, 0, 0, 0, 0])
    }
}
