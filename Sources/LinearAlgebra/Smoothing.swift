import Foundation

/// Smoothing of uniformly sampled 1-D data: median filter with zero padding (scipy.ndimage.median_filter,
/// mode='constant') and Gaussian convolution.
public enum Smoothing {

    /// scipy.ndimage.median_filter(x, size, mode='constant', cval=0): windows reaching past the ends see zeros.
    /// Window of output i: x[i - size/2 ..< i - size/2 + size]; the value of rank size/2 is returned.
    /// A sorted sliding window makes it O(n log size + n size) with small constants.
    public static func medianFilterZeroPadded(_ x: [Double], size: Int) -> [Double] {
        let n = x.count
        guard n > 0, size > 1 else { return x }
        let left = size / 2
        @inline(__always) func at(_ i: Int) -> Double { (i >= 0 && i < n) ? x[i] : 0 }
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
                // remove `leaving`
                var p = lowerBound(leaving)
                // replace in place and bubble to keep order (memmove by shifting)
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
