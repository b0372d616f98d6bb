import Foundation

/// Smoothing of uniformly sampled 1-D data: median filter (scipy.ndimage.median_filter) and Gaussian convolution.
public enum Smoothing {

    /// How a filter window that reaches past the ends of the data is filled (scipy.ndimage's `mode`).
    public enum Boundary: Sendable {
        /// d c b a | a b c d | d c b a: the data mirrored about its edges, edge values repeated.
        case reflect
        /// The value given (scipy's mode='constant' with this cval).
        case constant(Double)
        /// a a a a | a b c d | d d d d: the edge values repeated (scipy's mode='nearest').
        case nearest
    }

    /// scipy.ndimage.median_filter(x, size, mode): the window of output i is x[i - size/2 ..< i - size/2 + size],
    /// extended past the ends as `boundary` says, and the value of rank size/2 is returned (for an even size, the
    /// upper of the two middle values, as scipy, not their mean). A sorted sliding window makes it
    /// O(n log size + n size) with small constants.
    public static func medianFilter(_ x: [Double], size: Int, boundary: Boundary) -> [Double] {
        let n = x.count
        guard n > 0, size > 1 else { return x }
        let left = size / 2
        @inline(__always) func at(_ i: Int) -> Double {
            if i >= 0 && i < n { return x[i] }
            switch boundary {
            case .constant(let value):
                return value
            case .nearest:
                return x[i < 0 ? 0 : n - 1]
            case .reflect:
                // valid for any offset: the mirrored data repeats with period 2n
                let period = 2 * n
                let j = ((i % period) + period) % period
                return j < n ? x[j] : x[period - 1 - j]
            }
        }
        var window = (0..<size).map { at($0 - left) }
        window.sort()
        var out = [Double](repeating: 0, count: n)
        window.withUnsafeMutableBufferPointer { w in
            @inline(__always) func lowerBound(_ v: Double) -> Int {
                var lo = 0, hi = size
                while lo < hi { let mid = (lo + hi) >> 1; if w[mid] < v { lo = mid + 1 } else { hi = mid } }
                return lo
            }
            for i in 0..<n {
                out[i] = w[size / 2]
                if i == n - 1 { break }
                let leaving = at(i - left), entering = at(i - left + size)
                if leaving == entering { continue }
                // replace `leaving` by `entering` in place, shifting the values between to keep the window sorted
                var p = lowerBound(leaving)
                if entering > leaving {
                    var q = p
                    while q + 1 < size && w[q + 1] < entering { w[q] = w[q + 1]; q += 1 }
                    w[q] = entering
                } else {
                    while p > 0 && w[p - 1] > entering { w[p] = w[p - 1]; p -= 1 }
                    w[p] = entering
                }
            }
        }
        return out
    }

    /// Convolution of uniformly sampled `y` with a normalised Gaussian of `sigma` samples, truncated at 5 sigma;
    /// edges are handled by renormalising the kernel over the samples that exist (no flux leaks from the ends).
    public static func gaussianSmooth(_ y: [Double], sigma: Double) -> [Double] {
        guard sigma > 0, y.count > 1 else { return y }
        let half = max(1, Int((5 * sigma).rounded(.up)))
        let kernel = (-half...half).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let n = y.count
        var out = [Double](repeating: 0, count: n)
        y.withUnsafeBufferPointer { yb in
            for i in 0..<n {
                var s = 0.0, w = 0.0
                for k in -half...half {
                    let j = i + k
                    if j < 0 || j >= n { continue }
                    let kw = kernel[k + half]
                    s += kw * yb[j]; w += kw
                }
                out[i] = s / w
            }
        }
        return out
    }
}
