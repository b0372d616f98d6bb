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

/// Medians of columns that change little from one to the next (the median spectrum over fibers, wavelength after
/// wavelength): the same values as medianInPlace (the order statistics of ranks n / 2 - 1 and n / 2), found in a
/// bracket [lo, hi] around the previous column's median: one branch-free pass counts the values below lo and gathers
/// those inside, and when the middle ranks fall inside (usually ~2 margin values) only those are sorted. Otherwise,
/// and for columns holding NaN, the quickselect of medianInPlace, after which the bracket is taken again at ranks
/// n / 2 -+ margin.
struct BracketedMedian {
    private var lo = 0.0, hi = 0.0, bracketed = false
    private var inside: [Double]
    let margin: Int

    init(count n: Int, margin: Int = 16) {
        inside = [Double](repeating: 0, count: max(n, 1)); self.margin = margin
    }

    /// The median of `column` (count as given to init at most; reordered when the bracket misses).
    mutating func median(_ column: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = column.count
        guard n > 4 * margin else { return medianInPlace(column) }
        let upperRank = n / 2, lowerRank = n % 2 == 1 ? upperRank : upperRank - 1
        if bracketed {
            let (l, h) = (lo, hi)
            let hit = inside.withUnsafeMutableBufferPointer { s -> Double? in
                var below = 0, count = 0, nan = 0
                for q in 0..<n {
                    let v = column[q]
                    below &+= v < l ? 1 : 0
                    nan &+= v.isNaN ? 1 : 0
                    s[count] = v
                    count &+= v >= l && v <= h ? 1 : 0
                }
                guard nan == 0, below <= lowerRank, below + count > upperRank, count <= 4 * margin + 8 else { return nil }
                var part = UnsafeMutableBufferPointer(rebasing: s[0..<count])
                part.sort()
                lo = part[max(0, lowerRank - below - margin)]; hi = part[min(count - 1, upperRank - below + margin)]
                let upper = part[upperRank - below]
                return n % 2 == 1 ? upper : 0.5 * (part[lowerRank - below] + upper)
            }
            if let m = hit { return m }
        }
        let m = medianInPlace(column)
        // after the selection the values left of upperRank are <= it and those right of it >= it
        bracketed = !column.contains { $0.isNaN }
        if bracketed {
            lo = Statistics.select(UnsafeMutableBufferPointer(rebasing: column[0..<upperRank]), max(0, lowerRank - margin))
            let right = UnsafeMutableBufferPointer(rebasing: column[(upperRank + 1)..<n])
            hi = Statistics.select(right, min(right.count - 1, margin - 1))
        }
        return m
    }
}
