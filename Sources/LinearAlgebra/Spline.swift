import Foundation

/// Errors of spline fitting.
public enum SplineError: Error, CustomStringConvertible, Sendable {
    /// Fewer than two points with positive weight.
    case tooFewPoints(Int)
    /// The knots do not leave every B-spline some data (Schoenberg-Whitney fails) or the system is singular.
    case singular(knots: Int, points: Int)

    public var description: String {
        switch self {
        case .tooFewPoints(let n): return "cannot do spline fit because only \(n) values with ivar>0"
        case .singular(let k, let p): return "spline fit with \(k) interior knots on \(p) points is singular"
        }
    }
}

/// A cubic B-spline: full knot vector `t` (boundary knots repeated 4 times) and coefficients `c`
/// (count = t.count - 4). Evaluation extrapolates with the end polynomial pieces, as FITPACK's splev (ext=0).
public struct CubicBSpline: Sendable {
    public let knots: [Double]
    public let coefficients: [Double]
    public static let order = 3

    public init(knots: [Double], coefficients: [Double]) {
        precondition(coefficients.count == knots.count - 4, "a cubic B-spline needs knots.count - 4 coefficients")
        self.knots = knots; self.coefficients = coefficients
    }

    /// The index l (3 <= l <= n-5 with n = knots.count) of the knot span [t_l, t_{l+1}) holding x,
    /// clamped to the first or last non-empty span outside the boundary knots.
    @inline(__always)
    static func span(_ x: Double, _ t: UnsafeBufferPointer<Double>) -> Int {
        let n = t.count
        var lo = 3, hi = n - 5
        if x >= t[hi] { return hi }
        if x < t[lo + 1] { return lo }
        // binary search for t[l] <= x < t[l+1]
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if x >= t[mid] { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// The 4 non-zero cubic B-splines B_{l-3..l} at x for span l (Cox-de Boor recursion; also valid outside the span).
    @inline(__always)
    static func basis(_ x: Double, span l: Int, _ t: UnsafeBufferPointer<Double>, _ out: inout (Double, Double, Double, Double)) {
        @inline(__always) func q(_ a: Double, _ d: Double) -> Double { d != 0 ? a / d : 0 }
        let left1 = x - t[l], right1 = t[l + 1] - x
        let left2 = x - t[l - 1], right2 = t[l + 2] - x
        let left3 = x - t[l - 2], right3 = t[l + 3] - x
        // degree 1
        var temp = q(1, right1 + left1)
        var b0 = right1 * temp
        var b1 = left1 * temp
        // degree 2
        temp = q(b0, right1 + left2); b0 = right1 * temp; var saved = left2 * temp
        temp = q(b1, right2 + left1); b1 = saved + right2 * temp; saved = left1 * temp
        var b2 = saved
        // degree 3
        temp = q(b0, right1 + left3); b0 = right1 * temp; saved = left3 * temp
        temp = q(b1, right2 + left2); b1 = saved + right2 * temp; saved = left2 * temp
        temp = q(b2, right3 + left1); b2 = saved + right3 * temp; saved = left1 * temp
        out = (b0, b1, b2, saved)
    }

    /// Values at `x`.
    public func evaluate(_ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        knots.withUnsafeBufferPointer { t in
            coefficients.withUnsafeBufferPointer { c in
                var bb = (0.0, 0.0, 0.0, 0.0)
                for (i, xi) in x.enumerated() {
                    let l = CubicBSpline.span(xi, t)
                    CubicBSpline.basis(xi, span: l, t, &bb)
                    y[i] = bb.0 * c[l - 3] + bb.1 * c[l - 2] + bb.2 * c[l - 1] + bb.3 * c[l]
                }
            }
        }
        return y
    }

    /// Weighted least-squares cubic spline with the given interior knots (FITPACK curfit with task=-1, as
    /// scipy.interpolate.splrep(x, y, w=w, k=3, task=-1, t=interior)): minimizes sum_i (w_i (y_i - s(x_i)))^2,
    /// boundary knots at x.first and x.last. `x` must be increasing. Normal equations are banded (LAPACK dpbtrf).
    public static func leastSquares(x: [Double], y: [Double], weights w: [Double], interiorKnots: [Double]) throws -> CubicBSpline {
        let m = x.count
        precondition(y.count == m && w.count == m)
        guard m >= 2 else { throw SplineError.tooFewPoints(m) }
        let xb = x[0], xe = x[m - 1]
        let inner = interiorKnots.filter { $0 > xb && $0 < xe }
        let t = [Double](repeating: xb, count: 4) + inner + [Double](repeating: xe, count: 4)
        let ncoef = t.count - 4
        guard ncoef <= m else { throw SplineError.singular(knots: inner.count, points: m) }
        var normal = SymmetricBandMatrix(n: ncoef, kd: 3)
        var rhs = [Double](repeating: 0, count: ncoef)
        t.withUnsafeBufferPointer { tp in
            var bb = (0.0, 0.0, 0.0, 0.0)
            for i in 0..<m {
                let wi = w[i] * w[i]
                if wi == 0 { continue }
                let l = span(x[i], tp)
                basis(x[i], span: l, tp, &bb)
                let b = SIMD4<Double>(bb.0, bb.1, bb.2, bb.3)
                for a in 0..<4 {
                    let wa = wi * b[a]
                    rhs[l - 3 + a] += wa * y[i]
                    for c in 0...a { normal.add(l - 3 + a, l - 3 + c, wa * b[c]) }
                }
            }
        }
        // Singular when some B-spline has no data (Schoenberg-Whitney) or a pivot collapses.
        let diag = normal.diagonal
        let maxd = diag.max() ?? 0
        if maxd <= 0 || diag.contains(where: { $0 <= maxd * 1e-14 }) {
            throw SplineError.singular(knots: inner.count, points: m)
        }
        let factor: BandCholesky
        do { factor = try normal.cholesky() } catch { throw SplineError.singular(knots: inner.count, points: m) }
        let c = factor.solve(rhs)
        if c.contains(where: { !$0.isFinite }) { throw SplineError.singular(knots: inner.count, points: m) }
        return CubicBSpline(knots: t, coefficients: c)
    }
}

/// Smoothing spline fit resampled on `outputX`, as desispec.linalg.spline_fit: knots every `resolution`
/// (in x units) between the first and last points of positive weight, knots far from any point dropped,
/// weights `ivar` used as FITPACK weights (residuals multiplied by ivar). If the fit fails and
/// `maxResolution` is larger, retries once with it.
public func splineFit(outputX: [Double], x: [Double], y: [Double], resolution: Double, ivar: [Double]? = nil,
                      maxResolution: Double? = nil) throws -> [Double] {
    let w: [Double]
    let x1: Double, x2: Double
    if let ivar {
        guard let first = ivar.firstIndex(where: { $0 > 0 }), let last = ivar.lastIndex(where: { $0 > 0 }),
              ivar.lazy.filter({ $0 > 0 }).count >= 2 else {
            throw SplineError.tooFewPoints(ivar.lazy.filter { $0 > 0 }.count)
        }
        x1 = x[first]; x2 = x[last]; w = ivar
    } else {
        guard x.count >= 2 else { throw SplineError.tooFewPoints(x.count) }
        x1 = x[0]; x2 = x[x.count - 1]; w = [Double](repeating: 1, count: x.count)
    }
    let n = Int((x2 - x1) / resolution)
    let step = (x2 - x1) / Double(n + 1)
    var knots = [Double]()
    knots.reserveCapacity(max(0, n))
    // keep knots that have a data point within one step (x is sorted: walk with a pointer)
    var j = 0
    for i in 0..<max(0, n) {
        let k = x1 + step * (0.5 + Double(i))
        while j + 1 < x.count && x[j + 1] <= k { j += 1 }
        var d = abs(x[j] - k)
        if j + 1 < x.count { d = min(d, abs(x[j + 1] - k)) }
        if d < step { knots.append(k) }
    }
    do {
        let s = try CubicBSpline.leastSquares(x: x, y: y, weights: w, interiorKnots: knots)
        return s.evaluate(outputX)
    } catch {
        if let maxResolution, resolution < maxResolution {
            return try splineFit(outputX: outputX, x: x, y: y, resolution: maxResolution, ivar: ivar, maxResolution: nil)
        }
        throw error
    }
}
