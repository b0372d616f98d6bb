import FITS
import Foundation
import LinearAlgebra
import XCTest

final class FITSChecksumTests: XCTestCase {
    func testChecksumsAreWrittenAndCatchCorruption() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir.appendingPathComponent("sum.fits").path
        let n = 64 * 64
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeImage((0..<n).map { Float($0) }, shape: [64, 64], name: "IMAGE")
            try f.writeImage((0..<n).map { Int16(truncatingIfNeeded: $0) }, shape: [64, 64], name: "MASK", compression: .rice)
            // data sums computed in memory (Float and Double, split in parallel blocks) must equal cfitsio's
            try f.writeImage((0..<n).map { Double($0) * -0.37 }, shape: [64, 64], name: "DOUBLE")
            var g = SplitMix64(seed: 3)
            try f.writeImage((0..<(700 * 600)).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: g.next()) & 0x7f7f_ffff) },
                             shape: [700, 600], name: "BIG")
            // written a band of rows at a time (the sums taken as the bands are swapped): float32 and int32
            try f.writeImage(Float.self, shape: [300, 70], name: "BANDED", bandRows: 64) { rows, out in
                for i in 0..<out.count { out[i] = Float(rows.lowerBound * 70 + i) * -1.25 }
            }
            try f.writeImage(Int32.self, shape: [300, 70], name: "BANDED32", bandRows: 64) { rows, out in
                for i in 0..<out.count { out[i] = Int32(truncatingIfNeeded: (rows.lowerBound * 70 + i) &* 2_654_435_761) }
            }
            try f.writeTable(FITSTable(columns: [FITSColumn("A", .int32([1, 2, 3]))]), name: "T")
        }
        let f = try FITSFile.open(path)
        for i in 0..<f.hduCount {
            try f.moveTo(index: i)
            let s = try f.checksumState()
            XCTAssertEqual(s.data, .correct, "HDU \(i)")
            XCTAssertEqual(s.hdu, .correct, "HDU \(i)")
        }
        try f.close()
        // Without the option there are no sums.
        let plain = dir.appendingPathComponent("plain.fits").path
        try FITSFile.writeAtomically(plain) { f in try f.writeImage([Float](repeating: 1, count: 4), shape: [2, 2], name: "IMAGE") }
        XCTAssertEqual(try FITSFile.open(plain).checksumState().hdu, .missing)
        // Flip one data byte of the first image: its data sum no longer matches.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[2880 * 2 + 1000] ^= 0x5A
        let bad = dir.appendingPathComponent("bad.fits").path
        try bytes.write(to: URL(fileURLWithPath: bad))
        let g = try FITSFile.open(bad)
        try g.moveTo(index: 0)
        XCTAssertEqual(try g.checksumState().data, .incorrect)
    }
}

