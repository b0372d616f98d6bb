import Foundation
import XCTest
@testable import LinearAlgebra

/// `vectorExp` is within 1 ulp of e^x (taken as the C library's `exp`, itself within 0.51 ulp, so the bound checked
/// is 1.6 ulp of the two's difference) over the whole finite range, over the arguments the image model's Gaussian
/// profile gives (-50 ... 0), and at the special values.
final class VectorExpTests: XCTestCase {
    func ulps(_ a: Double, _ b: Double) -> Double { abs(a - b) / b.ulp }

    func testLanesAreWithinOneUlpOfExp() {
        var rng = SplitMix64(seed: 3)
        var worst = 0.0, differing = 0, total = 0
        for (lo, hi) in [(-708.0, 709.0), (-50.0, 0.0), (-1.0, 1.0), (-1e-8, 1e-8)] {
            for _ in 0..<50_000 {
                let v = (0..<4).map { _ in lo + (hi - lo) * Double(rng.next() >> 11) * 0x1.0p-53 }
                let y = SIMD4(v[0], v[1], v[2], v[3]).vectorExp()
                for q in 0..<4 {
                    let e = Foundation.exp(v[q])
                    worst = max(worst, ulps(y[q], e))
                    if y[q] != e { differing += 1 }
                    total += 1
                }
            }
        }
        XCTAssertLessThanOrEqual(worst, 1.6, "worst difference from exp: \(worst) ulp")
        // most values are the same double (a real error in a coefficient would change nearly all)
        XCTAssertLessThan(Double(differing) / Double(total), 0.15, "\(differing) of \(total) differ")
    }

    func testSpecialValues() {
        let x = SIMD4<Double>(0, -0.0, 1, -1).vectorExp()
        XCTAssertEqual(x[0], 1); XCTAssertEqual(x[1], 1)
        XCTAssertEqual(x[2], M_E, accuracy: M_E.ulp); XCTAssertEqual(x[3], 1 / M_E, accuracy: (1 / M_E).ulp)
        let y = SIMD4<Double>(.infinity, -.infinity, .nan, 710).vectorExp()
        XCTAssertEqual(y[0], .infinity); XCTAssertEqual(y[1], 0); XCTAssertTrue(y[2].isNaN); XCTAssertEqual(y[3], .infinity)
        // subnormal results and the underflow to 0
        let z = SIMD4<Double>(-740, -745, -746, -1000).vectorExp()
        XCTAssertEqual(z[0], Foundation.exp(-740), accuracy: 2 * Double.leastNonzeroMagnitude)
        XCTAssertEqual(z[1], Foundation.exp(-745), accuracy: Double.leastNonzeroMagnitude)
        XCTAssertEqual(z[2], 0); XCTAssertEqual(z[3], 0)
        let w = SIMD4<Double>(709.7, 700, -708, 1e-300).vectorExp()
        XCTAssertEqual(w[0], Foundation.exp(709.7), accuracy: 2 * Foundation.exp(709.7).ulp)
        XCTAssertEqual(w[1], Foundation.exp(700), accuracy: 2 * Foundation.exp(700).ulp)
        XCTAssertEqual(w[2], Foundation.exp(-708), accuracy: 2 * Foundation.exp(-708).ulp)
        XCTAssertEqual(w[3], 1)
    }
}
