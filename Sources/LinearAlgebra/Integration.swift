import Foundation

/// Numerical integration of tabulated functions.
public enum Integration {
    /// Trapezoid integral of y(x).
    public static func trapz(_ y: [Double], _ x: [Double]) -> Double {
        guard x.count >= 2 else { return 0 }
        var s = 0.0
        for i in 1..<x.count { s += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]) }
        return s
    }
}
