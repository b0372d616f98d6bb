internal import CLAPACK

// Dense symmetric linear algebra in LAPACK's own column-major layout, in place on caller-owned buffers (no copies:
// the extraction solves thousands of patches on buffers reused from patch to patch). A symmetric matrix is held by
// its upper triangle, column-major: element (i, j), i <= j, at a[j * n + i].

private let colMajor = Int32(LAPACK_COL_MAJOR)
private let upper = CChar(UInt8(ascii: "U"))

/// LAPACK and BLAS on column-major buffers, in place.
public enum ColumnMajorLAPACK {
    /// Cholesky factorisation A = U^T U in place (upper triangle of the column-major `a`); false if A is not
    /// positive definite.
    public static func choleskyUpper(_ a: UnsafeMutablePointer<Double>, n: Int) -> Bool {
        LAPACKE_dpotrf_work(colMajor, upper, Int32(n), a, Int32(n)) == 0
    }

    /// 1-norm (largest absolute column sum) of the symmetric matrix whose upper triangle, column-major, is `a`.
    /// Column j's sum gets its rows i <= j in order, then the rows j of the later columns in order (the same
    /// additions, in the same order, as summing the full matrix column by column with the mirrored entries
    /// added as they are met); through a buffer pointer, so that the loop has no bounds checks.
    public static func symmetricOneNorm(_ a: UnsafePointer<Double>, n: Int) -> Double {
        var colsum = [Double](repeating: 0, count: n)
        colsum.withUnsafeMutableBufferPointer { cs in
            for j in 0..<n {
                let col = a + j * n
                var sj = cs[j]          // 0: no earlier column has a row j
                for i in 0..<j {
                    let v = abs(col[i])
                    sj += v
                    cs[i] += v
                }
                cs[j] = sj + abs(col[j])
            }
        }
        return colsum.max() ?? 0
    }

    /// LAPACK's estimate (dpocon) of the reciprocal 1-norm condition number of A from its Cholesky factor U and
    /// its 1-norm; 0 when the estimate fails.
    public static func reciprocalCondition(factor u: UnsafePointer<Double>, n: Int, oneNorm: Double) -> Double {
        var rcond = 0.0
        let info = LAPACKE_dpocon(colMajor, upper, Int32(n), u, Int32(n), oneNorm, &rcond)
        return info == 0 ? rcond : 0
    }

    /// Solves U^T U x = b with the factor of `choleskyUpper`; b is overwritten by x.
    public static func solveUpper(_ u: UnsafeMutablePointer<Double>, n: Int, _ b: UnsafeMutablePointer<Double>) {
        _ = LAPACKE_dpotrs_work(colMajor, upper, Int32(n), 1, u, Int32(n), b, Int32(n))
    }

    /// U^-1 in place (upper triangular inverse); false if U is singular.
    public static func invertUpperTriangular(_ u: UnsafeMutablePointer<Double>, n: Int) -> Bool {
        LAPACKE_dtrtri_work(colMajor, upper, CChar(UInt8(ascii: "N")), Int32(n), u, Int32(n)) == 0
    }

    /// The diagonal block [a0, a0 + m) of the covariance C = A^-1 = V V^T, with V = U^-1 upper triangular:
    /// C[a0.., a0..] = V[a0..<a0+m, a0..<n] V[a0..<a0+m, a0..<n]^T (columns of V before a0 are zero in those
    /// rows). Returns the full symmetric m x m block, column-major.
    public static func covarianceBlock(inverseFactor v: UnsafeMutablePointer<Double>, n: Int, start a0: Int, count m: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * m)
        c.withUnsafeMutableBufferPointer { pc in
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, Int32(m), Int32(n - a0), 1.0,
                        v + (a0 * n + a0), Int32(n), 0.0, pc.baseAddress, Int32(m))
            for j in 0..<m { for i in (j + 1)..<m { pc[j * m + i] = pc[i * m + j] } }
        }
        return c
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
