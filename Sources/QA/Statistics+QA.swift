import LinearAlgebra

/// The order statistics of the QA metrics: LinearAlgebra's `Statistics` over the finite values only (NaN and
/// infinities, e.g. of masked pixels, are left out, as numpy's nan-functions do).
enum QAStats {
    static func median(_ values: [Double]) -> Double { Statistics.median(values.filter(\.isFinite)) }

    /// Percentile with linear interpolation between order statistics (numpy's default).
    static func percentile(_ values: [Double], _ p: Double) -> Double { Statistics.percentile(values.filter(\.isFinite), p) }

    static func mean(_ values: [Double]) -> Double { Statistics.mean(values) }

    /// Population standard deviation, 0 for fewer than two values.
    static func std(_ values: [Double]) -> Double { values.count > 1 ? Statistics.std(values) : 0 }

    /// 1.4826 x median absolute deviation: a robust sigma.
    static func robustSigma(_ values: [Double]) -> Double { Statistics.nmad(values.filter(\.isFinite)) }
}
