import Foundation

/// Robust statistics used by preprocessing and QA: medians, median absolute deviation, percentiles,
/// sigma-clipped means and a 1-D median filter. All follow numpy/scipy conventions so that results
/// can be compared with desispec to rounding.
public enum Statistics {
    /// k-th smallest value (0-based) of `values`, which is partially reordered (Hoare quickselect).
    @inlinable
    public static func select(_ values: inout [Double], _ k: Int) -> Double {
        precondition(k >= 0 && k < values.count, "select: index out of range")
        return values.withUnsafeMutableBufferPointer { select($0, k) }
    }

    /// Quickselect (Hoare partition, median-of-three pivot) on a buffer: puts the k-th smallest value at k, smaller or
    /// equal values before it, larger or equal after it, and returns it.
    @inlinable
    public static func select(_ a: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
        var lo = 0, hi = a.count - 1
        while hi > lo {
            // median of three as pivot
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }

    /// Median as numpy.median: the mean of the two middle values for an even count. NaN for no values. The value
    /// of `medianInPlace` on a copy; from 256 values by `sampledMedian` (a bracket from a sample and one counting
    /// pass instead of a quickselect of them all).
    public static func median(_ values: [Double]) -> Double {
        if values.count >= 256 {
            var scratch = [Double](repeating: 0, count: values.count)
            return values.withUnsafeBufferPointer { v in
                scratch.withUnsafeMutableBufferPointer { sampledMedian(v, scratch: $0) }
            }
        }
        var v = values
        return medianInPlace(&v)
    }

    public static func median(_ values: [Float]) -> Double {
        var v = values.map(Double.init)
        return medianInPlace(&v)
    }

    /// Median of `values`, which are reordered.
    public static func medianInPlace(_ values: inout [Double]) -> Double {
        let n = values.count
        guard n > 0 else { return .nan }
        let hi = select(&values, n / 2)
        if n % 2 == 1 { return hi }
        // the largest value below position n/2 is the maximum of the lower part after selection
        var lo = -Double.infinity
        values.withUnsafeBufferPointer { a in for i in 0..<(n / 2) where a[i] > lo { lo = a[i] } }
        return 0.5 * (lo + hi)
    }

    /// Normalized median absolute deviation, 1.4826 * median(|x - median(x)|) (a robust RMS).
    public static func nmad(_ values: [Double]) -> Double {
        let m = median(values)
        var d = values.map { abs($0 - m) }
        return 1.4826 * medianInPlace(&d)
    }

    /// Median absolute deviation about the median, unscaled.
    public static func mad(_ values: [Double]) -> Double {
        let m = median(values)
        var d = values.map { abs($0 - m) }
        return medianInPlace(&d)
    }

    /// Arithmetic mean (NaN for no values).
    public static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        return values.reduce(0, +) / Double(values.count)
    }

    /// Population standard deviation (numpy.std with ddof=0).
    public static func std(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let m = mean(values)
        var s = 0.0
        for v in values { s += (v - m) * (v - m) }
        return (s / Double(values.count)).squareRoot()
    }

    /// Percentile `q` in [0, 100] with numpy's default linear interpolation between order statistics.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        var v = values
        let pos = min(max(q, 0), 100) / 100 * Double(v.count - 1)
        let i = Int(pos.rounded(.down))
        let f = pos - Double(i)
        let a = select(&v, i)
        if f == 0 || i + 1 >= v.count { return a }
        let b = select(&v, i + 1)
        return a + f * (b - a)
    }
}
