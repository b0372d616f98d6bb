import Foundation
import LinearAlgebra
import Simulation
import XCTest

@testable import Preproc

/// The median bracket of `RobustLevel.median` (sampled bracket + counting pass) on a master bias with NaN pixels:
/// the same value, bit for bit, as the plain median it replaces (`Statistics.medianInPlace` on the block copied
/// row by row, what `Overscan.level` takes), for the values and for their distances from a center.
final class MedianBracketNaNTests: XCTestCase {
    /// A bias-like block (level ~ 1000 ADU, noise 3, hot pixels) with NaN pixels at `nanEvery` spacing.
    private func block(rows: Int, cols: Int, nanEvery: Int, seed: UInt64) -> [Double] {
        var rng = SimulationRandom(seed: seed)
        return (0..<(rows * cols)).map { i -> Double in
            if nanEvery > 0 && i % nanEvery == 7 { return .nan }
            if i % 2003 == 11 { return 6e4 }
            return 1000 + 3 * rng.gaussian()
        }
    }

    private func bracketMedian(_ values: [Double], rows: Int, cols: Int, center: Double?) -> Double {
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: cols)
        defer { row.deallocate() }
        return RobustLevel.median(rows: rows, cols: cols, row: row, fill: { r, buf in
            for c in 0..<cols { buf[c] = values[r * cols + c] }
        }, distanceFrom: center)
    }

    func testMedianBracketWithNaNBiasPixelsEqualsPlainMedian() {
        let rows = 300, cols = 413   // 123900 values: above RobustLevel.smallCount, the bracket path
        XCTAssertGreaterThan(rows * cols, RobustLevel.smallCount)
        for (nanEvery, seed) in [(0, UInt64(1)), (rows * cols, 2), (5000, 3), (97, 4), (3, 5)] {
            let values = block(rows: rows, cols: cols, nanEvery: nanEvery, seed: seed)
            var copy = values
            let plain = Statistics.medianInPlace(&copy)
            let fast = bracketMedian(values, rows: rows, cols: cols, center: nil)
            XCTAssertEqual(fast.bitPattern, plain.bitPattern, "NaN every \(nanEvery): \(fast) vs \(plain)")
            // the MAD pass: distances from the median (NaN distances for NaN pixels)
            let center = plain.isNaN ? 1000 : plain
            var distances = values.map { abs($0 - center) }
            let plainMAD = Statistics.medianInPlace(&distances)
            let fastMAD = bracketMedian(values, rows: rows, cols: cols, center: center)
            XCTAssertEqual(fastMAD.bitPattern, plainMAD.bitPattern, "NaN every \(nanEvery), MAD: \(fastMAD) vs \(plainMAD)")
        }
    }

    /// The whole level and read noise of a NaN-holding bias block match `Overscan.level` on the copied block (the
    /// clipping sums agree to rounding, as `testRobustLevelEqualsOverscanLevel` states; the medians exactly).
    func testRobustLevelWithNaNBiasPixelsMatchesOverscanLevel() {
        let rows = 300, cols = 413
        for (nanEvery, seed) in [(5000, UInt64(6)), (97, 7)] {
            let values = block(rows: rows, cols: cols, nanEvery: nanEvery, seed: seed)
            let fast = RobustLevel.level(rows: rows, cols: cols) { r, c in values[r * cols + c] }
            let plain = Overscan.level(values)
            if plain.level.isNaN { XCTAssertTrue(fast.level.isNaN); continue }
            XCTAssertEqual(fast.level, plain.level, accuracy: 1e-12 * abs(plain.level), "NaN every \(nanEvery)")
            XCTAssertEqual(fast.readnoise, plain.readnoise, accuracy: 1e-12 * abs(plain.readnoise), "NaN every \(nanEvery)")
        }
    }

    /// A bias-like block whose level follows the rows (a ramp of 4 ADU over the rows, as the simulated master biases
    /// have, plus a 0.3 ADU pattern repeating every 32 rows, under a noise of 0.34 ADU): the bracket from the
    /// stratified sample holds the median (no full copy) and gives the plain median, bit for bit. A grid of 64 evenly
    /// spaced rows (before) sampled the same phase of the pattern everywhere, 4 % of the values off, and missed.
    func testMedianBracketHoldsOnALevelFollowingTheRows() {
        let rows = 2048, cols = 1030   // 2.1 M values: a 65536-value sample, the narrowest bracket
        var rng = SimulationRandom(seed: 11)
        let values = (0..<(rows * cols)).map { i -> Double in
            let r = i / cols
            return 4 * Double(r) / Double(rows) + 0.3 * Double(r % 32) / 32 + 0.34 * rng.gaussian()
        }
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: cols)
        defer { row.deallocate() }
        let fill: (Int, UnsafeMutableBufferPointer<Double>) -> Void = { r, buf in
            for c in 0..<cols { buf[c] = values[r * cols + c] }
        }
        var copy = values
        let plain = Statistics.medianInPlace(&copy)
        let fast = RobustLevel.bracketedMedian(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: nil)
        XCTAssertNotNil(fast, "the bracket missed the median")
        XCTAssertEqual(fast?.bitPattern, plain.bitPattern)
        var distances = values.map { abs($0 - plain) }
        let plainMAD = Statistics.medianInPlace(&distances)
        let fastMAD = RobustLevel.bracketedMedian(rows: rows, cols: cols, row: row, fill: fill, distanceFrom: plain)
        XCTAssertNotNil(fastMAD, "the bracket missed the MAD")
        XCTAssertEqual(fastMAD?.bitPattern, plainMAD.bitPattern)
    }
}
