internal import CLAPACK

private let colMajor = Int32(LAPACK_COL_MAJOR)

/// LAPACK's dgelsd (minimum-norm least squares by SVD) on a column-major matrix, called through the `_work` interface:
/// no transposed copies and no NaN scans of LAPACKE's high-level call, the workspace sized by LAPACK's own query.
///
/// A tall problem (rows >= dgelsd's crossover 1.6 x cols) is reduced first, as dgelsd's own path 1a does it: A = QR
/// (dgeqrf), b <- Q^T b (dormqr), then dgelsd on the cols x cols triangle R and the first cols values of Q^T b.
/// Those are the operations dgelsd makes, on the same values, so the solution has the same bits (tested); what it saves
/// is dgelsd's max-norm of the whole matrix (dlange, one function call per element for its NaN test), which for the
/// 1000 x 9 fits of a trace inversion cost more than the factorisation. The reduction is taken only where dgelsd
/// would not rescale (max |A| and max |b| in its safe range) and cols <= 32 (LAPACK's block size for these routines:
/// below it every one of them runs unblocked, independent of the workspace length).
enum MinimumNormLeastSquares {
    /// Solves min |A x - b| for `a` column-major rows x cols (overwritten) and `b` (rows values, overwritten); returns
    /// x (cols values). `rcond`: singular values below rcond x the largest count as zero.
    static func solve(_ a: inout [Double], rows m: Int, cols n: Int, _ b: inout [Double], rcond: Double) throws -> [Double] {
        precondition(a.count == m * n && b.count == m, "least squares of \(m) x \(n) with \(a.count) and \(b.count) values")
        if reducesFirst(a, b, rows: m, cols: n) {
            var tau = [Double](repeating: 0, count: n)
            try a.withUnsafeMutableBufferPointer { pa in
                try tau.withUnsafeMutableBufferPointer { pt in
                    try b.withUnsafeMutableBufferPointer { pb in
                        try householderQR(pa.baseAddress!, rows: m, cols: n, tau: pt.baseAddress!)
                        try applyQTranspose(pa.baseAddress!, rows: m, cols: n, tau: pt.baseAddress!, to: pb.baseAddress!)
                    }
                }
            }
            var r = [Double](repeating: 0, count: n * n)
            for j in 0..<n { for i in 0...j { r[j * n + i] = a[j * m + i] } }
            var top = Array(b[0..<n])
            return try direct(&r, rows: n, cols: n, &top, rcond: rcond)
        }
        var bb = b
        if n > m { bb += [Double](repeating: 0, count: n - m) }
        return try direct(&a, rows: m, cols: n, &bb, rcond: rcond)
    }

    /// Whether `solve` reduces the problem by QR first (see the type's comment).
    static func reducesFirst(_ a: [Double], _ b: [Double], rows m: Int, cols n: Int) -> Bool {
        // ILAENV(6, 'DGELSD'): INT(REAL(MIN(M, N)) * 1.6E0), in single precision as LAPACK computes it
        let crossover = Int(Float(min(m, n)) * Float(1.6))
        guard n >= 2, n <= 32, m > n, m >= crossover else { return false }
        // inside dgelsd's range of no rescaling (SMLNUM = safe minimum / precision ~ 1e-292, BIGNUM its inverse),
        // with a margin; a NaN fails both comparisons
        func inSafeRange(_ v: [Double]) -> Bool {
            var largest = 0.0
            for x in v { let y = abs(x); if !(y <= largest) { largest = y } }
            return largest >= 1e-250 && largest <= 1e250
        }
        return inSafeRange(a) && inSafeRange(b)
    }

    /// dgelsd itself; `b` holds max(rows, cols) values, its first cols the solution afterwards.
    static func direct(_ a: inout [Double], rows m: Int, cols n: Int, _ b: inout [Double], rcond: Double) throws -> [Double] {
        precondition(b.count == max(m, n), "dgelsd's right-hand side holds max(rows, cols) values")
        var sv = [Double](repeating: 0, count: max(1, min(m, n)))
        var rank: Int32 = 0
        let info = a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                sv.withUnsafeMutableBufferPointer { ps -> Int32 in
                    let lda = Int32(max(1, m)), ldb = Int32(max(1, m, n))
                    var workSize = 0.0
                    var iworkSize: Int32 = 0
                    let query = LAPACKE_dgelsd_work(colMajor, Int32(m), Int32(n), 1, pa.baseAddress, lda, pb.baseAddress, ldb,
                                                    ps.baseAddress, rcond, &rank, &workSize, -1, &iworkSize)
                    if query != 0 { return query }
                    var work = [Double](repeating: 0, count: max(1, Int(workSize)))
                    var iwork = [Int32](repeating: 0, count: max(1, Int(iworkSize)))
                    return LAPACKE_dgelsd_work(colMajor, Int32(m), Int32(n), 1, pa.baseAddress, lda, pb.baseAddress, ldb,
                                               ps.baseAddress, rcond, &rank, &work, Int32(work.count), &iwork)
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgelsd", info: Int(info)) }
        return Array(b[0..<n])
    }

    /// A = QR in place (dgeqrf): R in the upper triangle, the reflectors below it and in `tau`.
    private static func householderQR(_ a: UnsafeMutablePointer<Double>, rows m: Int, cols n: Int,
                                      tau: UnsafeMutablePointer<Double>) throws {
        var size = 0.0
        var info = LAPACKE_dgeqrf_work(colMajor, Int32(m), Int32(n), a, Int32(m), tau, &size, -1)
        if info == 0 {
            var work = [Double](repeating: 0, count: max(1, Int(size)))
            info = LAPACKE_dgeqrf_work(colMajor, Int32(m), Int32(n), a, Int32(m), tau, &work, Int32(work.count))
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgeqrf", info: Int(info)) }
    }

    /// b <- Q^T b with the reflectors of `householderQR` (dormqr).
    private static func applyQTranspose(_ a: UnsafePointer<Double>, rows m: Int, cols n: Int, tau: UnsafePointer<Double>,
                                        to b: UnsafeMutablePointer<Double>) throws {
        let left = CChar(UInt8(ascii: "L")), transpose = CChar(UInt8(ascii: "T"))
        var size = 0.0
        var info = LAPACKE_dormqr_work(colMajor, left, transpose, Int32(m), 1, Int32(n), a, Int32(m), tau, b, Int32(m),
                                       &size, -1)
        if info == 0 {
            var work = [Double](repeating: 0, count: max(1, Int(size)))
            info = LAPACKE_dormqr_work(colMajor, left, transpose, Int32(m), 1, Int32(n), a, Int32(m), tau, b, Int32(m),
                                       &work, Int32(work.count))
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dormqr", info: Int(info)) }
    }
}
