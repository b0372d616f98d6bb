/// Resolution matrices of a frame in DESI's storage layout ([nspec, ndiag, nwave] float32, desispec.resolution).
///
/// Diagonal `d` (0..<ndiag) has offset `k = ndiag/2 - d` (from +ndiag/2 down to -ndiag/2), and, as in
/// scipy's dia_matrix, `data[spec, d, j]` is the matrix element R[j - k, j]: row i = j - k, column j.
/// Row i of R gives how true flux at wavelengths j spreads into extracted bin i.
public struct ResolutionData: Sendable, Equatable {
    public var nspec: Int
    public var ndiag: Int
    public var nwave: Int
    public var data: [Float]

    public init(nspec: Int, ndiag: Int, nwave: Int, data: [Float]) {
        precondition(ndiag % 2 == 1, "ndiag must be odd")
        precondition(data.count == nspec * ndiag * nwave, "resolution data must have nspec*ndiag*nwave elements")
        self.nspec = nspec; self.ndiag = ndiag; self.nwave = nwave; self.data = data
    }

    public init(nspec: Int, ndiag: Int, nwave: Int) {
        self.init(nspec: nspec, ndiag: ndiag, nwave: nwave, data: [Float](repeating: 0, count: nspec * ndiag * nwave))
    }

    public var halfWidth: Int { ndiag / 2 }

    /// Offset of diagonal `d`.
    @inlinable public func offset(ofDiagonal d: Int) -> Int { ndiag / 2 - d }

    /// Element R[row, column] of spectrum `spec` (0 outside the band).
    public func element(spec: Int, row: Int, column: Int) -> Float {
        let k = column - row
        guard abs(k) <= ndiag / 2, column >= 0, column < nwave, row >= 0, row < nwave else { return 0 }
        let d = ndiag / 2 - k
        return data[(spec * ndiag + d) * nwave + column]
    }

    /// y = R x for the diagonals [ndiag, n] of one matrix in this layout (`diagonals[d * n + j]` = R[j - k, j],
    /// k = ndiag/2 - d), n = x.count: the one product of a resolution matrix and a spectrum. Float or Double
    /// storage; the sums are in Double, diagonal by diagonal.
    @inlinable
    public static func apply<R: BinaryFloatingPoint>(diagonals r: UnsafeBufferPointer<R>, ndiag: Int, to x: [Double]) -> [Double] {
        product(diagonals: r, ndiag: ndiag, x, transposed: false)
    }

    /// y = R^T x for the diagonals of one matrix, as `apply(diagonals:ndiag:to:)`: (R^T x)[j] = sum_i R[i, j] x[i].
    @inlinable
    public static func applyTranspose<R: BinaryFloatingPoint>(diagonals r: UnsafeBufferPointer<R>, ndiag: Int,
                                                              to x: [Double]) -> [Double] {
        product(diagonals: r, ndiag: ndiag, x, transposed: true)
    }

    /// R x or R^T x, diagonal by diagonal (element R[j - k, j] of diagonal d, k = ndiag/2 - d, multiplies x[j] into
    /// y[j - k], or x[j - k] into y[j]).
    @inlinable
    static func product<R: BinaryFloatingPoint>(diagonals r: UnsafeBufferPointer<R>, ndiag: Int, _ x: [Double],
                                                transposed: Bool) -> [Double] {
        let n = x.count
        precondition(r.count == ndiag * n, "resolution diagonals must hold ndiag * x.count values")
        var y = [Double](repeating: 0, count: n)
        let h = ndiag / 2
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                for d in 0..<ndiag {
                    let k = h - d
                    let base = d * n
                    let jlo = max(0, k), jhi = min(n, n + k)
                    if jlo >= jhi { continue }
                    if transposed {
                        for j in jlo..<jhi { py[j] += Double(r[base + j]) * px[j - k] }
                    } else {
                        for j in jlo..<jhi { py[j - k] += Double(r[base + j]) * px[j] }
                    }
                }
            }
        }
        return y
    }

    /// `apply(diagonals:ndiag:to:)` for diagonals held in an array.
    @inlinable
    public static func apply<R: BinaryFloatingPoint>(diagonals r: [R], ndiag: Int, to x: [Double]) -> [Double] {
        r.withUnsafeBufferPointer { apply(diagonals: $0, ndiag: ndiag, to: x) }
    }
}
