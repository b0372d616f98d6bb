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
