import FITS
import Foundation
import XCTest

/// Round trips of every image type, plain and tile-compressed, with non-square shapes and extreme values.
final class FITSImageTests: XCTestCase {
    let ny = 3, nx = 5

    func values<T: FixedWidthInteger>(_ type: T.Type) -> [T] {
        var v: [T] = [T.min, T.max, 0, 1, T.min + 1, T.max - 1]
        while v.count < ny * nx { v.append(T(truncatingIfNeeded: v.count * 37 - 200)) }
        return v
    }

    func roundTrip<T: FITSNumeric & Equatable>(_ data: [T], compression: FITSCompression? = nil,
                                               file: StaticString = #filePath, line: UInt = #line) throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("img.fits").path
        try FITSFile.writeAtomically(path) { f in
            try f.writeEmptyHDU()
            try f.writeImage(data, shape: [ny, nx], name: "DATA", compression: compression)
        }
        let f = try FITSFile.open(path)
        try f.moveTo(name: "DATA")
        XCTAssertEqual(f.isCompressedImage, compression != nil, file: file, line: line)
        let img = try f.readImage(as: T.self)
        XCTAssertEqual(img.shape, [ny, nx], file: file, line: line)
        XCTAssertEqual(img.data, data, "\(T.self) compression \(String(describing: compression))", file: file, line: line)
        // Row-major numpy order: element [1, 2] is the 8th value.
        XCTAssertEqual(img.data[1 * nx + 2], data[7], file: file, line: line)
    }

    /// Images larger than the 1 MB chunk in which their values are swapped to big-endian (several chunks, the last
    /// partial) read back the same, after an image HDU and before another, with valid checksums.
    func testImagesOfSeveralWriteChunksRoundTrip() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("chunks.fits").path
        let rows = 331, cols = 1009
        let doubles = (0..<(rows * cols)).map { Double($0) * 1.000001 - 1e5 }
        let shorts = (0..<(rows * cols)).map { Int16(truncatingIfNeeded: $0 &* 40503) }
        let floats = (0..<(rows * cols)).map { Float($0).squareRoot() - 100 }
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeImage(doubles, shape: [rows, cols], name: "D")
            try f.writeImage(shorts, shape: [rows, cols], name: "S")
            try f.writeImage(Float.self, shape: [rows, cols], name: "F", bandRows: 100) { band, out in
                for i in 0..<out.count { out[i] = floats[band.lowerBound * cols + i] }
            }
        }
        let f = try FITSFile.open(path)
        XCTAssertEqual(try f.readImage("D", as: Double.self).data, doubles)
        XCTAssertEqual(try f.checksumState().data, .correct)
        XCTAssertEqual(try f.readImage("S", as: Int16.self).data, shorts)
        XCTAssertEqual(try f.checksumState().data, .correct)
        XCTAssertEqual(try f.checksumState().hdu, .correct)
        XCTAssertEqual(try f.readImage("F", as: Float.self).data, floats)
        XCTAssertEqual(try f.checksumState().data, .correct)
    }

    func testIntegerImagesRoundTripExactly() throws {
        try roundTrip(values(UInt8.self))
        try roundTrip(values(Int16.self))
        try roundTrip(values(UInt16.self))
        try roundTrip(values(Int32.self))
        try roundTrip(values(UInt32.self))
        try roundTrip(values(Int64.self))
    }

    func testFloatImagesRoundTripExactly() throws {
        var f: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 0, -0.0, 1e-30, 3.4028e38, .pi]
        while f.count < ny * nx { f.append(Float(f.count) * 0.1 - 0.7) }
        try roundTrip(f)
        var d: [Double] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude, 0, 1e-300, 6.02214076e23, .pi, 0.1]
        while d.count < ny * nx { d.append(Double(d.count) * 0.1 - 0.7) }
        try roundTrip(d)
    }

    func testRiceCompressionIsLosslessForIntegers() throws {
        try roundTrip(values(UInt8.self), compression: .rice)
        try roundTrip(values(Int16.self), compression: .rice)
        try roundTrip(values(UInt16.self), compression: .rice)
        try roundTrip(values(Int32.self), compression: .rice)
    }

    /// A compressed image written a band of rows at a time (bands that do not divide the rows) holds the same values
    /// as one written in one go, with the keywords after the data as usual.
    func testBandedCompressedWriteEqualsWholeWrite() throws {
        let rows = 301, cols = 257
        let data = (0..<(rows * cols)).map { Int16(truncatingIfNeeded: ($0 * 7919) % 40000 - 20000) }
        let path = makeTemporaryDirectory(self).appendingPathComponent("banded.fits").path
        var header = FITSHeader()
        header.set("EXPID", 42)
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeImage(data, shape: [rows, cols], name: "WHOLE", compression: .rice)
            try data.withUnsafeBufferPointer { d in
                try f.writeImage(Int16.self, shape: [rows, cols], name: "BANDED", header: header,
                                 compression: .rice, bandRows: 13) { band, out in
                    XCTAssertEqual(out.count, band.count * cols)
                    for i in 0..<out.count { out[i] = d[band.lowerBound * cols + i] }
                }
            }
        }
        let f = try FITSFile.open(path)
        let whole = try f.readImage("WHOLE", as: Int16.self), banded = try f.readImage("BANDED", as: Int16.self)
        XCTAssertTrue(f.isCompressedImage)
        XCTAssertEqual(banded.shape, [rows, cols])
        XCTAssertEqual(banded.data, data)
        XCTAssertEqual(whole.data, banded.data)
        XCTAssertEqual(banded.header.int("EXPID"), 42)
        XCTAssertThrowsError(try FITSFile.writeAtomically(path) { f in
            try f.writeImage(Int16.self, shape: [rows], compression: .rice) { _, _ in }
        }) { e in XCTAssertTrue("\(e)".contains("2 axes"), "\(e)") }
    }

    /// An uncompressed image written a band of rows at a time holds the same bytes as one written in one go, and its
    /// DATASUM, added up band by band, is the sum cfitsio verifies (float32 and float64; an integer image leaves the sum
    /// to cfitsio).
    func testBandedUncompressedWriteKeepsTheDataSum() throws {
        let rows = 301, cols = 257
        let floats: [Float] = (0..<(rows * cols)).map { i -> Float in
            let a = Float(i % 977) * 1.25e-3, b = Float(i % 13) * 7.5
            return a - b
        }
        let doubles: [Double] = floats.map { Double($0) * 3.000000001 }
        let ints: [Int32] = floats.map { Int32($0 * 1000) }
        let path = makeTemporaryDirectory(self).appendingPathComponent("banded-plain.fits").path
        func banded<T: FITSNumeric>(_ f: FITSFile, _ data: [T], _ name: String) throws {
            try data.withUnsafeBufferPointer { (d: UnsafeBufferPointer<T>) throws -> Void in
                try f.writeImage(T.self, shape: [rows, cols], name: name,
                                 bandRows: 13) { (band: Range<Int>, out: UnsafeMutableBufferPointer<T>) in
                    for i in 0..<out.count { out[i] = d[band.lowerBound * cols + i] }
                }
            }
        }
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeImage(floats, shape: [rows, cols], name: "WHOLE")
            try banded(f, floats, "FLOAT")
            try banded(f, doubles, "DOUBLE")
            try banded(f, ints, "INT")
        }
        let f = try FITSFile.open(path)
        XCTAssertEqual(try f.readImage("FLOAT", as: Float.self).data, floats)
        XCTAssertEqual(try f.readImage("DOUBLE", as: Double.self).data, doubles)
        XCTAssertEqual(try f.readImage("INT", as: Int32.self).data, ints)
        let wholeSum = try f.readImage("WHOLE", as: Float.self).header.string("DATASUM")
        XCTAssertEqual(try f.readImage("FLOAT", as: Float.self).header.string("DATASUM"), wholeSum)
        for name in ["WHOLE", "FLOAT", "DOUBLE", "INT"] {
            try f.moveTo(name: name)
            let state = try f.checksumState()
            XCTAssertEqual(state.data, .correct, name)
            XCTAssertEqual(state.hdu, .correct, name)
        }
    }

    func testGzipCompressionIsLosslessForFloats() throws {
        let f: [Float] = (0..<(ny * nx)).map { Float($0) * 0.123456789 - 1.5 + ($0 == 4 ? 1e-30 : 0) }
        try roundTrip(f, compression: .gzip)
        let d: [Double] = (0..<(ny * nx)).map { Double($0) * 0.1234567890123 - 1.5 }
        try roundTrip(d, compression: .gzip)
        try roundTrip(values(Int16.self), compression: .gzip)
    }

    func testThreeDimensionalShapeAndConversion() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("cube.fits").path
        let data = (0..<(2 * 3 * 4)).map { Float($0) }
        try FITSFile.writeAtomically(path) { f in try f.writeImage(data, shape: [2, 3, 4], name: "CUBE") }
        let f = try FITSFile.open(path)
        let (bitpix, shape) = try { try f.moveTo(name: "CUBE"); return try f.imageShape() }()
        XCTAssertEqual(bitpix, -32)
        XCTAssertEqual(shape, [2, 3, 4])
        // Reading float32 as double converts exactly; [1, 2, 3] is index 1*12 + 2*4 + 3 = 23.
        let d = try f.readImage("CUBE", as: Double.self)
        XCTAssertEqual(d.data[23], 23)
    }

    func testWrongDataCountIsRejected() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("bad.fits").path
        XCTAssertThrowsError(try FITSFile.writeAtomically(path) { f in
            try f.writeImage([Float](repeating: 0, count: 5), shape: [2, 3], name: "X")
        }) { e in XCTAssertTrue("\(e)".contains("shape [2, 3] needs 6"), "\(e)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}

/// desispec 0.70 writes *.fits.gz by default (DESI_COMPRESSION): whole-file gzip must read transparently.
final class FITSGzipFileTests: XCTestCase {
    func testGzippedFileReads() throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/gzip") else { throw XCTSkip("/bin/gzip not available") }
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("frame.fits").path
        let data = (0..<12).map { Float($0) * 0.5 }
        try FITSFile.writeAtomically(path) { f in try f.writeImage(data, shape: [3, 4], name: "FLUX") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = [path]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let f = try FITSFile.open(path + ".gz")
        XCTAssertEqual(try f.readImage("FLUX", as: Float.self).data, data)
    }
}
