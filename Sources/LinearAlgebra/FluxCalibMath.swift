internal import CLAPACK
import Foundation

// Numerical helpers of the standard-star fit and of the flux calibration (helper "fluxcal"):
// flux-conserving resampling, linear interpolation, scipy-like median filter with zero padding,
// trapezoid integration, and a banded symmetric positive-definite solver (LAPACKE dpbtrf/dpbtrs).

public enum FluxCalibMath {

    /// Flux-conserving resampling of a flux density (desispec.interpolation.resample_flux, unweighted).
    ///
    /// The input is read as the nodes of a piecewise-linear function; each output value is the mean of that
    /// function over the output bin, whose edges are the midpoints between output nodes (end bins extend by half
    /// a step). Outside the input range the function falls linearly to zero over one input step, or keeps the
    /// edge value when `extrapolate`. Both grids must be sorted increasing.
    public static func resampleFlux(_ xout: [Double], _ x: [Double], _ y: [Double], extrapolate: Bool = false) -> [Double] {
        let n = xout.count
        guard n > 0, x.count >= 2, y.count == x.count else { return [Double](repeating: 0, count: n) }
        // input nodes, extended as desispec does
        var ix = x, iy = y
        if !extrapolate {
            ix.insert(2 * x[0] - x[1], at: 0); iy.insert(0, at: 0)
            ix.append(2 * x[x.count - 1] - x[x.count - 2]); iy.append(0)
        }
        // bin edges
        var edges = [Double](repeating: 0, count: n + 1)
        if n == 1 {
            // a single output node: a unit-width bin as numpy would not define; use the input step
            let h = (ix[ix.count - 1] - ix[0]) / Double(ix.count - 1) / 2
            edges[0] = xout[0] - h; edges[1] = xout[0] + h
        } else {
            for j in 1..<n { edges[j] = 0.5 * (xout[j - 1] + xout[j]) }
            edges[0] = 1.5 * xout[0] - 0.5 * xout[1]
            edges[n] = 1.5 * xout[n - 1] - 0.5 * xout[n - 2]
        }
        // cumulative integral of the piecewise-linear function at each edge
        let m = ix.count
        var cum = [Double](repeating: 0, count: n + 1)
        ix.withUnsafeBufferPointer { px in
            iy.withUnsafeBufferPointer { py in
                var k = 0              // segment index: px[k] <= t < px[k+1]
                var acc = 0.0          // integral from px[0] to px[k]
                // value of the function at t (np.interp semantics: edge values beyond the ends)
                @inline(__always) func value(_ t: Double, _ k: Int) -> Double {
                    if t <= px[0] { return py[0] }
                    if t >= px[m - 1] { return py[m - 1] }
                    let d = px[k + 1] - px[k]
                    return d > 0 ? py[k] + (py[k + 1] - py[k]) * (t - px[k]) / d : py[k]
                }
                for e in 0...n {
                    let t = edges[e]
                    if t <= px[0] {
                        cum[e] = (t - px[0]) * py[0]   // constant extension (0 unless extrapolating)
                        continue
                    }
                    while k < m - 2 && px[k + 1] <= t {
                        acc += 0.5 * (py[k] + py[k + 1]) * (px[k + 1] - px[k]); k += 1
                    }
                    if t >= px[m - 1] {
                        // whole function plus constant extension beyond the last node
                        var total = acc
                        if px[k + 1] > px[k] { total += 0.5 * (py[k] + py[k + 1]) * (px[k + 1] - px[k]) }
                        cum[e] = total + (t - px[m - 1]) * py[m - 1]
                    } else {
                        let v = value(t, k)
                        cum[e] = acc + 0.5 * (py[k] + v) * (t - px[k])
                    }
                }
            }
        }
        var out = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let w = edges[j + 1] - edges[j]
            out[j] = w > 0 ? (cum[j + 1] - cum[j]) / w : 0
        }
        return out
    }

    /// Weighted resampling (desispec resample_flux with ivar): flux = R(f*ivar)/R(ivar); ivar = R(ivar/dx)*dxout.
    public static func resampleFlux(_ xout: [Double], _ x: [Double], _ y: [Double], ivar: [Double]) -> (flux: [Double], ivar: [Double]) {
        let fy = zip(y, ivar).map { $0 * $1 }
        let a = resampleFlux(xout, x, fy)
        let b = resampleFlux(xout, x, ivar)
        var flux = [Double](repeating: 0, count: xout.count)
        for j in 0..<xout.count where b[j] > 0 { flux[j] = a[j] / b[j] }
        let dx = gradient(x), dxo = gradient(xout)
        let ivdx = zip(ivar, dx).map { $1 != 0 ? $0 / $1 : 0 }
        var oiv = resampleFlux(xout, x, ivdx)
        for j in 0..<oiv.count { oiv[j] *= dxo[j] }
        return (flux, oiv)
    }

    /// numpy.gradient of a 1-D grid with unit spacing in index (central differences, one-sided at the ends).
    public static func gradient(_ x: [Double]) -> [Double] {
        let n = x.count
        guard n >= 2 else { return [Double](repeating: 0, count: n) }
        var g = [Double](repeating: 0, count: n)
        g[0] = x[1] - x[0]; g[n - 1] = x[n - 1] - x[n - 2]
        if n > 2 { for i in 1..<(n - 1) { g[i] = 0.5 * (x[i + 1] - x[i - 1]) } }
        return g
    }

    /// Linear interpolation with numpy.interp semantics (edge values outside, or `left`/`right` when given).
    public static func interp(_ t: [Double], _ x: [Double], _ y: [Double], left: Double? = nil, right: Double? = nil) -> [Double] {
        let m = x.count
        guard m > 0 else { return [Double](repeating: 0, count: t.count) }
        return t.map { v in
            if v < x[0] { return left ?? y[0] }
            if v > x[m - 1] { return right ?? y[m - 1] }
            if m == 1 { return y[0] }
            // binary search for the segment
            var lo = 0, hi = m - 1
            while hi - lo > 1 { let mid = (lo + hi) / 2; if x[mid] <= v { lo = mid } else { hi = mid } }
            let d = x[hi] - x[lo]
            return d > 0 ? y[lo] + (y[hi] - y[lo]) * (v - x[lo]) / d : y[lo]
        }
    }

    /// scipy.ndimage.median_filter(x, size, mode='constant', cval=0): windows reaching past the ends see zeros.
    /// Window of output i: x[i - size/2 ..< i - size/2 + size]; the value of rank size/2 is returned.
    /// A sorted sliding window makes it O(n log size + n size) with small constants.
    public static func medianFilterZeroPadded(_ x: [Double], size: Int) -> [Double] {
        let n = x.count
        guard n > 0, size > 1 else { return x }
        let left = size / 2
        @inline(__always) func at(_ i: Int) -> Double { (i >= 0 && i < n) ? x[i] : 0 }
        var window = (0..<size).map { at($0 - left) }
        window.sort()
        var out = [Double](repeating: 0, count: n)
        window.withUnsafeMutableBufferPointer { w in
            @inline(__always) func lowerBound(_ v: Double) -> Int {
                var lo = 0, hi = size
                while lo < hi { let mid = (lo + hi) >> 1; if w[mid] < v { lo = mid + 1 } else { hi = mid } }
                return lo
            }
            for i in 0..<n {
                out[i] = w[size / 2]
                if i == n - 1 { break }
                let leaving = at(i - left), entering = at(i - left + size)
                if leaving == entering { continue }
                // remove `leaving`
                var p = lowerBound(leaving)
                // replace in place and bubble to keep order (memmove by shifting)
                if entering > leaving {
                    var q = p
                    while q + 1 < size && w[q + 1] < entering { w[q] = w[q + 1]; q += 1 }
                    w[q] = entering
                } else {
                    while p > 0 && w[p - 1] > entering { w[p] = w[p - 1]; p -= 1 }
                    w[p] = entering
                }
            }
        }
        return out
    }

    /// Trapezoid integral of y(x).
    public static func trapz(_ y: [Double], _ x: [Double]) -> Double {
        guard x.count >= 2 else { return 0 }
        var s = 0.0
        for i in 1..<x.count { s += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]) }
        return s
    }
}

/// A symmetric positive-definite band matrix, lower band storage: `band[d * n + i]` = A[i + d, i] for d in 0...kd.
public struct SymmetricBandMatrix: Sendable {
    public let n: Int
    public let kd: Int
    public var band: [Double]

    public init(n: Int, kd: Int) {
        self.n = n; self.kd = kd
        band = [Double](repeating: 0, count: n * (kd + 1))
    }

    /// Adds v to A[i, j] (and its mirror); |i - j| must be <= kd.
    @inlinable public mutating func add(_ i: Int, _ j: Int, _ v: Double) {
        let (r, c) = i >= j ? (i, j) : (j, i)
        band[(r - c) * n + c] += v
    }

    @inlinable public func element(_ i: Int, _ j: Int) -> Double {
        let (r, c) = i >= j ? (i, j) : (j, i)
        if r - c > kd { return 0 }
        return band[(r - c) * n + c]
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

    /// The band of half-width `width` of A^-1: `result[(k + width) * n + i]` = (A^-1)[i, i + k] for |k| <= width
    /// (0 outside the matrix). Solves one column at a time, in parallel over blocks of columns.
    public func inverseBand(width: Int) -> [Double] {
        let nb = 2 * width + 1
        var out = [Double](repeating: 0, count: nb * n)
        let nblocks = max(1, min(n, ProcessInfo.processInfo.activeProcessorCount * 4))
        let chunk = (n + nblocks - 1) / nblocks
        out.withUnsafeMutableBufferPointer { po in
            let base = po.baseAddress!
            nonisolated(unsafe) let ob = base
            DispatchQueue.concurrentPerform(iterations: nblocks) { blk in
                let lo = blk * chunk, hi = min(n, lo + chunk)
                if lo >= hi { return }
                var e = [Double](repeating: 0, count: n)
                for j in lo..<hi {
                    for i in 0..<n { e[i] = 0 }
                    e[j] = 1
                    let col = solve(e)   // column j of the inverse
                    for k in -width...width {
                        let i = j - k     // element (i, j) = (i, i + k)
                        if i < 0 || i >= n { continue }
                        ob[(k + width) * n + i] = col[i]
                    }
                }
            }
        }
        return out
    }
}
