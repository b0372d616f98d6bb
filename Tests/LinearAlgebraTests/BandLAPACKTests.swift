import Foundation
import LinearAlgebra
import XCTest

/// The in-place band routines of the extraction (BandLAPACK) against dense linear algebra.
final class BandLAPACKTests: XCTestCase {
    /// A symmetric positive-definite band matrix of half width kd in LAPACK lower band storage
    /// (A[i, j] at ab[j * (kd + 1) + i - j]), with its dense copy; `scale` spreads the diagonal over decades.
    func bandMatrix(n: Int, kd: Int, seed: UInt64, scale: Double = 0) -> ([Double], Matrix) {
        var g = SplitMix64(seed: seed)
        var ab = [Double](repeating: 0, count: (kd + 1) * n)
        var dense = Matrix(rows: n, cols: n)
        for j in 0..<n {
            let d = (2 * Double(kd) + 1 + g.uniform()) * pow(10, scale * Double(j % 7))
            ab[j * (kd + 1)] = d; dense[j, j] = d
            for k in 0..<(min(kd, n - 1 - j) + 1) where k > 0 {
                let v = (g.uniform() - 0.5) * pow(10, scale * Double(min(j % 7, (j + k) % 7)))
                ab[j * (kd + 1) + k] = v; dense[j + k, j] = v; dense[j, j + k] = v
            }
        }
        return (ab, dense)
    }

    func testOneNormIsTheLargestColumnSum() {
        for (n, kd) in [(1, 0), (6, 0), (9, 3), (30, 29), (50, 7)] {
            var (ab, dense) = bandMatrix(n: n, kd: kd, seed: 3)
            for i in ab.indices { ab[i] = (ab[i] * 8).rounded() }             // integers: exact sums
            for j in 0..<n { for i in 0..<n where abs(i - j) <= kd {
                dense[i, j] = ab[min(i, j) * (kd + 1) + abs(i - j)]
            } }
            let expected = (0..<n).map { j in (0..<n).reduce(0.0) { $0 + abs(dense[$1, j]) } }.max()!
            XCTAssertEqual(ab.withUnsafeBufferPointer { BandLAPACK.oneNorm($0.baseAddress!, n: n, kd: kd) }, expected,
                           "n \(n) kd \(kd)")
        }
    }

    /// Cholesky, solve and the selected inverse against the dense Cholesky inverse; on a well-conditioned
    /// matrix and on one with its diagonal over 12 decades (condition ~1e12, as the extraction's patches can be).
    func testSolveAndInverseWithinBandMatchDense() throws {
        for (n, kd, scale) in [(1, 0, 0.0), (12, 0, 0.0), (40, 5, 0.0), (120, 30, 0.0), (60, 59, 0.0), (90, 20, 2.0)] {
            var (ab, dense) = bandMatrix(n: n, kd: kd, seed: UInt64(n + kd))
            let inverse = try choleskyInverse(dense)
            let b = (0..<n).map { sin(Double($0) + 0.3) }
            let expected = try choleskySolve(dense, b)
            var x = b
            var z = [Double](repeating: .nan, count: n * n)       // elements outside the band must stay untouched
            let first = n / 3
            let ok = ab.withUnsafeMutableBufferPointer { l -> Bool in
                let norm = BandLAPACK.oneNorm(l.baseAddress!, n: n, kd: kd)
                guard BandLAPACK.cholesky(l.baseAddress!, n: n, kd: kd) else { return false }
                XCTAssertGreaterThan(BandLAPACK.reciprocalCondition(factor: l.baseAddress!, n: n, kd: kd, oneNorm: norm), 0)
                x.withUnsafeMutableBufferPointer { BandLAPACK.solve(factor: l.baseAddress!, n: n, kd: kd, $0.baseAddress!) }
                z.withUnsafeMutableBufferPointer {
                    BandLAPACK.inverseWithinBand(factor: l.baseAddress!, n: n, kd: kd, firstColumn: first, into: $0.baseAddress!)
                }
                return true
            }
            XCTAssertTrue(ok)
            let xmax = expected.map(abs).max()!
            for i in 0..<n { XCTAssertEqual(x[i], expected[i], accuracy: 1e-12 * xmax, "n \(n) kd \(kd) x[\(i)]") }
            for j in 0..<n {
                for i in 0..<n {
                    let v = z[j * n + i]
                    if j >= first && i >= j && i - j <= kd {
                        let tol = 1e-11 * (inverse[i, i] * inverse[j, j]).squareRoot()
                        XCTAssertEqual(v, inverse[i, j], accuracy: tol, "n \(n) kd \(kd) Z[\(i), \(j)]")
                    } else {
                        XCTAssertTrue(v.isNaN, "n \(n) kd \(kd): Z[\(i), \(j)] outside the selection was written")
                    }
                }
            }
        }
    }

    func testCholeskyRefusesAnIndefiniteMatrix() {
        var ab: [Double] = [1, 2, 1, 0]     // n 2, kd 1: [[1, 2], [2, 1]]
        XCTAssertFalse(ab.withUnsafeMutableBufferPointer { BandLAPACK.cholesky($0.baseAddress!, n: 2, kd: 1) })
    }
}
