import Foundation

/// Statistics the coaddition needs: chi-square quantiles (as scipy.stats.chi2 isf/ppf), the normal CDF,
/// medians and percentiles with numpy's linear interpolation.
public enum CoaddMath {
    /// Standard normal cumulative distribution.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Regularized lower incomplete gamma P(a, x) (series for x < a+1, continued fraction otherwise).
    public static func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        let lg = logGamma(a)
        if x < a + 1 {
            var sum = 1.0 / a, term = sum, ap = a
            for _ in 0..<1000 {
                ap += 1; term *= x / ap; sum += term
                if abs(term) < abs(sum) * 1e-16 { break }
            }
            return sum * exp(-x + a * log(x) - lg)
        }
        // Lentz's continued fraction for Q(a, x).
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
        return 1 - exp(-x + a * log(x) - lg) * h
    }

    /// Chi-square CDF with `dof` degrees of freedom.
    public static func chi2CDF(_ x: Double, dof: Double) -> Double { regularizedGammaP(dof / 2, x / 2) }

    /// Chi-square survival function (upper tail).
    public static func chi2SF(_ x: Double, dof: Double) -> Double {
        if x <= 0 { return 1 }
        let a = dof / 2, xx = x / 2
        if xx < a + 1 { return 1 - regularizedGammaP(a, xx) }
        // Compute Q directly from the continued fraction for accuracy in the far tail.
        let lg = logGamma(a), tiny = 1e-300
        var b = xx + 1 - a, c = 1 / tiny, d = 1 / b, h = d
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
        return exp(-xx + a * log(xx) - lg) * h
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

    /// Median (numpy.median: mean of the two middle values for an even count).
    public static func median(_ x: [Double]) -> Double { percentile(x, 50) }

    /// Percentile with linear interpolation between order statistics (numpy.percentile default,
    /// scipy.stats.scoreatpercentile).
    public static func percentile(_ x: [Double], _ p: Double) -> Double {
        guard !x.isEmpty else { return .nan }
        let s = x.sorted()
        let pos = p / 100 * Double(s.count - 1)
        let i = Int(pos.rounded(.down))
        let f = pos - Double(i)
        return i + 1 < s.count ? s[i] + f * (s[i + 1] - s[i]) : s[i]
    }
}

extension CoaddMath {
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
}
