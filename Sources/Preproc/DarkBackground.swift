import DESICore
import Foundation
import LinearAlgebra

/// The smooth background of a dark or a zero frame (`--bkgsub-for-dark`, desispec.preproc._background with its
/// defaults, which calls _global_background with 200-pixel patches and does not stitch the amplifiers):
/// - patch edges numpy.linspace(0, n, n // 200).astype(int) along each axis (so patches of about 200 pixels);
/// - the median of each patch, placed at its node edge[i] + (edge[1] - edge[0]) / 2;
/// - scipy's RectBivariateSpline(nodes0, nodes1, medians, kx=2, ky=2, s=0), i.e. the interpolating tensor-product
///   quadratic spline with FITPACK's interpolation knots (for an even degree, the mid-points between nodes 1..m-2),
///   evaluated at every pixel; outside the outermost nodes FITPACK evaluates at the nearest one (flat extrapolation).
public enum DarkBackground {
    /// The background of an image of ny x nx (row-major); each axis needs at least 600 pixels (3 patches).
    public static func compute(pix: [Float], ny: Int, nx: Int, patchWidth: Int = 200) throws -> [Double] {
        precondition(pix.count == ny * nx, "image and its shape differ")
        let e0 = patchEdges(ny, patchWidth), e1 = patchEdges(nx, patchWidth)
        guard e0.count >= 4, e1.count >= 4 else {
            throw DESIError.invalidArgument("--bkgsub-for-dark: an image of \(ny) x \(nx) pixels has fewer than 3 patches of "
                                            + "\(patchWidth) pixels along an axis for the quadratic spline")
        }
        let m0 = e0.count - 1, m1 = e1.count - 1
        // the patch medians (numpy.median: mean of the two middle values for an even count)
        let grid = parallelMap(m0 * m1) { k -> Double in
            let i = k / m1, j = k % m1
            var v: [Double] = []
            v.reserveCapacity((e0[i + 1] - e0[i]) * (e1[j + 1] - e1[j]))
            for r in e0[i]..<e0[i + 1] { for c in e1[j]..<e1[j + 1] { v.append(Double(pix[r * nx + c])) } }
            return Statistics.median(v)
        }
        // numpy's nodes: bins[:-1] + (bins[1] - bins[0]) / 2 (desispec writes bins1[1] - bins0[0], bins0[0] being 0)
        let n0 = (0..<m0).map { Double(e0[$0]) + Double(e0[1] - e0[0]) / 2 }
        let n1 = (0..<m1).map { Double(e1[$0]) + Double(e1[1]) / 2 }
        let s0 = try QuadraticInterpolatingSpline(nodes: n0), s1 = try QuadraticInterpolatingSpline(nodes: n1)
        // coefficients C = A0^-1 G A1^-T (A: collocation matrices), then per column c: D[i][c] = sum_j C[i][j] B1_j(c)
        var coef = [Double](repeating: 0, count: m0 * m1)
        for j in 0..<m1 {   // along axis 0, column by column of the grid
            let col = s0.solve((0..<m0).map { grid[$0 * m1 + j] })
            for i in 0..<m0 { coef[i * m1 + j] = col[i] }
        }
        for i in 0..<m0 {   // then along axis 1
            let row = s1.solve(Array(coef[(i * m1)..<((i + 1) * m1)]))
            for j in 0..<m1 { coef[i * m1 + j] = row[j] }
        }
        var partial = [Double](repeating: 0, count: m0 * nx)
        for c in 0..<nx {
            let (first, b) = s1.basis(Double(c))
            for i in 0..<m0 {
                var s = 0.0
                for t in 0..<3 { s += coef[i * m1 + first + t] * b[t] }
                partial[i * nx + c] = s
            }
        }
        var out = [Double](repeating: 0, count: ny * nx)
        out.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let dst = o
            parallelFor(ny) { r in
                let (first, b) = s0.basis(Double(r))
                for c in 0..<nx {
                    dst[r * nx + c] = b[0] * partial[first * nx + c] + b[1] * partial[(first + 1) * nx + c]
                        + b[2] * partial[(first + 2) * nx + c]
                }
            }
        }
        return out
    }

    /// numpy.linspace(0, n, n // width).astype(int).
    static func patchEdges(_ n: Int, _ width: Int) -> [Int] {
        let num = n / width
        guard num >= 2 else { return num == 1 ? [0] : [] }
        let step = Double(n) / Double(num - 1)
        return (0..<num).map { $0 == num - 1 ? n : Int(Double($0) * step) }
    }
}

/// The interpolating quadratic spline of FITPACK (curfit / regrid with s=0, k=2) on nodes x0 < ... < x(m-1):
/// knots x0 (3 times), the mid-points (x(i) + x(i+1)) / 2 for i = 1 ... m-3, x(m-1) (3 times); m B-splines.
struct QuadraticInterpolatingSpline: Sendable {
    let knots: [Double]
    let count: Int
    /// LU factors (with row pivots) of the m x m collocation matrix B_j(x_i).
    private let lu: [Double]
    private let pivots: [Int]

    init(nodes x: [Double]) throws {
        let m = x.count
        guard m >= 3 else { throw DESIError.invalidArgument("a quadratic interpolating spline needs 3 nodes, got \(m)") }
        var t = [x[0], x[0], x[0]]
        for i in stride(from: 1, through: m - 3, by: 1) { t.append((x[i] + x[i + 1]) / 2) }
        t += [x[m - 1], x[m - 1], x[m - 1]]
        knots = t; count = m
        var a = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            let (first, b) = Self.basis(t, count: m, at: x[i])
            for k in 0..<3 { a[i * m + first + k] = b[k] }
        }
        // Gaussian elimination with partial pivoting (m is small: one node per 200-pixel patch)
        var piv = Array(0..<m)
        for k in 0..<m {
            let p = (k..<m).max { abs(a[$0 * m + k]) < abs(a[$1 * m + k]) }!
            guard a[p * m + k] != 0 else { throw DESIError.invalidArgument("singular spline collocation matrix") }
            if p != k {
                for c in 0..<m { a.swapAt(p * m + c, k * m + c) }
                piv.swapAt(p, k)
            }
            for r in (k + 1)..<m where a[r * m + k] != 0 {
                let f = a[r * m + k] / a[k * m + k]
                a[r * m + k] = f
                for c in (k + 1)..<m { a[r * m + c] -= f * a[k * m + c] }
            }
        }
        lu = a; pivots = piv
    }

    /// The B-spline coefficients whose spline takes `values` at the nodes.
    func solve(_ values: [Double]) -> [Double] {
        let m = count
        var y = pivots.map { values[$0] }
        for r in 0..<m { for c in 0..<r { y[r] -= lu[r * m + c] * y[c] } }
        for r in stride(from: m - 1, through: 0, by: -1) {
            for c in (r + 1)..<m { y[r] -= lu[r * m + c] * y[c] }
            y[r] /= lu[r * m + r]
        }
        return y
    }

    /// The three B-splines that do not vanish at `x` (clamped to the nodes' range): index of the first, values.
    func basis(_ x: Double) -> (Int, [Double]) { Self.basis(knots, count: count, at: x) }

    static func basis(_ t: [Double], count m: Int, at x0: Double) -> (Int, [Double]) {
        let x = min(max(x0, t[2]), t[m])
        // knot interval l with t[l] <= x < t[l+1], l in 2 ... m-1 (the last interval is closed)
        var l = 2
        while l < m - 1 && x >= t[l + 1] { l += 1 }
        // de Boor's recursion for degree 2
        var b = [1.0, 0.0, 0.0]
        for k in 1...2 {
            var saved = 0.0
            for r in 0..<k {
                let left = t[l + r + 1 - k], right = t[l + r + 1]
                let term = right > left ? b[r] / (right - left) : 0
                b[r] = saved + (right - x) * term
                saved = (x - left) * term
            }
            b[k] = saved
        }
        return (l - 2, b)
    }
}
