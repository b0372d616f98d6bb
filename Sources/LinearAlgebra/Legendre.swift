import Foundation

/// Legendre series (numpy.polynomial.legendre conventions): c[0] P0(x) + c[1] P1(x) + ...
public enum Legendre {
    /// Value of the series with coefficients `c` at `x` (Clenshaw recurrence, as numpy's legval).
    @inlinable
    public static func value(_ x: Double, _ c: UnsafeBufferPointer<Double>) -> Double {
        let n = c.count
        if n == 0 { return 0 }
        if n == 1 { return c[0] }
        if n == 2 { return c[0] + c[1] * x }
        // b_k = c_k + (2k+1)/(k+1) x b_{k+1} - (k+1)/(k+2) b_{k+2}, written in numpy's two-register form.
        var nd = Double(n)
        var c0 = c[n - 2], c1 = c[n - 1]
        var i = 3
        while i <= n {
            let tmp = c0
            nd -= 1
            c0 = c[n - i] - (c1 * (nd - 1)) / nd
            c1 = tmp + (c1 * x * (2 * nd - 1)) / nd
            i += 1
        }
        return c0 + c1 * x
    }

    /// `value(x[q], c)` in each of four lanes: the same branches on the count and the same two-register recurrence,
    /// each lane rounding as the scalar form (elementwise IEEE operations), so the same bits; four independent
    /// chains of divisions for callers that evaluate many points (the trace shifts' Newton inversion).
    @inlinable
    public static func value(_ x: SIMD4<Double>, _ c: UnsafeBufferPointer<Double>) -> SIMD4<Double> {
        let n = c.count
        if n == 0 { return SIMD4(repeating: 0) }
        if n == 1 { return SIMD4(repeating: c[0]) }
        if n == 2 { return SIMD4(repeating: c[0]) + SIMD4(repeating: c[1]) * x }
        var nd = Double(n)
        var c0 = SIMD4<Double>(repeating: c[n - 2]), c1 = SIMD4<Double>(repeating: c[n - 1])
        var i = 3
        while i <= n {
            let tmp = c0
            nd -= 1
            c0 = SIMD4(repeating: c[n - i]) - (c1 * (nd - 1)) / SIMD4(repeating: nd)
            c1 = tmp + (c1 * x * (2 * nd - 1)) / SIMD4(repeating: nd)
            i += 1
        }
        return c0 + c1 * x
    }

    /// `value(reduced(v, min:max:), c)` at every value v of `values`, four at a time (the lane form: the same bits).
    public static func values(at values: UnsafeBufferPointer<Double>, _ c: UnsafeBufferPointer<Double>,
                              min wmin: Double, max wmax: Double) -> [Double] {
        let n = values.count
        var out = [Double](repeating: 0, count: n)
        var k = 0
        while k + 4 <= n {
            let u = reduced(SIMD4(values[k], values[k + 1], values[k + 2], values[k + 3]), min: wmin, max: wmax)
            let y = value(u, c)
            for q in 0..<4 { out[k + q] = y[q] }
            k += 4
        }
        while k < n { out[k] = value(reduced(values[k], min: wmin, max: wmax), c); k += 1 }
        return out
    }

    /// Value of the series with coefficients `c` at `x`.
    public static func value(_ x: Double, _ c: [Double]) -> Double {
        c.withUnsafeBufferPointer { value(x, $0) }
    }

    /// P_0(x) ... P_deg(x) into `out` (count deg + 1), by Bonnet's recurrence.
    @inlinable
    public static func basis(_ x: Double, degree: Int, into out: UnsafeMutableBufferPointer<Double>) {
        out[0] = 1
        if degree >= 1 { out[1] = x }
        if degree >= 2 {
            for k in 1..<degree {
                let kd = Double(k)
                out[k + 1] = ((2 * kd + 1) * x * out[k] - kd * out[k - 1]) / (kd + 1)
            }
        }
    }

    /// Pseudo-Vandermonde matrix, row-major [x.count, degree + 1] (numpy legvander).
    public static func vandermonde(_ x: [Double], degree: Int) -> [Double] {
        let m = degree + 1
        var v = [Double](repeating: 0, count: x.count * m)
        v.withUnsafeMutableBufferPointer { p in
            for (i, xi) in x.enumerated() {
                basis(xi, degree: degree, into: UnsafeMutableBufferPointer(rebasing: p[(i * m)..<(i * m + m)]))
            }
        }
        return v
    }

    /// Least-squares Legendre fit of y(x) with degree `degree` (numpy legfit: columns scaled to unit norm,
    /// solved by SVD least squares). Optional weights multiply the residuals (numpy's `w`).
    public static func fit(x: [Double], y: [Double], degree: Int, weights: [Double]? = nil) throws -> [Double] {
        precondition(x.count == y.count, "Legendre.fit: x and y differ in size")
        return try scaledLeastSquares(design: vandermonde(x, degree: degree), rows: x.count, cols: degree + 1,
                                      rhs: y, weights: weights)
    }

    /// The reduced coordinate used by DESI traces: 2 (w - wmin) / (wmax - wmin) - 1.
    @inlinable
    public static func reduced(_ w: Double, min wmin: Double, max wmax: Double) -> Double {
        (w - wmin) * (2.0 / (wmax - wmin)) - 1.0
    }

    /// `reduced` in four lanes (the same operations).
    @inlinable
    public static func reduced(_ w: SIMD4<Double>, min wmin: Double, max wmax: Double) -> SIMD4<Double> {
        (w - SIMD4(repeating: wmin)) * SIMD4(repeating: 2.0 / (wmax - wmin)) - SIMD4(repeating: 1.0)
    }
}
