internal import CLAPACK

// Dense symmetric linear algebra in LAPACK's own column-major layout (no transposed copies), in place on
// caller-owned buffers: the extraction's per-fiber resolution blocks, the CTE model's row-by-row solves. A symmetric
// matrix is held by its upper triangle, column-major: element (i, j), i <= j, at a[j * n + i]. The band solve of the
// extraction's patches is in LAPACK+Band.swift.

private let colMajor = Int32(LAPACK_COL_MAJOR)
private let upper = CChar(UInt8(ascii: "U"))

/// LAPACK and BLAS on column-major buffers, in place.
public enum ColumnMajorLAPACK {
    /// Cholesky factorisation A = U^T U in place (upper triangle of the column-major `a`); false if A is not
    /// positive definite.
    public static func choleskyUpper(_ a: UnsafeMutablePointer<Double>, n: Int) -> Bool {
        LAPACKE_dpotrf_work(colMajor, upper, Int32(n), a, Int32(n)) == 0
    }

    /// Solves U^T U x = b with the factor of `choleskyUpper`; b is overwritten by x.
    public static func solveUpper(_ u: UnsafeMutablePointer<Double>, n: Int, _ b: UnsafeMutablePointer<Double>) {
        _ = LAPACKE_dpotrs_work(colMajor, upper, Int32(n), 1, u, Int32(n), b, Int32(n))
    }

    /// specter.extract.ex2d.eigen_compose(w, v, invert=True, sqr=True) of a symmetric m x m matrix
    /// (column-major, full): V diag(1 / sqrt(max(w, floor))) V^T, eigenvalues floored at 10 machine epsilons
    /// of the square root of the largest. Returns the result column-major, or nil if the eigensolver fails.
    public static func inverseSquareRoot(_ symmetric: [Double], m: Int) -> [Double]? {
        var v = symmetric
        var w = [Double](repeating: 0, count: m)
        let info = v.withUnsafeMutableBufferPointer { pv in
            w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_dsyevd(colMajor, CChar(UInt8(ascii: "V")), upper, Int32(m), pv.baseAddress, Int32(m), pw.baseAddress)
            }
        }
        if info != 0 { return nil }
        let threshold = 10.0 * Double.ulpOfOne
        let maxval = w.max() ?? 0
        let minval = maxval > 0 ? maxval.squareRoot() * threshold : 0
        // scale column k of V by f(w_k), then (V f) V^T
        var vs = v
        vs.withUnsafeMutableBufferPointer { p in
            for k in 0..<m {
                let s = w[k] > 0 ? w[k].squareRoot() : 0
                let x = s > minval ? s : minval
                let f = x > 0 ? 1 / x : 0
                for i in 0..<m { p[k * m + i] *= f }
            }
        }
        var q = [Double](repeating: 0, count: m * m)
        vs.withUnsafeBufferPointer { a in
            v.withUnsafeBufferPointer { b in
                q.withUnsafeMutableBufferPointer { c in
                    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(m), Int32(m), 1.0,
                                a.baseAddress, Int32(m), b.baseAddress, Int32(m), 0.0, c.baseAddress, Int32(m))
                }
            }
        }
        return q
    }
}
