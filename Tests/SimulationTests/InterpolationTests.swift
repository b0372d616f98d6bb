import LinearAlgebra
import XCTest

final class InterpolationTests: XCTestCase {
    func testLinearMatchesNumpyInterp() {
        let x = [1.0, 2, 4], y = [10.0, 20, 0]
        let v = Interpolation.linear(x: x, y: y, at: [0, 1, 1.5, 3, 4, 5])
        XCTAssertEqual(v, [10, 10, 15, 10, 0, 0])
        XCTAssertEqual(Interpolation.linear(x: x, y: y, at: [0, 5], left: -1, right: -2), [-1, -2])
    }

    func testBinMomentsAreExactForLinearPieces() {
        // y = 2 + 3x on [0, 10]: integral over [a, b] = 2(b-a) + 1.5(b²-a²), first moment (b²-a²) + (b³-a³)
        let x = stride(from: 0.0, through: 10, by: 0.7).map { $0 } + [10]
        let y = x.map { 2 + 3 * $0 }
        let edges = [0.3, 1.1, 4.75, 9.9]
        let m = Interpolation.binMoments(x: x, y: y, edges: edges)
        for k in 0..<3 {
            let a = edges[k], b = edges[k + 1]
            XCTAssertEqual(m.integral[k], 2 * (b - a) + 1.5 * (b * b - a * a), accuracy: 1e-9)
            XCTAssertEqual(m.firstMoment[k], (b * b - a * a) + (b * b * b - a * a * a), accuracy: 1e-8)
        }
        // zero outside the input range
        let out = Interpolation.binMoments(x: x, y: y, edges: [-5, -1, 0.5])
        XCTAssertEqual(out.integral[0], 0)
        XCTAssertEqual(out.integral[1], 2 * 0.5 + 1.5 * 0.25, accuracy: 1e-12)
    }

    func testResampleFluxConservesFlux() {
        // a narrow emission line on a fine grid resampled to a coarse one keeps its integrated flux
        let x = stride(from: 5000.0, through: 5100, by: 0.1).map { $0 }
        let y = x.map { 1 + 50 * exp(-0.5 * pow(($0 - 5043.3) / 0.7, 2)) }
        let xout = stride(from: 5010.0, through: 5090, by: 0.8).map { $0 }
        let r = Interpolation.resampleFlux(xout: xout, x: x, flux: y)
        let e = Interpolation.edges(centers: xout)
        let outTotal = zip(r, zip(e.dropFirst(), e)).map { $0 * ($1.0 - $1.1) }.reduce(0, +)
        let inTotal = Interpolation.binMoments(x: x, y: y, edges: [e.first!, e.last!]).integral[0]
        XCTAssertEqual(outTotal, inTotal, accuracy: 1e-9 * inTotal)
        XCTAssertEqual(inTotal, 80.8 + 50 * 0.7 * (2 * Double.pi).squareRoot(), accuracy: 1e-3)
        // continuum far from the line is 1
        XCTAssertEqual(r[2], 1, accuracy: 1e-12)
    }

    func testGaussianSmoothKeepsSumAndWidens() {
        var y = [Double](repeating: 0, count: 101); y[50] = 1
        let s = Smoothing.gaussianSmooth(y, sigma: 3)
        XCTAssertEqual(s.reduce(0, +), 1, accuracy: 1e-12)
        let variance = s.enumerated().map { Double(($0.offset - 50) * ($0.offset - 50)) * $0.element }.reduce(0, +)
        XCTAssertEqual(variance, 9, accuracy: 0.01)
    }
}
