internal import CLAPACK
import Foundation

/// Errors of the dense linear algebra layer.
public enum LinearAlgebraError: Error, CustomStringConvertible, Sendable {
    /// Cholesky factorization failed: the matrix is not positive definite (LAPACK info > 0: leading minor order).
    case notPositiveDefinite(order: Int, size: Int)
    /// A LAPACK routine returned an error code.
    case lapack(routine: String, info: Int)
    /// Shapes do not fit.
    case shape(String)

    public var description: String {
        switch self {
        case .notPositiveDefinite(let order, let size):
            return "matrix of size \(size) is not positive definite (leading minor \(order) fails)"
        case .lapack(let routine, let info): return "LAPACK \(routine) failed with info=\(info)"
        case .shape(let m): return "shape mismatch: \(m)"
        }
    }
}

/// Threads of OpenBLAS. Keep BLAS at one thread when the caller already runs patches in parallel.
public enum BLASThreads {
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    public static var count: Int { Int(openblas_get_num_threads()) }
}

private let upperChar = CChar(UInt8(ascii: "U"))
private let lowerChar = CChar(UInt8(ascii: "L"))
private let vectorsChar = CChar(UInt8(ascii: "V"))
private let rowMajor = Int32(LAPACK_ROW_MAJOR)

// MARK: - BLAS products

/// C = op(A) op(B) (cblas_dgemm).
public func matmul(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
    let m = transposeA ? a.cols : a.rows
    let k = transposeA ? a.rows : a.cols
    let kb = transposeB ? b.cols : b.rows
    let n = transposeB ? b.rows : b.cols
    precondition(k == kb, "matmul: inner dimensions \(k) and \(kb) differ")
    var c = Matrix(rows: m, cols: n)
    if m == 0 || n == 0 || k == 0 { return c }
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            c.data.withUnsafeMutableBufferPointer { pc in
                cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), 1.0, pa.baseAddress, Int32(a.cols),
                            pb.baseAddress, Int32(b.cols), 0.0, pc.baseAddress, Int32(n))
            }
        }
    }
    return c
}

public func * (a: Matrix, b: Matrix) -> Matrix { matmul(a, b) }

/// y = op(A) x (cblas_dgemv).
public func matvec(_ a: Matrix, _ x: [Double], transpose: Bool = false) -> [Double] {
    let n = transpose ? a.rows : a.cols
    let m = transpose ? a.cols : a.rows
    precondition(x.count == n, "matvec: vector of \(x.count) for a matrix needing \(n)")
    var y = [Double](repeating: 0, count: m)
    if m == 0 || n == 0 { return y }
    a.data.withUnsafeBufferPointer { pa in
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                cblas_dgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(a.rows), Int32(a.cols), 1.0,
                            pa.baseAddress, Int32(a.cols), px.baseAddress, 1, 0.0, py.baseAddress, 1)
            }
        }
    }
    return y
}

/// A^T A (cblas_dsyrk), full symmetric result.
public func gram(_ a: Matrix) -> Matrix {
    let n = a.cols
    var c = Matrix(rows: n, cols: n)
    if n == 0 || a.rows == 0 { return c }
    a.data.withUnsafeBufferPointer { pa in
        c.data.withUnsafeMutableBufferPointer { pc in
            cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(n), Int32(a.rows), 1.0, pa.baseAddress, Int32(n),
                        0.0, pc.baseAddress, Int32(n))
        }
    }
    c.symmetrizeFromLower()
    return c
}

// MARK: - Cholesky

/// The Cholesky factor L (lower, row-major) of a symmetric positive definite matrix (LAPACKE_dpotrf).
public struct CholeskyFactor: Sendable {
    public let n: Int
    /// Row-major storage whose lower triangle holds L.
    public let storage: [Double]

    /// Factorizes `a` (only its lower triangle is read).
    public init(_ a: Matrix) throws {
        guard a.isSquare else { throw LinearAlgebraError.shape("Cholesky of a \(a.rows)x\(a.cols) matrix") }
        let size = a.rows
        n = size
        var s = a.data
        if size > 0 {
            let info = s.withUnsafeMutableBufferPointer { p in
                LAPACKE_dpotrf(rowMajor, lowerChar, Int32(size), p.baseAddress, Int32(size))
            }
            if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: Int(info), size: size) }
            if info < 0 { throw LinearAlgebraError.lapack(routine: "dpotrf", info: Int(info)) }
        }
        storage = s
    }

    /// Solves A x = b.
    public func solve(_ b: [Double]) -> [Double] {
        precondition(b.count == n, "Cholesky solve: right-hand side of \(b.count) for size \(n)")
        var x = b
        if n == 0 { return x }
        storage.withUnsafeBufferPointer { l in
            x.withUnsafeMutableBufferPointer { px in
                _ = LAPACKE_dpotrs(rowMajor, lowerChar, Int32(n), 1, UnsafeMutablePointer(mutating: l.baseAddress),
                                   Int32(n), px.baseAddress, 1)
            }
        }
        return x
    }

    /// Solves A X = B for a matrix B (n x k).
    public func solve(_ b: Matrix) -> Matrix {
        precondition(b.rows == n)
        var x = b
        if n == 0 || b.cols == 0 { return x }
        storage.withUnsafeBufferPointer { l in
            x.data.withUnsafeMutableBufferPointer { px in
                _ = LAPACKE_dpotrs(rowMajor, lowerChar, Int32(n), Int32(b.cols), UnsafeMutablePointer(mutating: l.baseAddress),
                                   Int32(n), px.baseAddress, Int32(b.cols))
            }
        }
        return x
    }

    /// A^-1 (LAPACKE_dpotri), full symmetric matrix.
    public func inverse() throws -> Matrix {
        var s = storage
        if n > 0 {
            let info = s.withUnsafeMutableBufferPointer { p in
                LAPACKE_dpotri(rowMajor, lowerChar, Int32(n), p.baseAddress, Int32(n))
            }
            if info != 0 { throw LinearAlgebraError.lapack(routine: "dpotri", info: Int(info)) }
        }
        var m = Matrix(rows: n, cols: n, data: s)
        m.symmetrizeFromLower()
        return m
    }

    /// log det A.
    public var logDeterminant: Double {
        var s = 0.0
        for i in 0..<n { s += 2 * log(storage[i * n + i]) }
        return s
    }
}

/// Solves A x = b for symmetric positive definite A (as desispec.linalg.cholesky_solve).
public func choleskySolve(_ a: Matrix, _ b: [Double]) throws -> [Double] { try CholeskyFactor(a).solve(b) }

/// A^-1 for symmetric positive definite A (as desispec.linalg.cholesky_invert).
public func choleskyInverse(_ a: Matrix) throws -> Matrix { try CholeskyFactor(a).inverse() }

// MARK: - Symmetric eigendecomposition

/// Eigenvalues (ascending) and eigenvectors (column k of `vectors` is the k-th eigenvector) of a
/// symmetric matrix (LAPACKE_dsyevd; the lower triangle is read).
public struct SymmetricEigen: Sendable {
    public let values: [Double]
    public let vectors: Matrix

    public init(_ a: Matrix) throws {
        guard a.isSquare else { throw LinearAlgebraError.shape("eigendecomposition of a \(a.rows)x\(a.cols) matrix") }
        let n = a.rows
        var v = a.data
        var w = [Double](repeating: 0, count: n)
        if n > 0 {
            let info = v.withUnsafeMutableBufferPointer { pv in
                w.withUnsafeMutableBufferPointer { pw in
                    LAPACKE_dsyevd(rowMajor, vectorsChar, lowerChar, Int32(n), pv.baseAddress, Int32(n), pw.baseAddress)
                }
            }
            if info != 0 { throw LinearAlgebraError.lapack(routine: "dsyevd", info: Int(info)) }
        }
        values = w
        vectors = Matrix(rows: n, cols: n, data: v)
    }

    /// V diag(f(values)) V^T.
    public func compose(_ scaled: [Double]) -> Matrix {
        let n = values.count
        precondition(scaled.count == n)
        var vs = vectors
        vs.data.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { for k in 0..<n { p[i * n + k] *= scaled[k] } }
        }
        return matmul(vs, vectors, transposeB: true)
    }

    /// Recomposes with eigenvalues transformed as specter.extract.ex2d.eigen_compose does: values below
    /// 10 machine epsilons of the largest (relative) are replaced by that floor before inverting or
    /// taking the square root, which keeps the condition number within double precision.
    public func composeRegularized(invert: Bool, squareRoot: Bool) -> Matrix {
        let threshold = 10.0 * Double.ulpOfOne
        let maxval = values.max() ?? 0
        let scaled: [Double]
        if squareRoot {
            let minval = maxval > 0 ? maxval.squareRoot() * threshold : 0
            scaled = values.map { w in
                let s = w > 0 ? w.squareRoot() : 0
                let v = s > minval ? s : minval
                return invert ? (v > 0 ? 1 / v : 0) : v
            }
        } else {
            let minval = maxval * threshold
            scaled = values.map { w in
                let v = w > minval ? w : minval
                return invert ? (v > 0 ? 1 / v : 0) : v
            }
        }
        return compose(scaled)
    }
}

/// Symmetric square root of a symmetric positive semi-definite matrix.
public func symmetricSquareRoot(_ a: Matrix) throws -> Matrix {
    try SymmetricEigen(a).composeRegularized(invert: false, squareRoot: true)
}

/// Inverse symmetric square root A^(-1/2).
public func symmetricInverseSquareRoot(_ a: Matrix) throws -> Matrix {
    try SymmetricEigen(a).composeRegularized(invert: true, squareRoot: true)
}
