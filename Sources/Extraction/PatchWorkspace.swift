// Dense linear algebra of one patch, in LAPACK's own column-major layout on buffers reused from patch to patch.
// The inverse covariance is symmetric, so the lower triangle accumulated row by row (element [i * n + j], j <= i)
// is, read column-major, its upper triangle: LAPACK works on it in place, without the transposed copies (and
// the page faults of allocating them) that LAPACKE's row-major interface makes.

/// Buffers of one worker, reused by the patches of its sub-bundle.
final class PatchWorkspace {
    /// n x n: the inverse covariance (upper triangle, column-major), then its Cholesky factor U, then U^-1.
    private(set) var factor: [Double] = []

    /// Zeroes the first n * n values of `factor` (growing it when needed) and returns n.
    func resetFactor(_ n: Int) {
        if factor.count < n * n {
            factor = [Double](repeating: 0, count: n * n)
        } else {
            factor.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: n * n) }
        }
    }

    func withFactor<R>(_ body: (UnsafeMutablePointer<Double>) throws -> R) rethrows -> R {
        try factor.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}
