import FITS
import Foundation
import LinearAlgebra
import XCTest

/// FITSFile.mapImage / writeImage(mapped:): an image passed through as its stored bytes gives the HDU that writing
/// its values gives (same data, same DATASUM, valid checksums), and images that cannot be passed as bytes are refused.
final class FITSMappedImageTests: XCTestCase {
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
        let raw = try XCTUnwrap(try input.mapImage())
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
            try f.writeImage(mapped: raw, name: "RESOLUTION")
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
            XCTAssertNil(try f.mapImage(), name)
        }
        try f.moveTo(name: "PLAIN")
        let plain = try XCTUnwrap(try f.mapImage())
        XCTAssertEqual(plain.bitpix, -64)
        // big-endian bytes of 0.5
        XCTAssertEqual(Array(plain.bytes.prefix(8)), [0x3f, 0xe0, 0, 0, 0, 0, 0, 0])
    }

    /// Unsigned 16-bit data (BITPIX 16, BZERO 32768, as raw DESI images and masks are stored) map as stored bytes and
    /// pass through with their BZERO: reading the copy gives the same values and DATASUM as writing the values.
    func testUnsigned16BitImagesMapAndPassThrough() throws {
        let dir = makeTemporaryDirectory(self)
        let source = dir.appendingPathComponent("u16.fits").path, copy = dir.appendingPathComponent("copy.fits").path
        let values = (0..<(9 * 13)).map { UInt16(truncatingIfNeeded: $0 * 4099 + 7) }
        try FITSFile.writeAtomically(source, checksum: true) { f in try f.writeImage(values, shape: [9, 13], name: "U16") }
        let input = try FITSFile.open(source)
        try input.moveTo(name: "U16")
        let mapped = try XCTUnwrap(try input.mapImage())
        XCTAssertEqual(mapped.bitpix, 16)
        XCTAssertEqual(mapped.bzero, 32768)
        XCTAssertEqual(mapped.shape, [9, 13])
        // stored as value - 32768 in big-endian int16
        let first = Int(mapped.bytes[0]) << 8 | Int(mapped.bytes[1])
        XCTAssertEqual(UInt16(first) ^ 0x8000, values[0])
        try FITSFile.writeAtomically(copy, checksum: true) { f in try f.writeImage(mapped: mapped, name: "U16") }
        let a = try FITSFile.open(source).readImage("U16", as: UInt16.self)
        let b = try FITSFile.open(copy).readImage("U16", as: UInt16.self)
        XCTAssertEqual(b.data, values)
        XCTAssertEqual(b.header.string("DATASUM"), a.header.string("DATASUM"))
        let checked = try FITSFile.open(copy)
        try checked.moveTo(name: "U16")
        XCTAssertEqual(try checked.checksumState().data, .correct)
        XCTAssertEqual(try checked.checksumState().hdu, .correct)
        // the same HDU (the primary) through the convenience opener, and the copy's mapped as the source's
        XCTAssertEqual(try FITSMappedImage.map(path: source, index: 0)?.bzero, 32768)
        let copied = try XCTUnwrap(try FITSMappedImage.map(path: copy, index: 0))
        XCTAssertEqual(copied.bzero, 32768)
        XCTAssertEqual(Array(copied.bytes), Array(mapped.bytes))
    }

    /// `readImage` byte-swaps a plain file's data straight from the mapping where the requested type is the stored
    /// one (or float32 data read as Double): the values equal cfitsio's own reading (`readImageRows`) bit for bit, for
    /// every stored type, and for a requested type that is not the stored one (converted by cfitsio) and a gzipped
    /// file (read through cfitsio).
    func testReadingThroughTheMappingEqualsCfitsio() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("types.fits").path
        let ny = 37, nx = 29, n = ny * nx
        var g = SplitMix64(seed: 5)
        var f32 = (0..<n).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: g.next()) & 0x7f7f_ffff) }
        // and the special values (compared as bytes below): NaN, -0, infinities, a subnormal, the lowest finite value
        for (i, v) in [Float.nan, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude].enumerated() {
            f32[i * 7] = v
        }
        let f64 = (0..<n).map { _ in Double(bitPattern: g.next() & 0x7fef_ffff_ffff_ffff) }
        let i16 = (0..<n).map { _ in Int16(truncatingIfNeeded: g.next()) }
        let i32 = (0..<n).map { _ in Int32(truncatingIfNeeded: g.next()) }
        let i64 = (0..<n).map { _ in Int64(bitPattern: g.next()) }
        let u8 = (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(f32, shape: [ny, nx], name: "F32")
            try f.writeImage(f64, shape: [ny, nx], name: "F64")
            try f.writeImage(i16, shape: [ny, nx], name: "I16")
            try f.writeImage(i32, shape: [ny, nx], name: "I32")
            try f.writeImage(i64, shape: [ny, nx], name: "I64")
            try f.writeImage(u8, shape: [ny, nx], name: "U8")
        }
        let gz = dir.appendingPathComponent("types.fits.gz").path
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(path)' > '\(gz)'"]
        try gzip.run(); gzip.waitUntilExit()
        XCTAssertEqual(gzip.terminationStatus, 0)
        func check<T: FITSNumeric & Equatable>(_ name: String, _ expected: [T], mapped: Bool, in file: String) throws {
            let f = try FITSFile.open(file)
            try f.moveTo(name: name)
            XCTAssertEqual(try f.mapImage()?.values(as: T.self) != nil, mapped, "\(name) in \(file)")
            let read = try f.readImage(as: T.self)
            var rows = [T](repeating: 0, count: n)
            try rows.withUnsafeMutableBufferPointer { try f.readImageRows(0..<ny, into: $0) }
            XCTAssertEqual(read.shape, [ny, nx])
            // compared as bytes: equal bit patterns (the data hold no NaN, but signed zeros and payloads would differ)
            XCTAssertTrue(read.data.withUnsafeBytes { a in rows.withUnsafeBytes { b in a.elementsEqual(b) } }, name)
            XCTAssertTrue(read.data.withUnsafeBytes { a in expected.withUnsafeBytes { b in a.elementsEqual(b) } }, name)
        }
        for file in [path, gz] {
            let plain = file == path
            try check("F32", f32, mapped: plain, in: file)
            try check("F64", f64, mapped: plain, in: file)
            try check("I16", i16, mapped: plain, in: file)
            try check("I32", i32, mapped: plain, in: file)
            try check("I64", i64, mapped: plain, in: file)
            try check("U8", u8, mapped: plain, in: file)
            // another type than the stored one: converted by cfitsio, except float32 as Double (widened exactly from
            // the mapping: the same bits as cfitsio's conversion)
            try check("I16", i16.map(Int32.init), mapped: false, in: file)
            try check("F32", f32.map(Double.init), mapped: plain, in: file)
        }
    }

    /// A handle open for writing is never mapped (cfitsio may still hold data it has not written): an image written
    /// through it reads back through cfitsio, with its values, before the file is closed.
    func testAWritableHandleReadsThroughCfitsio() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("written.fits").path
        let values = (0..<(64 * 64)).map { Float($0) }
        let f = try FITSFile.create(path)
        defer { try? f.close() }
        try f.writeImage(values, shape: [64, 64], name: "PIX")
        try f.moveTo(name: "PIX")
        XCTAssertNil(try f.mapImage())
        XCTAssertEqual(try f.readImage(as: Float.self).data, values)
    }
}
