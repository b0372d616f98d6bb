import Foundation

/// Normal and chi-square distributions as scipy.stats computes them: CDF, survival function and quantiles
/// (used by the coaddition's outlier rejection and by the QA's residual test).
public enum Distributions {
    /// Standard normal cumulative distribution.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Regularized lower incomplete gamma P(a, x) (series for x < a+1, continued fraction otherwise).
    public static func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x < a + 1 { return gammaPSeries(a, x) }
        return 1 - gammaQContinuedFraction(a, x)
    }

    /// Chi-square CDF with `dof` degrees of freedom.
    public static func chi2CDF(_ x: Double, dof: Double) -> Double { regularizedGammaP(dof / 2, x / 2) }

    /// Chi-square survival function (upper tail, scipy.stats.chi2(dof).sf(x)); Q is computed directly from the
    /// continued fraction in the far tail, for accuracy.
    public static func chi2SF(_ x: Double, dof: Double) -> Double {
        if x <= 0 { return 1 }
        let a = dof / 2, xx = x / 2
        if xx < a + 1 { return 1 - regularizedGammaP(a, xx) }
        return gammaQContinuedFraction(a, xx)
    }

    /// Inverse survival function of chi-square: x with P(X > x) = q (scipy.stats.chi2(dof).isf(q)).
    public static func chi2ISF(_ q: Double, dof: Double) -> Double {
        precondition(q > 0 && q < 1 && dof > 0)
        var lo = 0.0, hi = max(1.0, dof)
        while chi2SF(hi, dof: dof) > q { hi *= 2 }
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if chi2SF(mid, dof: dof) > q { lo = mid } else { hi = mid }
            if hi - lo <= 1e-13 * hi { break }
        }
        return 0.5 * (lo + hi)
    }

    /// Chi-square quantile: x with P(X <= x) = p (scipy.stats.chi2(dof).ppf(p)).
    public static func chi2PPF(_ p: Double, dof: Double) -> Double { chi2ISF(1 - p, dof: dof) }

    /// log Gamma(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; relative error ~1e-15).
    public static func logGamma(_ x: Double) -> Double {
        if x < 0.5 { return log(Double.pi / sin(Double.pi * x)) - logGamma(1 - x) }
        let c: [Double] = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                           -176.61502916214059, 12.507343278686905, -0.13857109526572012,
                           9.9843695780195716e-6, 1.5056327351493116e-7]
        let xx = x - 1
        var a = c[0]
        let t = xx + 7.5
        for i in 1..<9 { a += c[i] / (xx + Double(i)) }
        return 0.5 * log(2 * Double.pi) + (xx + 0.5) * log(t) - t + log(a)
    }

    /// P(a, x) by its power series (converges fast for x < a + 1), x > 0.
    static func gammaPSeries(_ a: Double, _ x: Double) -> Double {
        var sum = 1.0 / a, term = sum, ap = a
        for _ in 0..<1000 {
            ap += 1; term *= x / ap; sum += term
            if abs(term) < abs(sum) * 1e-16 { break }
        }
        return sum * exp(-x + a * log(x) - logGamma(a))
    }

    /// Q(a, x) = 1 - P(a, x) by Lentz's continued fraction (converges fast for x >= a + 1).
    static func gammaQContinuedFraction(_ a: Double, _ x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1...1000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b; if abs(d) < tiny { d = tiny }
            c = b + an / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-16 { break }
        }
        return exp(-x + a * log(x) - logGamma(a)) * h
    }
}
