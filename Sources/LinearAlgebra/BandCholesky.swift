internal import CLAPACK
import Foundation

/// A symmetric positive-definite band matrix, lower band storage: `band[d * n + i]` = A[i + d, i] for d in 0...kd.
public struct SymmetricBandMatrix: Sendable {
    public let n: Int
    public let kd: Int
    public var band: [Double]

    public init(n: Int, kd: Int) {
        self.n = n; self.kd = kd
        band = [Double](repeating: 0, count: n * (kd + 1))
    }

    /// Where A[r, c] (r >= c, r - c <= kd) is stored in `band`: diagonal r - c, column c.
    @inlinable public static func bandIndex(row r: Int, column c: Int, n: Int) -> Int { (r - c) * n + c }

    /// Adds v to A[i, j] (and its mirror); |i - j| must be <= kd.
    @inlinable public mutating func add(_ i: Int, _ j: Int, _ v: Double) {
        let (r, c) = i >= j ? (i, j) : (j, i)
        band[Self.bandIndex(row: r, column: c, n: n)] += v
    }

    @inlinable public func element(_ i: Int, _ j: Int) -> Double {
        let (r, c) = i >= j ? (i, j) : (j, i)
        if r - c > kd { return 0 }
        return band[Self.bandIndex(row: r, column: c, n: n)]
    }

    public var diagonal: [Double] { Array(band[0..<n]) }

    /// Cholesky factor of the band matrix (LAPACKE_dpbtrf, column-major lower band storage).
    public func cholesky() throws -> BandCholesky {
        // LAPACK lower band storage, column-major: AB(1 + i - j, j) = A(i, j), ldab = kd + 1.
        let ldab = kd + 1
        var ab = [Double](repeating: 0, count: ldab * n)
        for d in 0...kd { for c in 0..<(n - d) { ab[c * ldab + d] = band[d * n + c] } }
        let info = ab.withUnsafeMutableBufferPointer { p in
            LAPACKE_dpbtrf(Int32(LAPACK_COL_MAJOR), CChar(UInt8(ascii: "L")), Int32(n), Int32(kd), p.baseAddress, Int32(ldab))
        }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: Int(info), size: n) }
        if info < 0 { throw LinearAlgebraError.lapack(routine: "dpbtrf", info: Int(info)) }
        return BandCholesky(n: n, kd: kd, factor: ab)
    }
}

/// The Cholesky factor of a `SymmetricBandMatrix`.
public struct BandCholesky: Sendable {
    public let n: Int
    public let kd: Int
    let factor: [Double]

    /// Solves A x = b (LAPACKE_dpbtrs).
    public func solve(_ b: [Double]) -> [Double] {
        var x = b
        factor.withUnsafeBufferPointer { f in
            x.withUnsafeMutableBufferPointer { px in
                _ = LAPACKE_dpbtrs(Int32(LAPACK_COL_MAJOR), CChar(UInt8(ascii: "L")), Int32(n), Int32(kd), 1,
                                   UnsafeMutablePointer(mutating: f.baseAddress), Int32(kd + 1), px.baseAddress, Int32(n))
            }
        }
        return x
    }
}

/// The band of the inverse of a symmetric band matrix, lower storage: `band[k * n + i]` = (A^-1)[i + k, i].
public struct SymmetricBandInverse: Sendable {
    public let n: Int
    public let width: Int
    public var band: [Double]

    @inlinable public func element(_ i: Int, _ j: Int) -> Double {
        let (r, c) = i >= j ? (i, j) : (j, i)
        if r - c > width { return 0 }
        return band[(r - c) * n + c]
    }

    public var diagonal: [Double] { Array(band[0..<n]) }
}

extension BandCholesky {
    /// The elements of A^-1 within `width` of the diagonal (the selection), from the Cholesky factor by the
    /// backward recurrence Z = L^-T L^-1 of selected inversion (Takahashi's equations): row i of Z needs only the
    /// elements of rows i+1... within kd of the diagonal, so the band of width max(width, kd) is computed and the
    /// requested one returned. Cost n * width * kd instead of the n^2 * kd of solving for every column.
    public func inverseBand(width requested: Int) -> SymmetricBandInverse {
        let w = max(requested, kd)
        let ldab = kd + 1
        var z = [Double](repeating: 0, count: (w + 1) * n)
        factor.withUnsafeBufferPointer { l in
            z.withUnsafeMutableBufferPointer { zb in
                // L[r, c] = l[c * ldab + (r - c)] for 0 <= r - c <= kd
                @inline(__always) func zget(_ a: Int, _ b: Int) -> Double {
                    let (r, c) = a >= b ? (a, b) : (b, a)
                    return r - c > w ? 0 : zb[(r - c) * n + c]
                }
                for i in stride(from: n - 1, through: 0, by: -1) {
                    let lii = l[i * ldab]
                    let kmax = min(i + kd, n - 1)
                    let jmax = min(i + w, n - 1)
                    if jmax > i {
                        for j in stride(from: jmax, through: i + 1, by: -1) {
                            var s = 0.0
                            if kmax > i { for k in (i + 1)...kmax { s += l[i * ldab + (k - i)] * zget(k, j) } }
                            zb[(j - i) * n + i] = -s / lii
                        }
                    }
                    var s = 0.0
                    if kmax > i { for k in (i + 1)...kmax { s += l[i * ldab + (k - i)] * zb[(k - i) * n + i] } }
                    zb[i] = 1 / (lii * lii) - s / lii
                }
            }
        }
        if w == requested { return SymmetricBandInverse(n: n, width: w, band: z) }
        return SymmetricBandInverse(n: n, width: requested, band: Array(z[0..<((requested + 1) * n)]))
    }
}
