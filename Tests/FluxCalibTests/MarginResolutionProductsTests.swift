import XCTest

@testable import FluxCalib

/// marginResolutionProducts against the plain form it replaced in computeFluxCalibration (build the fiber's padded
/// resolution as [Double], then apply it to ones and to the calibration): bit-identical.
final class MarginResolutionProductsTests: XCTestCase {
    func testProductsAreBitIdenticalToThePlainForm() {
        var rng = SystemRandomNumberGenerator()
        for (nw0, ndiag, margin) in [(50, 11, 3), (7, 11, 3), (40, 5, 0), (1, 3, 2)] {
            let nspec = 3, nwave = nw0 + 2 * margin, h = ndiag / 2
            let data = (0..<(nspec * ndiag * nw0)).map { _ in Float.random(in: -0.2...1, using: &rng) }
            let x = (0..<nwave).map { _ in Double.random(in: -5...5, using: &rng) }
            func src(_ j: Int) -> Int { min(max(j - margin, 0), nw0 - 1) }
            for s in 0..<nspec {
                // the plain form
                var r = [Double](repeating: 0, count: ndiag * nwave)
                for d in 0..<ndiag { for j in 0..<nwave { r[d * nwave + j] = Double(data[(s * ndiag + d) * nw0 + src(j)]) } }
                func applyR(_ v: [Double]) -> [Double] {
                    var y = [Double](repeating: 0, count: nwave)
                    for d in 0..<ndiag {
                        let k = h - d
                        for j in max(0, k)..<min(nwave, nwave + k) { y[j - k] += r[d * nwave + j] * v[j] }
                    }
                    return y
                }
                let plainOnes = applyR([Double](repeating: 1, count: nwave)), plainX = applyR(x)
                var ones = [Double](repeating: .nan, count: nwave), product = ones
                data.withUnsafeBufferPointer { dp in
                    x.withUnsafeBufferPointer { xp in
                        ones.withUnsafeMutableBufferPointer { o in
                            product.withUnsafeMutableBufferPointer { p in
                                let spectrum = UnsafeBufferPointer(rebasing: dp[(s * ndiag * nw0)..<((s + 1) * ndiag * nw0)])
                                marginResolutionProducts(spectrum, ndiag: ndiag, nw0: nw0, margin: margin,
                                                         x: xp, ones: o, product: p)
                            }
                        }
                    }
                }
                XCTAssertEqual(ones.map(\.bitPattern), plainOnes.map(\.bitPattern), "nw0 \(nw0) ndiag \(ndiag) fiber \(s)")
                XCTAssertEqual(product.map(\.bitPattern), plainX.map(\.bitPattern), "nw0 \(nw0) ndiag \(ndiag) fiber \(s)")
            }
        }
    }
}
