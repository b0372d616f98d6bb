internal import CLAPACK

// Symmetric positive-definite band matrices in LAPACK's lower band storage, in place on caller-owned buffers
// (the extraction solves thousands of patches on buffers reused from patch to patch): A[i, j], 0 <= i - j <= kd,
// at ab[j * (kd + 1) + (i - j)]. `SymmetricBandMatrix` / `BandCholesky` are the value-type interface with their
// own storage for small systems; this one is for the hot loop.

private let colMajor = Int32(LAPACK_COL_MAJOR)
private let lower = CChar(UInt8(ascii: "L"))

/// LAPACK and BLAS on band buffers, in place.
public enum BandLAPACK {
    /// 1-norm (largest absolute column sum) of the symmetric band matrix (LAPACK dlansb's '1' norm, which
    /// LAPACKE does not wrap): element (j + d, j) counts in columns j and, below the diagonal, j + d.
    public static func oneNorm(_ ab: UnsafePointer<Double>, n: Int, kd: Int) -> Double {
        var colsum = [Double](repeating: 0, count: n)
        colsum.withUnsafeMutableBufferPointer { cs in
            for j in 0..<n {
                let col = ab + j * (kd + 1)
                var sj = cs[j] + abs(col[0])
                for d in 1..<(min(kd, n - 1 - j) + 1) {
                    let v = abs(col[d])
                    sj += v
                    cs[j + d] += v
                }
                cs[j] = sj
            }
        }
        return colsum.max() ?? 0
    }

    /// Cholesky factorisation A = L L^T in place (dpbtrf); false if A is not positive definite.
    public static func cholesky(_ ab: UnsafeMutablePointer<Double>, n: Int, kd: Int) -> Bool {
        LAPACKE_dpbtrf_work(colMajor, lower, Int32(n), Int32(kd), ab, Int32(kd + 1)) == 0
    }

    /// LAPACK's estimate (dpbcon) of the reciprocal 1-norm condition number of A from its factor and its
    /// 1-norm; 0 when the estimate fails. (The _work entry point: LAPACKE_dpbcon would first scan the whole
    /// band for NaNs, ~0.3 % of an extracted frame; the factor of a successful dpbtrf has none.)
    public static func reciprocalCondition(factor l: UnsafePointer<Double>, n: Int, kd: Int, oneNorm: Double) -> Double {
        var rcond = 0.0
        let info = withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * n) { work in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { iwork in
                LAPACKE_dpbcon_work(colMajor, lower, Int32(n), Int32(kd), l, Int32(kd + 1), oneNorm, &rcond,
                                    work.baseAddress, iwork.baseAddress)
            }
        }
        return info == 0 ? rcond : 0
    }

    /// Solves L L^T x = b with the factor of `cholesky`; b is overwritten by x (dpbtrs).
    public static func solve(factor l: UnsafePointer<Double>, n: Int, kd: Int, _ b: UnsafeMutablePointer<Double>) {
        _ = LAPACKE_dpbtrs_work(colMajor, lower, Int32(n), Int32(kd), 1, l, Int32(kd + 1), b, Int32(n))
    }

    /// The elements of the inverse Z = A^-1 within the band, columns `firstColumn..<n`, from the Cholesky factor
    /// L of `cholesky` by selected inversion (Takahashi's recurrence, the one of `BandCholesky.inverseBand`):
    /// Z L = L^-T gives, column by column from the last, Z[j+1..., j] = -(1 / L[j, j]) Z[j+1..., j+1...] L[j+1..., j]
    /// and Z[j, j] = 1 / L[j, j]^2 - (1 / L[j, j]) L[j+1..., j] . Z[j+1..., j], the sums over the kd rows below j,
    /// which need only elements of later columns within the band. Written to the lower triangle of the
    /// column-major n x n `z` (leading dimension n): Z[i, j] at z[j * n + i], j <= i <= j + kd; nothing else is
    /// read or written. Cost ~ 2 n kd^2 (a symmetric matrix-vector product a column) instead of the dense
    /// inverse's n^3.
    public static func inverseWithinBand(factor l: UnsafePointer<Double>, n: Int, kd: Int, firstColumn: Int,
                                         into z: UnsafeMutablePointer<Double>) {
        let ldab = kd + 1
        for j in stride(from: n - 1, through: max(0, firstColumn), by: -1) {
            let ljj = l[j * ldab]
            let k = min(kd, n - 1 - j)
            let zcol = z + (j * n + j)
            if k > 0 {
                // y = Z[j+1..j+k, j+1..j+k] L[j+1..j+k, j] (lower triangle of the sub-block), scaled by -1/L[j, j]
                cblas_dsymv(CblasColMajor, CblasLower, Int32(k), -1 / ljj, zcol + n + 1, Int32(n),
                            l + (j * ldab + 1), 1, 0, zcol + 1, 1)
                zcol[0] = 1 / (ljj * ljj) - cblas_ddot(Int32(k), l + (j * ldab + 1), 1, zcol + 1, 1) / ljj
            } else {
                zcol[0] = 1 / (ljj * ljj)
            }
        }
    }
}
