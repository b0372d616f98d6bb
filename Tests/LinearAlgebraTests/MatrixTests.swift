import XCTest
@testable import LinearAlgebra

final class MatrixTests: XCTestCase {
    /// A known symmetric positive definite matrix: tridiagonal (-1, 4, -1) plus a rank-one term.
    func spd(_ n: Int) -> Matrix {
        var a = Matrix(rows: n, cols: n)
        for i in 0..<n {
            a[i, i] = 4
            if i > 0 { a[i, i - 1] = -1; a[i - 1, i] = -1 }
        }
        for i in 0..<n { for j in 0..<n { a[i, j] += 0.1 * Double(i + 1) * Double(j + 1) / Double(n) } }
        return a
    }

    func testGemmAndGram() {
        let a = Matrix(rows: 2, cols: 3, data: [1, 2, 3, 4, 5, 6])
        let b = Matrix(rows: 3, cols: 2, data: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual((a * b).data, [58, 64, 139, 154])
        XCTAssertEqual(matmul(a, a, transposeB: true).data, [14, 32, 32, 77])
        XCTAssertEqual(gram(a).data, [17, 22, 27, 22, 29, 36, 27, 36, 45])
        XCTAssertEqual(matvec(a, [1, 0, -1]), [-2, -2])
        XCTAssertEqual(matvec(a, [1, 1], transpose: true), [5, 7, 9])
    }

    func testCholeskySolveAndInverse() throws {
        let a = spd(30)
        let x = (0..<30).map { sin(Double($0)) }
        let b = matvec(a, x)
        let sol = try choleskySolve(a, b)
        for i in 0..<30 { XCTAssertEqual(sol[i], x[i], accuracy: 1e-12) }
        let inv = try choleskyInverse(a)
        let id = a * inv
        for i in 0..<30 { for j in 0..<30 { XCTAssertEqual(id[i, j], i == j ? 1 : 0, accuracy: 1e-12) } }
        // log det of diag(2, 3) = log 6
        XCTAssertEqual(try CholeskyFactor(Matrix.diagonal([2, 3])).logDeterminant, log(6), accuracy: 1e-14)
    }

    func testNotPositiveDefiniteThrows() {
        let a = Matrix(rows: 2, cols: 2, data: [1, 2, 2, 1])
        XCTAssertThrowsError(try CholeskyFactor(a)) { e in
            guard case LinearAlgebraError.notPositiveDefinite(let order, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(order, 2)
        }
    }

    func testEigenAndSquareRoots() throws {
        // eigenvalues of [[2,1],[1,2]] are 1 and 3
        let e = try SymmetricEigen(Matrix(rows: 2, cols: 2, data: [2, 1, 1, 2]))
        XCTAssertEqual(e.values[0], 1, accuracy: 1e-14); XCTAssertEqual(e.values[1], 3, accuracy: 1e-14)
        let a = spd(25)
        let s = try symmetricSquareRoot(a)
        let s2 = s * s
        for i in 0..<(25 * 25) { XCTAssertEqual(s2.data[i], a.data[i], accuracy: 1e-12) }
        let q = try symmetricInverseSquareRoot(a)
        let shouldBeId = q * a * q
        for i in 0..<25 { for j in 0..<25 { XCTAssertEqual(shouldBeId[i, j], i == j ? 1 : 0, accuracy: 1e-11) } }
        // eigenvalue floor: a singular matrix still gives a finite inverse square root
        let sing = Matrix(rows: 2, cols: 2, data: [1, 1, 1, 1])
        let qs = try symmetricInverseSquareRoot(sing)
        XCTAssertTrue(qs.data.allSatisfy { $0.isFinite })
    }

    func testBlocksAndRowSums() {
        let m = Matrix(rows: 3, cols: 3, data: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertEqual(m.block(1..<3).data, [5, 6, 8, 9])
        XCTAssertEqual(m.rowSums, [6, 15, 24])
        XCTAssertEqual(m.transposed.data, [1, 4, 7, 2, 5, 8, 3, 6, 9])
    }
}
