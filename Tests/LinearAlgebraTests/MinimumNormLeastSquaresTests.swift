import XCTest
@testable import LinearAlgebra

/// `MinimumNormLeastSquares.solve` reduces a tall problem by QR before dgelsd, as dgelsd's path 1a does: the same
/// bits as dgelsd on the whole matrix, for well-conditioned, ill-conditioned and rank-deficient designs, and the
/// least-squares solution itself (known coefficients recovered; the minimum-norm split of two equal columns).
final class MinimumNormLeastSquaresTests: XCTestCase {
    /// Column-major Legendre design of `rows` random points in [-1, 1], columns scaled to unit norm (as the fits do).
    func design(rows: Int, cols: Int, rng: inout SplitMix64, squeeze: Double = 1) -> [Double] {
        var a = [Double](repeating: 0, count: rows * cols)
        for i in 0..<rows {
            let x = squeeze * (2 * Double(rng.next() >> 11) * 0x1.0p-53 - 1)
            var p = [Double](repeating: 0, count: cols)
            p.withUnsafeMutableBufferPointer { Legendre.basis(x, degree: cols - 1, into: $0) }
            for j in 0..<cols { a[j * rows + i] = p[j] }
        }
        for j in 0..<cols {
            let norm = (0..<rows).reduce(0.0) { $0 + a[j * rows + $1] * a[j * rows + $1] }.squareRoot()
            for i in 0..<rows { a[j * rows + i] /= norm }
        }
        return a
    }

    func testReductionGivesTheBitsOfDgelsd() throws {
        var rng = SplitMix64(seed: 11)
        var reduced = 0
        for (rows, cols) in [(1000, 9), (1000, 3), (100, 8), (13, 8), (12, 8), (11, 8), (64, 32), (200, 20), (9, 2)] {
            for squeeze in [1.0, 0.05] {   // 0.05: nearly collinear columns, condition number ~1e12
                let a = design(rows: rows, cols: cols, rng: &rng, squeeze: squeeze)
                let b = (0..<rows).map { _ in 5000 + 3000 * Double(rng.next() >> 11) * 0x1.0p-53 }
                let rcond = Double(rows) * Double.ulpOfOne
                var a1 = a, b1 = b
                let x = try MinimumNormLeastSquares.solve(&a1, rows: rows, cols: cols, &b1, rcond: rcond)
                var a2 = a, b2 = b
                let reference = try MinimumNormLeastSquares.direct(&a2, rows: rows, cols: cols, &b2, rcond: rcond)
                if MinimumNormLeastSquares.reducesFirst(a, b, rows: rows, cols: cols) { reduced += 1 }
                XCTAssertEqual(x.map(\.bitPattern), reference.map(\.bitPattern), "\(rows) x \(cols), squeeze \(squeeze)")
            }
        }
        XCTAssertEqual(reduced, 16, "all but 11 x 8 (below dgelsd's crossover 12) are reduced")
    }

    func testRankDeficientDesignGivesTheSameMinimumNormSolution() throws {
        // two equal columns: the minimum-norm solution splits their coefficient in half
        let rows = 400
        var rng = SplitMix64(seed: 5)
        let xs = (0..<rows).map { _ in 2 * Double(rng.next() >> 11) * 0x1.0p-53 - 1 }
        var a = [Double](repeating: 0, count: rows * 3)
        for i in 0..<rows { a[i] = 1; a[rows + i] = xs[i]; a[2 * rows + i] = xs[i] }
        let b = xs.map { 2 + 3 * $0 }
        var a1 = a, b1 = b
        let x = try MinimumNormLeastSquares.solve(&a1, rows: rows, cols: 3, &b1, rcond: Double(rows) * Double.ulpOfOne)
        var a2 = a, b2 = b
        let reference = try MinimumNormLeastSquares.direct(&a2, rows: rows, cols: 3, &b2, rcond: Double(rows) * Double.ulpOfOne)
        XCTAssertEqual(x.map(\.bitPattern), reference.map(\.bitPattern))
        XCTAssertEqual(x[0], 2, accuracy: 1e-12)
        XCTAssertEqual(x[1], 1.5, accuracy: 1e-12)
        XCTAssertEqual(x[2], 1.5, accuracy: 1e-12)
    }

    func testLegendreFitRecoversKnownCoefficients() throws {
        var rng = SplitMix64(seed: 8)
        let truth = [5500.0, 1200.0, -3.5, 0.8, -0.02, 0.004]
        let x = (0..<1000).map { _ in 2 * Double(rng.next() >> 11) * 0x1.0p-53 - 1 }
        let y = x.map { Legendre.value($0, truth) }
        let c = try Legendre.fit(x: x, y: y, degree: truth.count - 1)
        for k in truth.indices { XCTAssertEqual(c[k], truth[k], accuracy: 1e-9 * 5500, "coefficient \(k)") }
        // with weights: a point far off with weight 0 changes nothing
        var yOff = y; yOff[17] += 1e4
        var w = [Double](repeating: 1, count: x.count); w[17] = 0
        let cw = try Legendre.fit(x: x, y: yOff, degree: truth.count - 1, weights: w)
        for k in truth.indices { XCTAssertEqual(cw[k], truth[k], accuracy: 1e-9 * 5500, "weighted coefficient \(k)") }
    }
}
