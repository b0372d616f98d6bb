import DESICore
import FITS
import LinearAlgebra
import Foundation
import Simulation
import XCTest

@testable import Preproc

/// The fast paths of preproc give exactly what the plain computations give.
final class FastPathTests: XCTestCase {
    /// RobustLevel (sampled bracket + counting, one vectorised pass per clipping iteration) equals Overscan.level on
    /// the copied block to rounding (the sums run in another order), for odd and even counts, ties, outliers, and a
    /// block too small for the fast path (there, bit for bit).
    func testRobustLevelEqualsOverscanLevel() {
        var rng = SimulationRandom(seed: 5)
        for (rows, cols, kind) in [(300, 301, 0), (400, 250, 1), (257, 260, 2), (100, 50, 0)] {
            var block = [Double](repeating: 0, count: rows * cols)
            for i in block.indices {
                switch kind {
                case 0: block[i] = 1000 + 3 * rng.gaussian()
                case 1: block[i] = (2 * rng.gaussian()).rounded()          // many ties
                default: block[i] = i % 997 == 0 ? 5e4 : 0.01 * rng.gaussian() // outliers
                }
            }
            let fast = RobustLevel.level(rows: rows, cols: cols) { r, c in block[r * cols + c] }
            let slow = Overscan.level(block)
            // summation order: ~1e-14 of the level's magnitude, ~1e-13 of the noise (any real difference is far larger)
            let exact = rows * cols < RobustLevel.smallCount
            XCTAssertEqual(fast.level, slow.level, accuracy: exact ? 0 : 1e-13 * max(abs(slow.level), slow.readnoise),
                           "\(rows)x\(cols) kind \(kind)")
            XCTAssertEqual(fast.readnoise, slow.readnoise, accuracy: exact ? 0 : 1e-12 * slow.readnoise, "\(rows)x\(cols) kind \(kind)")
        }
    }

    /// Overscan's median and MAD of a large block (`Statistics.sampledMedian`) are the quickselect's values bit for
    /// bit: odd and even counts, integer ADU with many ties, a median of zero, and a block with a NaN.
    func testOverscanMedianAndMADOfALargeBlockEqualThePlainForm() {
        var rng = SimulationRandom(seed: 41)
        let blocks: [[Double]] = [
            (0..<132_096).map { _ in (1000 + 3 * rng.gaussian()).rounded() },
            (0..<132_097).map { _ in 1500 + 2.5 * rng.gaussian() },
            (0..<5000).map { _ in (0.4 * rng.gaussian()).rounded() },
            (0..<6001).map { i in i == 77 ? .nan : 10 + rng.gaussian() },
        ]
        for (k, block) in blocks.enumerated() {
            var work = block
            let med = Statistics.medianInPlace(&work)
            for i in work.indices { work[i] = abs(block[i] - med) }
            let mad = 1.4826 * Statistics.medianInPlace(&work)
            let got = Overscan.medianAndMAD(block)
            XCTAssertEqual(got.median.bitPattern, med.bitPattern, "block \(k)")
            XCTAssertEqual(got.mad.bitPattern, mad.bitPattern, "block \(k)")
        }
    }

    /// The MAD and clipping from one pass (`RobustLevel.clippedInOnePass`) equal `Overscan.level` to rounding where
    /// the iterations take their sums from the core and shell (a Gaussian block, an integer one with ties, a mixture
    /// whose cut grows by a third over the iterations), where the shell holds too many values and every iteration
    /// makes its own pass (a wide mixture, Cauchy tails), and for a constant block (a cut of 0 keeps no value).
    func testOnePassClippingEqualsOverscanLevel() {
        var rng = SimulationRandom(seed: 12)
        let rows = 320, cols = 300
        let kinds: [(String, () -> Double)] = [
            ("gaussian", { 1500 + 2.5 * rng.gaussian() }),
            ("ties", { (3 * rng.gaussian()).rounded() }),
            ("mixture", { rng.uniform() < 0.85 ? rng.gaussian() : 3 * rng.gaussian() }),
            ("wide mixture", { rng.uniform() < 0.6 ? rng.gaussian() : 5 * rng.gaussian() }),
            ("cauchy", { tan(Double.pi * (rng.uniform() - 0.5)) }),
            ("constant", { 7 }),
        ]
        for (name, draw) in kinds {
            let block = (0..<(rows * cols)).map { _ in draw() }
            let fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void = { r, buf in
                for c in 0..<cols { buf[c] = block[r * cols + c] }
            }
            let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: cols)
            defer { row.deallocate() }
            var copy = block
            let median = Statistics.medianInPlace(&copy)
            let plain = Overscan.level(block)
            guard let fast = RobustLevel.clippedInOnePass(rows: rows, cols: cols, row: row, fill: fill, median: median,
                                                          nsigma: 5, niter: 3) else { return XCTFail("\(name): bracket missed the MAD") }
            XCTAssertEqual(fast.level, plain.level, accuracy: 1e-13 * max(abs(plain.level), plain.readnoise), name)
            XCTAssertEqual(fast.readnoise, plain.readnoise, accuracy: 1e-12 * plain.readnoise, name)
        }
    }

    /// Calibration images mapped from plain FITS files (big-endian, read in place) hold the values cfitsio reads, for
    /// float32, int16, uint16 (BZERO 32768) and int32 data; a tile-compressed file is read by cfitsio instead.
    func testMappedCalibrationPlanesMatchCfitsio() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ny = 30, nx = 41, n = ny * nx
        var rng = SimulationRandom(seed: 9)
        let f32 = (0..<n).map { _ in Float(100 * rng.gaussian()) }
        let i16 = (0..<n).map { Int16(truncatingIfNeeded: $0 * 37 - 20000) }
        let u16 = (0..<n).map { UInt16(truncatingIfNeeded: $0 * 53) }
        let i32 = (0..<n).map { Int32(truncatingIfNeeded: $0 * 100_003 - 1_000_000) }
        func check<T: FITSNumeric>(_ data: [T], _ name: String, compressed: Bool = false, as value: (T) -> Double) throws {
            let path = dir + "/\(name).fits"
            try FITSFile.writeAtomically(path) { f in try f.writeImage(data, shape: [ny, nx], compression: compressed ? .rice : nil) }
            let index = compressed ? 1 : 0
            guard let r = try CalibrationPlane.read(path: path, index: index) else { return XCTFail("\(name): no plane") }
            XCTAssertEqual(r.shape, [ny, nx])
            for i in 0..<n { XCTAssertEqual(r.plane[i], value(data[i]), "\(name) pixel \(i)"); if r.plane[i] != value(data[i]) { break } }
            let mask = (0..<n).map { r.plane.bits($0) }
            XCTAssertEqual(mask, data.map { UInt32(truncatingIfNeeded: Int64(value($0))) }, name)
            var row = [Double](repeating: 0, count: nx)
            row.withUnsafeMutableBufferPointer { r.plane.values(from: 3 * nx, into: $0) }
            XCTAssertEqual(row, (0..<nx).map { value(data[3 * nx + $0]) }, name)
        }
        try check(f32, "f32") { Double($0) }
        try check(i16, "i16") { Double($0) }
        try check(u16, "u16") { Double($0) }
        try check(i32, "i32") { Double($0) }
        try check(i16, "i16-rice", compressed: true) { Double($0) }
    }
}
