import LinearAlgebra
import XCTest

/// The one band inverse (selected inversion) and the convolved variance against dense linear algebra.
final class BandCholeskyTests: XCTestCase {
    /// A symmetric positive-definite band matrix of half width kd, with its dense copy.
    func bandMatrix(n: Int, kd: Int) -> (SymmetricBandMatrix, Matrix) {
        var a = SymmetricBandMatrix(n: n, kd: kd)
        var g = SplitMix64(seed: 11)
        for i in 0..<n {
            a.add(i, i, 2 * Double(kd) + 1 + g.uniform())
            for d in 1...kd where i + d < n { a.add(i + d, i, g.uniform() - 0.5) }
        }
        var dense = Matrix(rows: n, cols: n)
        for i in 0..<n { for j in 0..<n { dense[i, j] = a.element(i, j) } }
        return (a, dense)
    }

    func testInverseBandMatchesTheDenseInverseForAnyWidth() throws {
        let n = 40, kd = 3
        let (a, dense) = bandMatrix(n: n, kd: kd)
        let inverse = try choleskyInverse(dense)
        let factor = try a.cholesky()
        for width in [0, 1, kd, 7] {
            let band = factor.inverseBand(width: width)
            XCTAssertEqual(band.width, width)
            XCTAssertEqual(band.diagonal.count, n)
            for i in 0..<n {
                for j in 0..<n {
                    let expected = abs(i - j) <= width ? inverse[i, j] : 0
                    XCTAssertEqual(band.element(i, j), expected, accuracy: 1e-13, "width \(width) element (\(i), \(j))")
                }
            }
        }
    }

    func testSolveMatchesDense() throws {
        let (a, dense) = bandMatrix(n: 25, kd: 2)
        let b = (0..<25).map { cos(Double($0)) }
        let x = try a.cholesky().solve(b)
        let expected = try choleskySolve(dense, b)
        for i in 0..<25 { XCTAssertEqual(x[i], expected[i], accuracy: 1e-13) }
    }

    func testConvolvedVarianceIsTheDiagonalOfRCRt() throws {
        // two unknown spectra per wavelength (terms c), a resolution of 3 diagonals
        let nwave = 12, ndiag = 3, h = 1, np = 2
        let c = [0.7, -1.3]
        let (a, dense) = bandMatrix(n: nwave * np, kd: BandedDeconvolution.bandWidth(ndiag: ndiag, nterms: np))
        let cov = try a.cholesky().inverseBand(width: a.kd)
        let full = try choleskyInverse(dense)
        var g = SplitMix64(seed: 5)
        let r = (0..<(ndiag * nwave)).map { _ in Float(g.uniform()) }
        // R[i, j] = r[(h - (j - i)) * nwave + j]
        func relem(_ i: Int, _ j: Int) -> Double { abs(j - i) > h ? 0 : Double(r[(h - (j - i)) * nwave + j]) }
        let v = r.withUnsafeBufferPointer {
            BandedDeconvolution.convolvedVariance(resolution: $0, ndiag: ndiag, nwave: nwave, covariance: cov, terms: c)
        }
        for i in 0..<nwave {
            var s = 0.0
            for j in 0..<nwave {
                for k in 0..<nwave {
                    for p in 0..<np { for q in 0..<np { s += relem(i, j) * relem(i, k) * c[p] * c[q] * full[j * np + p, k * np + q] } }
                }
            }
            XCTAssertEqual(v[i], s, accuracy: 1e-12)
        }
    }
}
