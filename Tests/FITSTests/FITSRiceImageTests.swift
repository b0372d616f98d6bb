@testable import FITS
import Foundation
import LinearAlgebra
import XCTest

/// FITSRiceImage / RiceDecoder: RICE_1 tiles of 16-bit integers decoded here give cfitsio's values exactly, on rows
/// built to take every path of the decoder; a stream cut short fails; other forms are left to cfitsio.
final class FITSRiceImageTests: XCTestCase {
    /// Rows of six kinds (y % 6): constant (blocks of zero differences), uniform over all 16-bit values (blocks stored
    /// raw), noise of sigma 3 and of 300 (small and large split points), flat with one jump of ~half the range per
    /// block (unary codes longer than the decoder's 56-bit buffer), alternating extremes (sums that wrap).
    static func sample(rows: Int, cols: Int, seed: UInt64) -> [Int16] {
        var g = SplitMix64(seed: seed)
        func gauss() -> Double {
            let u = Double(g.next() >> 11 | 1) / Double(1 << 53), v = Double(g.next() >> 11) / Double(1 << 53)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        var out: [Int16] = []
        out.reserveCapacity(rows * cols)
        for y in 0..<rows {
            for x in 0..<cols {
                let v: Int
                switch y % 6 {
                case 0: v = 100 * y - 2000
                case 1: v = Int(Int16(truncatingIfNeeded: g.next()))
                case 2: v = 1000 + Int((3 * gauss()).rounded())
                case 3: v = -500 + Int((300 * gauss()).rounded())
                case 4: v = x % 32 == 17 ? 30000 : -2000
                default: v = x % 2 == 0 ? Int(Int16.min) : Int(Int16.max)
                }
                out.append(Int16(clamping: v))
            }
        }
        return out
    }

    func write<T: FITSNumeric>(_ data: [T], rows: Int, cols: Int, compression: FITSCompression? = .rice) throws -> String {
        let path = makeTemporaryDirectory(self).appendingPathComponent("rice.fits.fz").path
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(data, shape: [rows, cols], name: "RAW", compression: compression)
        }
        return path
    }

    func testDecodedValuesEqualCfitsios() throws {
        let rows = 60, cols = 1031   // not a whole number of 32-value blocks
        let signed = Self.sample(rows: rows, cols: cols, seed: 5)
        let unsigned = signed.map { UInt16(bitPattern: $0) }   // BITPIX 16 with BZERO 32768
        for (path, expected) in [(try write(signed, rows: rows, cols: cols), signed.map { Double($0) }),
                                 (try write(unsigned, rows: rows, cols: cols), unsigned.map { Double($0) })] {
            let f = try FITSFile.open(path)
            try f.moveTo(name: "RAW")
            let rice = try XCTUnwrap(try f.mapRiceImage(), "a RICE_1 16-bit image should be decoded here")
            XCTAssertEqual(rice.shape, [rows, cols])
            let viaCfitsio = try f.readImage(as: Float.self).data
            XCTAssertEqual(viaCfitsio, expected.map { Float($0) })
            var floats = [Float](repeating: .nan, count: rows * cols)
            try floats.withUnsafeMutableBufferPointer { try rice.readRows(0..<rows, into: $0) }
            XCTAssertEqual(floats, viaCfitsio)
            var doubles = [Double](repeating: .nan, count: 7 * cols)
            try doubles.withUnsafeMutableBufferPointer { try rice.readRows(20..<27, into: $0) }
            XCTAssertEqual(doubles, Array(expected[(20 * cols)..<(27 * cols)]))
            // the concurrent read takes this path; its bands do not change the values
            for threads in [1, 3] {
                let read = try FITSFile.readImageConcurrently(path: path, hdu: "RAW", as: Float.self, threads: threads)
                XCTAssertEqual(read.shape, [rows, cols])
                XCTAssertEqual(read.data, viaCfitsio)
            }
        }
    }

    /// A stream with fewer bytes than its values need fails instead of reading on.
    func testTruncatedStreamFails() throws {
        let rows = 6, cols = 1031
        let path = try write(Self.sample(rows: rows, cols: cols, seed: 8), rows: rows, cols: cols)
        let f = try FITSFile.open(path)
        try f.moveTo(name: "RAW")
        let rice = try XCTUnwrap(try f.mapRiceImage())
        for row in 0..<rows {
            let (count, offset) = rice.tiles[row]
            let padding = RiceDecoder.padding(blockSize: rice.blockSize)
            var stream = [UInt8](repeating: 0, count: count + padding)
            for i in 0..<count { stream[i] = rice.heap.load(fromByteOffset: offset + i, as: UInt8.self) }
            var values = [UInt16](repeating: 0, count: cols)
            XCTAssertNoThrow(try RiceDecoder.decodeShorts(stream, length: count, blockSize: rice.blockSize, count: cols,
                                                          into: &values))
            // the constant row's stream is a few bytes: cut every row's stream to a quarter, at least one byte less
            let cut = min(count - 1, max(2, count / 4))
            for i in cut..<count { stream[i] = 0 }
            XCTAssertThrowsError(try RiceDecoder.decodeShorts(stream, length: cut, blockSize: rice.blockSize, count: cols,
                                                              into: &values), "row \(row) cut to \(cut) of \(count) bytes") {
                XCTAssertEqual($0 as? RiceDecoder.Failure, .endOfStream)
            }
        }
    }

    /// A stream written by hand: the first value's 2 bytes, then `bits` ("0" and "1"), padded as `decodeShorts` needs.
    static func handmade(first: UInt16, bits: String, blockSize: Int = 32) -> (bytes: [UInt8], length: Int) {
        var bytes: [UInt8] = [UInt8(first >> 8), UInt8(first & 0xff)]
        let b = Array(bits)
        for i in stride(from: 0, to: b.count, by: 8) {
            var v: UInt8 = 0
            for k in 0..<8 { v = v << 1 | (i + k < b.count && b[i + k] == "1" ? 1 : 0) }
            bytes.append(v)
        }
        let length = bytes.count
        return (bytes + [UInt8](repeating: 0, count: RiceDecoder.padding(blockSize: blockSize)), length)
    }

    /// Unary codes longer than the decoder's 56-bit buffer (cfitsio's encoder with 32-value blocks never writes one
    /// over ~48 bits, other encoders and larger blocks may): q = 70 with fs = 0, q = 100 with fs = 3; a run of zeros
    /// that reaches the end of the stream fails.
    func testUnaryCodesLongerThanTheBuffer() throws {
        let q70 = String(repeating: "0", count: 70) + "1"
        // fs + 1 = 1; 70 -> difference +35; then four zero differences
        var s = Self.handmade(first: 1000, bits: "0001" + q70 + "1111")
        var values = [UInt16](repeating: 0, count: 5)
        try RiceDecoder.decodeShorts(s.bytes, length: s.length, blockSize: 32, count: 5, into: &values)
        XCTAssertEqual(values, [1035, 1035, 1035, 1035, 1035])
        // fs + 1 = 4; q = 100 and r = 0b101: (100 << 3) | 5 = 805, odd -> -(805 >> 1) - 1 = -403; then +1 (mapped 2:
        // q = 0, r = 0b010)
        let q100 = String(repeating: "0", count: 100) + "1"
        s = Self.handmade(first: 1000, bits: "0100" + q100 + "101" + "1" + "010")
        values = [0, 0]
        try RiceDecoder.decodeShorts(s.bytes, length: s.length, blockSize: 32, count: 2, into: &values)
        XCTAssertEqual(values, [597, 598])
        // the second value's zeros run to the end
        s = Self.handmade(first: 1000, bits: "0001" + "1" + String(repeating: "0", count: 200))
        XCTAssertThrowsError(try RiceDecoder.decodeShorts(s.bytes, length: s.length, blockSize: 32, count: 2, into: &values)) {
            XCTAssertEqual($0 as? RiceDecoder.Failure, .endOfStream)
        }
    }

    /// 32-bit Rice (BYTEPIX 4), gzip and uncompressed images are not this form: nil, and read through cfitsio.
    func testOtherFormsAreLeftToCfitsio() throws {
        let rows = 12, cols = 100
        let ints = (0..<(rows * cols)).map { Int32($0 * 977 % 100_003) - 50_000 }
        let shorts = Self.sample(rows: rows, cols: cols, seed: 2)
        for (path, expected) in [(try write(ints, rows: rows, cols: cols), ints.map { Float($0) }),
                                 (try write(shorts, rows: rows, cols: cols, compression: .gzip), shorts.map { Float($0) }),
                                 (try write(shorts, rows: rows, cols: cols, compression: nil), shorts.map { Float($0) })] {
            let f = try FITSFile.open(path)
            try f.moveTo(name: "RAW")
            XCTAssertNil(try f.mapRiceImage())
            XCTAssertEqual(try FITSFile.readImageConcurrently(path: path, hdu: "RAW", as: Float.self).data, expected)
        }
    }
}
