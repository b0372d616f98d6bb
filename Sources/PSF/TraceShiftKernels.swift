import Foundation
import LinearAlgebra

// The inner loops of the trace shifts (issue 16), each the same values as the plain form it replaces.

/// The median of `buffer` (reordered in place): the same value as `median` (sorted()[n / 2], or the mean of the two
/// middle values), by selection in O(n) instead of a sort. A buffer holding NaN falls back to the sort.
func medianInPlace(_ buffer: UnsafeMutableBufferPointer<Double>) -> Double {
    let n = buffer.count
    guard n > 0 else { return 0 }
    for v in buffer where v.isNaN { return median(Array(buffer)) }
    let upper = Statistics.select(buffer, n / 2)
    if n % 2 == 1 { return upper }
    // After the selection every value left of n / 2 is <= the value there: the lower middle is their maximum.
    var lower = buffer[0]
    for i in 1..<(n / 2) where buffer[i] > lower { lower = buffer[i] }
    return 0.5 * (lower + upper)
}


/// Interpolation.linear(x:y:at:left:right) at increasing points `at`, walking along x instead of a binary search
/// per point: the same interval and formula, so the same values (x strictly increasing).
func linearAtIncreasing(x: UnsafeBufferPointer<Double>, y: UnsafeBufferPointer<Double>, at t: UnsafeBufferPointer<Double>,
                        left: Double, right: Double, into out: UnsafeMutableBufferPointer<Double>) {
    let n = x.count
    guard n > 0 else { for k in 0..<t.count { out[k] = 0 }; return }
    var i = 0
    for k in 0..<t.count {
        let v = t[k]
        if v < x[0] { out[k] = left; continue }
        if v > x[n - 1] { out[k] = right; continue }
        if v == x[n - 1] || n == 1 { out[k] = y[n - 1]; continue }
        while i + 1 < n && x[i + 1] <= v { i += 1 }    // x[i] <= v < x[i + 1]
        let d = x[i + 1] - x[i]
        out[k] = d > 0 ? y[i] + (y[i + 1] - y[i]) * (v - x[i]) / d : y[i]
    }
}
