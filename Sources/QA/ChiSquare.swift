import Foundation

/// Probability that a chi-square variable with `dof` degrees of freedom exceeds `chi2` (scipy.stats.chi2.sf),
/// through the regularized upper incomplete gamma function Q(dof/2, chi2/2): a power series below a+1, a continued
/// fraction (modified Lentz) above.
public func chiSquareSurvival(_ chi2: Double, dof: Int) -> Double {
    guard dof > 0 else { return .nan }
    guard chi2 > 0 else { return 1 }
    let a = Double(dof) / 2, x = chi2 / 2
    let logPrefactor = a * log(x) - x - lgamma(a)
    if x < a + 1 {
        var sum = 1 / a, term = 1 / a, n = a
        for _ in 0..<10_000 {
            n += 1
            term *= x / n
            sum += term
            if abs(term) < abs(sum) * 1e-15 { break }
        }
        return max(0, 1 - exp(logPrefactor) * sum)
    }
    let tiny = 1e-300
    var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
    for i in 1...10_000 {
        let an = -Double(i) * (Double(i) - a)
        b += 2
        d = an * d + b; if abs(d) < tiny { d = tiny }
        c = b + an / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        let delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15 { break }
    }
    return min(1, exp(logPrefactor) * h)
}
