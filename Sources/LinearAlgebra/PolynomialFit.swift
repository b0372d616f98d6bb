import Foundation

/// Minimum-norm least squares of a row-major design matrix [rows, cols] with its columns scaled to unit
/// norm first (as numpy's polyfit / legfit do), optional weights multiplying each row. LAPACK dgelsd
/// (`MinimumNormLeastSquares`, on the column-major copy made here).
func scaledLeastSquares(design: [Double], rows: Int, cols: Int, rhs: [Double], weights: [Double]?) throws -> [Double] {
    guard rows >= 1, cols >= 1, design.count == rows * cols, rhs.count == rows else {
        throw LinearAlgebraError.shape("least squares with \(rows) rows, \(cols) columns, design \(design.count), rhs \(rhs.count)")
    }
    if let w = weights, w.count != rows { throw LinearAlgebraError.shape("weights have \(w.count) values for \(rows) rows") }
    // column j at a[j * rows ..< (j + 1) * rows], each row times its weight (x 1 is exact without weights)
    var a = [Double](repeating: 0, count: rows * cols)
    var b = rhs
    for i in 0..<rows {
        let w = weights?[i] ?? 1
        for j in 0..<cols { a[j * rows + i] = design[i * cols + j] * w }
        b[i] *= w
    }
    var scale = [Double](repeating: 0, count: cols)
    for j in 0..<cols {
        var s = 0.0
        for i in 0..<rows { s += a[j * rows + i] * a[j * rows + i] }
        scale[j] = s > 0 ? s.squareRoot() : 1
        for i in 0..<rows { a[j * rows + i] /= scale[j] }
    }
    let x = try MinimumNormLeastSquares.solve(&a, rows: rows, cols: cols, &b, rcond: Double(rows) * Double.ulpOfOne)
    return (0..<cols).map { x[$0] / scale[$0] }
}

/// Ordinary polynomials.
public enum Polynomial {
    /// Least-squares polynomial of degree `degree` (numpy.polyfit): coefficients from the highest power down.
    /// `weights` multiply residuals (numpy's w = 1/sigma).
    public static func fit(x: [Double], y: [Double], degree: Int, weights: [Double]? = nil) throws -> [Double] {
        let n = x.count, m = degree + 1
        var v = [Double](repeating: 0, count: n * m)
        for i in 0..<n {
            var p = 1.0
            for j in stride(from: degree, through: 0, by: -1) { v[i * m + j] = p; p *= x[i] }
        }
        return try scaledLeastSquares(design: v, rows: n, cols: m, rhs: y, weights: weights)
    }

    /// Value of a polynomial with coefficients from the highest power down (numpy.polyval).
    @inlinable
    public static func value(_ c: [Double], _ x: Double) -> Double {
        var r = 0.0
        for a in c { r = r * x + a }
        return r
    }

    /// The monomials x^i y^j, i in 0...degx (outer), j in 0...degy (inner) (desispec.trace_shifts.monomials).
    @inlinable
    public static func monomials(x: Double, y: Double, degx: Int, degy: Int) -> [Double] {
        var m = [Double]()
        m.reserveCapacity((degx + 1) * (degy + 1))
        var xi = 1.0
        for _ in 0...degx {
            var yj = 1.0
            for _ in 0...degy { m.append(xi * yj); yj *= y }
            xi *= x
        }
        return m
    }
}

/// Result of a weighted 2-D polynomial fit with outlier rejection (desispec.trace_shifts.polynomial_fit).
public struct PolynomialFit2D: Sendable {
    public var degx: Int
    public var degy: Int
    /// Coefficients of the monomials (Polynomial.monomials order).
    public var coefficients: [Double]
    /// Covariance of the coefficients, row-major [n, n].
    public var covariance: [Double]
    /// Extra uncertainty added in quadrature to get chi2/ndf <= 1.
    public var errorFloor: Double
    /// Data points kept (false: rejected outlier).
    public var kept: [Bool]

    public func value(x: Double, y: Double) -> Double {
        let m = Polynomial.monomials(x: x, y: y, degx: degx, degy: degy)
        var s = 0.0
        for k in 0..<m.count { s += m[k] * coefficients[k] }
        return s
    }

    /// Standard deviation of the fitted value at (x, y).
    public func error(x: Double, y: Double) -> Double {
        let m = Polynomial.monomials(x: x, y: y, degx: degx, degy: degy)
        let n = m.count
        var s = 0.0
        for k in 0..<n { for l in 0..<n { s += m[k] * covariance[k * n + l] * m[l] } }
        return max(s, 0).squareRoot()
    }

    /// Fits z(x, y) with uncertainties ez: iteratively removes the worst point while it is beyond
    /// 5 sigma (chi2 > 25 max(rchi2, 1.2)) and raises an error floor by 0.002 while the robust chi2/ndf > 1.
    public static func fit(z: [Double], ez: [Double], x: [Double], y: [Double], degx: Int, degy: Int) throws -> PolynomialFit2D {
        let n = z.count
        guard ez.count == n, x.count == n, y.count == n else { throw LinearAlgebraError.shape("polynomial fit inputs differ in size") }
        let npar = (degx + 1) * (degy + 1)
        guard n > npar else { throw LinearAlgebraError.shape("polynomial fit of \(npar) parameters with \(n) points") }
        let mono = (0..<n).map { Polynomial.monomials(x: x[$0], y: y[$0], degx: degx, degy: degy) }
        var kept = [Bool](repeating: true, count: n)
        var floor = 0.0
        var a = [Double](repeating: 0, count: npar * npar), b = [Double](repeating: 0, count: npar)
        var coeff = [Double](repeating: 0, count: npar)
        for loop in 0..<100 {
            var w = [Double](repeating: 0, count: n)
            for i in 0..<n where kept[i] { w[i] = 1 / (ez[i] * ez[i] + floor * floor) }
            for k in 0..<(npar * npar) { a[k] = 0 }
            for k in 0..<npar { b[k] = 0 }
            for i in 0..<n where w[i] > 0 {
                let m = mono[i]
                for k in 0..<npar {
                    b[k] += w[i] * z[i] * m[k]
                    for l in 0...k { a[k * npar + l] += w[i] * m[k] * m[l] }
                }
            }
            for k in 0..<npar { for l in 0..<k { a[l * npar + k] = a[k * npar + l] } }
            coeff = try CholeskyFactor(Matrix(rows: npar, cols: npar, data: a)).solve(b)
            var absres = [Double](), ndata = 0
            var worst = -1, worstVal = -1.0
            for i in 0..<n {
                var pv = 0.0
                for k in 0..<npar { pv += mono[i][k] * coeff[k] }
                let r = z[i] - pv
                if w[i] > 0 { ndata += 1 }
                absres.append(w[i].squareRoot() * abs(r))   // masked points count as 0, as numpy.median over all
                let rv = w[i] * r * r
                if rv > worstVal { worstVal = rv; worst = i }
            }
            let med = median(absres)
            let rchi2 = 1.4826 * med * Double(ndata) / Double(max(ndata - npar, 1))
            var nbad = 0
            if worst >= 0 && worstVal > 25 * max(rchi2, 1.2) { kept[worst] = false; nbad = 1 }
            if rchi2 > 1 && (nbad == 0 || loop > 5) { floor += 0.002 }
            if rchi2 <= 1 && nbad == 0 { break }
        }
        let chol = try CholeskyFactor(Matrix(rows: npar, cols: npar, data: a))
        coeff = chol.solve(b)
        let cov = try chol.inverse()
        return PolynomialFit2D(degx: degx, degy: degy, coefficients: coeff, covariance: cov.data, errorFloor: floor, kept: kept)
    }

    private static func median(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return 0 }
        let s = v.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}
