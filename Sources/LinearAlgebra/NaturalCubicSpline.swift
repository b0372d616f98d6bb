/// The interpolating cubic spline through (x, y) with zero second derivative at both ends (scipy's
/// CubicSpline(x, y, bc_type="natural")); x strictly increasing, at least 2 points. Outside [x0, xn] it holds the
/// end values.
public struct NaturalCubicSpline: Sendable {
    public let x: [Double]
    public let y: [Double]
    /// Second derivatives at the knots.
    let m: [Double]

    public init(x: [Double], y: [Double]) {
        precondition(x.count == y.count && x.count >= 2, "a spline needs as many y as x, at least 2")
        let n = x.count
        var m = [Double](repeating: 0, count: n)
        if n > 2 {
            // tridiagonal system for the interior second derivatives (Thomas algorithm)
            var diag = [Double](repeating: 0, count: n), rhs = diag, upper = diag
            for i in 1..<(n - 1) {
                let h0 = x[i] - x[i - 1], h1 = x[i + 1] - x[i]
                diag[i] = 2 * (h0 + h1); upper[i] = h1
                rhs[i] = 6 * ((y[i + 1] - y[i]) / h1 - (y[i] - y[i - 1]) / h0)
                if i > 1 {
                    let w = h0 / diag[i - 1]
                    diag[i] -= w * upper[i - 1]; rhs[i] -= w * rhs[i - 1]
                }
            }
            for i in stride(from: n - 2, through: 1, by: -1) {
                m[i] = (rhs[i] - (i < n - 2 ? upper[i] * m[i + 1] : 0)) / diag[i]
            }
        }
        self.x = x; self.y = y; self.m = m
    }

    public func callAsFunction(_ t: Double) -> Double {
        let n = x.count
        if t <= x[0] { return y[0] }
        if t >= x[n - 1] { return y[n - 1] }
        var lo = 0, hi = n - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if x[mid] <= t { lo = mid } else { hi = mid }
        }
        let h = x[hi] - x[lo], a = (x[hi] - t) / h, b = (t - x[lo]) / h
        return a * y[lo] + b * y[hi] + ((a * a * a - a) * m[lo] + (b * b * b - b) * m[hi]) * h * h / 6
    }
}
