import XCTest
@testable import LinearAlgebra
@testable import PSF

final class PolynomialTests: XCTestCase {
    func testLegendreValueMatchesExplicitPolynomials() {
        // P2 = (3x^2 - 1)/2, P3 = (5x^3 - 3x)/2
        let c = [0.5, -1.25, 2.0, 0.75]
        for x in [-1.0, -0.3, 0.0, 0.41, 1.0] {
            let expected = 0.5 - 1.25 * x + 2.0 * (3 * x * x - 1) / 2 + 0.75 * (5 * x * x * x - 3 * x) / 2
            XCTAssertEqual(Legendre.value(x, c), expected, accuracy: 1e-14)
        }
    }

    func testLegendreFitRecoversCoefficients() throws {
        let c = [3.0, -0.5, 0.25, 0.125, -0.0625]
        let x = (0..<50).map { -1 + 2 * Double($0) / 49 }
        let fit = try Legendre.fit(x: x, y: x.map { Legendre.value($0, c) }, degree: 4)
        for k in 0..<5 { XCTAssertEqual(fit[k], c[k], accuracy: 1e-12) }
    }

    func testPixelIntegratedHermiteOrderZeroSumsToOneAndOrderOneIsDerivative() {
        var out = [Double](repeating: 0, count: 3 * 21)
        out.withUnsafeMutableBufferPointer { Hermite.pixelIntegrated(first: -10, count: 21, centre: 0.3, sigma: 1.2, degree: 2, into: $0) }
        XCTAssertEqual(out[0..<21].reduce(0, +), 1, accuracy: 1e-12)
        // order 1: -phi(u) between edges; its sum over all pixels is 0
        XCTAssertEqual(out[21..<42].reduce(0, +), 0, accuracy: 1e-12)
        // pixel 10 (x = 0): -phi(u_hi) + phi(u_lo), u = (x - 0.3 -+ 0.5)/1.2
        let phi = { (u: Double) in exp(-u * u / 2) / (2 * Double.pi).squareRoot() }
        XCTAssertEqual(out[21 + 10], -phi(0.2 / 1.2) + phi(-0.8 / 1.2), accuracy: 1e-14)
    }

    func testTraceSetInverseAndDerivative() throws {
        let t = TraceSet(coefficients: [2000, 1900, 40, 3, 2010, 1905, 38, 2], ntrace: 2, ncoef: 4, domainMin: 5500, domainMax: 7800)
        let inv = t.inverted()
        for f in 0..<2 {
            for w in [5600.0, 6500.0, 7700.0] {
                let y = t.eval(f, w)
                XCTAssertEqual(inv.eval(f, y), w, accuracy: 1e-3)
                XCTAssertEqual(t.solve(f, target: y, start: w + 3), w, accuracy: 1e-9)
                let num = (t.eval(f, w + 1e-3) - t.eval(f, w - 1e-3)) / 2e-3
                XCTAssertEqual(t.derivative(f, w), num, accuracy: 1e-6)
            }
        }
    }

    func testPolynomialFit2DRecoversPlaneAndRejectsOutlier() throws {
        var z = [Double](), x = [Double](), y = [Double]()
        for i in 0..<10 { for j in 0..<10 {
            let xx = Double(i) * 400, yy = Double(j) * 400
            x.append(xx); y.append(yy); z.append(0.3 + 1e-4 * xx - 2e-4 * yy)
        } }
        z[17] += 5
        let fit = try PolynomialFit2D.fit(z: z, ez: [Double](repeating: 0.01, count: z.count), x: x, y: y, degx: 1, degy: 1)
        XCTAssertFalse(fit.kept[17])
        XCTAssertEqual(fit.value(x: 1000, y: 2000), 0.3 + 0.1 - 0.4, accuracy: 1e-9)
    }
}
