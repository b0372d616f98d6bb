import XCTest

@testable import LinearAlgebra

final class ColumnMajorLAPACKTests: XCTestCase {
    /// The 1-norm of a symmetric matrix held by its upper triangle: the largest column sum of |a| of the full
    /// matrix (integers: exact sums), and the very same bits as the element-wise loop it replaced (issue 16).
    func testSymmetricOneNorm() {
        let n = 7
        var upper = [Double](repeating: 0, count: n * n)     // column-major upper triangle: (i, j), i <= j at j * n + i
        var full = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            for i in 0...j {
                let v = Double((i * 7 + j * 3) % 11) - 5
                upper[j * n + i] = v
                full[j * n + i] = v; full[i * n + j] = v
            }
            if j + 1 < n { upper[j * n + j + 1] = 1e9 }      // element (j + 1, j), below the diagonal: ignored
        }
        let expected = (0..<n).map { j in (0..<n).reduce(0.0) { $0 + abs(full[j * n + $1]) } }.max()!
        XCTAssertEqual(ColumnMajorLAPACK.symmetricOneNorm(upper, n: n), expected)

        var rng = SplitMix64(seed: 16)
        for m in [1, 2, 5, 64, 301] {
            let a = (0..<(m * m)).map { _ in rng.uniform() * 2 - 1 }
            var colsum = [Double](repeating: 0, count: m)     // the previous implementation, element by element
            for j in 0..<m {
                for i in 0...j {
                    let v = abs(a[j * m + i])
                    colsum[j] += v
                    if i != j { colsum[i] += v }
                }
            }
            XCTAssertEqual(ColumnMajorLAPACK.symmetricOneNorm(a, n: m), colsum.max()!, "n = \(m)")
        }
    }
}
