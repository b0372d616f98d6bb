// Linear algebra of one patch on buffers reused from patch to patch (no allocation nor page faults per patch).

/// Buffers of one worker, reused by the patches of its sub-bundle.
final class PatchWorkspace {
    /// (kd + 1) x n: the inverse covariance in LAPACK lower band storage, then its band Cholesky factor.
    private(set) var band: [Double] = []
    /// n x n column-major: the band of the covariance (lower triangle, `BandLAPACK.inverseWithinBand`).
    private(set) var inverse: [Double] = []

    /// Zeroes the first (kd + 1) * n values of `band`, growing it when needed.
    func resetBand(n: Int, kd: Int) {
        let count = (kd + 1) * n
        if band.count < count {
            band = [Double](repeating: 0, count: count)
        } else {
            band.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: count) }
        }
    }

    /// Grows `inverse` to at least n * n values (not cleared: only what is written is read).
    func reserveInverse(n: Int) {
        if inverse.count < n * n { inverse = [Double](repeating: 0, count: n * n) }
    }

    func withBand<R>(_ body: (UnsafeMutablePointer<Double>) throws -> R) rethrows -> R {
        try band.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }

    func withInverse<R>(_ body: (UnsafeMutablePointer<Double>) throws -> R) rethrows -> R {
        try inverse.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}
