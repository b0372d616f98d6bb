import Foundation

// Medians of columns of values (the median spectrum over fibers of the trace shifts, the sky of the preprocessing's
// image model), each the same value as the sort's.

extension Statistics {
    /// The median of `buffer` (reordered in place): the same value as a sort's (sorted()[n / 2], or the mean of the
    /// two middle values), by selection in O(n) instead of a sort; 0 for no values. A buffer holding NaN is sorted.
    public static func medianInPlace(_ buffer: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = buffer.count
        guard n > 0 else { return 0 }
        for v in buffer where v.isNaN {
            let s = buffer.sorted()
            return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2])
        }
        let upper = select(buffer, n / 2)
        if n % 2 == 1 { return upper }
        // After the selection every value left of n / 2 is <= the value there: the lower middle is their maximum.
        var lower = buffer[0]
        for i in 1..<(n / 2) where buffer[i] > lower { lower = buffer[i] }
        return 0.5 * (lower + upper)
    }
}

/// Medians of columns that change little from one to the next (the median spectrum over fibers, wavelength after
/// wavelength): the same values as Statistics.medianInPlace (the order statistics of ranks n / 2 - 1 and n / 2). One
/// branch-free pass splits the column around a bracket [centre - halfWidth, centre + halfWidth] set by the previous
/// column's median: the values below it, inside it and above it, each group holding a contiguous range of ranks, so
/// each middle rank is found in its own group, usually the few values inside (sorted), otherwise by a selection in
/// the group below or above (fewer values than the column). Columns holding NaN take Statistics.medianInPlace.
/// The bracket is a width in value: first set at ranks n / 2 -+ margin (two selections), then it follows the data,
/// narrowed when more than 2 margin values fall inside, widened when fewer than margin / 2 do and doubled when a
/// middle rank falls outside. (A bracket kept at ranks -+ margin and a quickselect of the whole column whenever the
/// middle ranks left it, the first form, fell back to the quickselect on 62 % of the columns of a sky frame's
/// continuum-subtracted spectra: their median moves by tens of ranks between samples.)
public struct BracketedMedian {
    private var centre = 0.0, halfWidth = 0.0, bracketed = false
    /// The column's values below, inside and above the bracket (n each).
    private var below: [Double], inside: [Double], above: [Double]
    let margin: Int

    public init(count n: Int, margin: Int = 16) {
        below = [Double](repeating: 0, count: max(n, 1)); inside = below; above = below
        self.margin = margin
    }

    /// The median of `column` (count as given to init at most; reordered when it holds NaN or on the first column).
    public mutating func median(_ column: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = column.count
        guard n > 4 * margin else { return Statistics.medianInPlace(column) }
        let upperRank = n / 2, lowerRank = n % 2 == 1 ? upperRank : upperRank - 1
        if bracketed, let (m, nInside, outside) = splitMedian(column, lowerRank: lowerRank, upperRank: upperRank) {
            centre = m
            if outside { halfWidth *= 2 } else if nInside > 2 * margin { halfWidth *= 0.75 } else if nInside < margin / 2 {
                halfWidth *= 1.5
            }
            if halfWidth > 0 && halfWidth.isFinite { return m }
        }
        let m = Statistics.medianInPlace(column)
        // after the selection the values left of upperRank are <= it and those right of it >= it
        bracketed = !column.contains { $0.isNaN }
        if bracketed {
            centre = m
            let lo = Statistics.select(UnsafeMutableBufferPointer(rebasing: column[0..<upperRank]), max(0, lowerRank - margin))
            let right = UnsafeMutableBufferPointer(rebasing: column[(upperRank + 1)..<n])
            let hi = Statistics.select(right, min(right.count - 1, margin - 1))
            halfWidth = max(m - lo, hi - m)
        }
        return m
    }

    /// The median from the three groups of one pass, the number of values inside the bracket and whether a middle
    /// rank fell outside it; nil for a column with NaN.
    private mutating func splitMedian(_ column: UnsafeMutableBufferPointer<Double>, lowerRank: Int,
                                      upperRank: Int) -> (Double, Int, Bool)? {
        let n = column.count, l = centre - halfWidth, h = centre + halfWidth
        return below.withUnsafeMutableBufferPointer { b in inside.withUnsafeMutableBufferPointer { s in
            above.withUnsafeMutableBufferPointer { a -> (Double, Int, Bool)? in
                var nb = 0, ns = 0, na = 0
                for q in 0..<n {
                    let v = column[q]
                    b[nb] = v; s[ns] = v; a[na] = v
                    nb &+= v < l ? 1 : 0
                    na &+= v > h ? 1 : 0
                    ns &+= v >= l && v <= h ? 1 : 0
                }
                guard nb + ns + na == n else { return nil }   // NaN is in no group
                // groups 0, 1, 2 (below, inside, above) hold the ranks from 0, nb and nb + ns on
                func group(_ g: Int) -> UnsafeMutableBufferPointer<Double> {
                    g == 0 ? .init(rebasing: b[0..<nb]) : (g == 1 ? .init(rebasing: s[0..<ns]) : .init(rebasing: a[0..<na]))
                }
                func groupOf(rank: Int) -> Int { rank < nb ? 0 : (rank < nb + ns ? 1 : 2) }
                let gu = groupOf(rank: upperRank), gl = groupOf(rank: lowerRank)
                var upperGroup = group(gu)
                let ku = upperRank - (gu == 0 ? 0 : (gu == 1 ? nb : nb + ns))
                // the few values inside are sorted; a middle rank outside is found by a selection in its group
                let sorted = gu == 1 && ns <= 4 * margin + 8
                if sorted { upperGroup.sort() }
                let upper = sorted ? upperGroup[ku] : Statistics.select(upperGroup, ku)
                guard lowerRank != upperRank else { return (upper, ns, gu != 1) }
                let lower: Double
                if gl != gu {
                    lower = group(gl).max()!      // the lower middle rank is the largest value of the group before
                } else if sorted {
                    lower = upperGroup[ku - 1]
                } else {
                    // after the selection the values left of ku are <= the value there: the lower middle is their maximum
                    lower = UnsafeMutableBufferPointer(rebasing: upperGroup[0..<ku]).max()!
                }
                return (0.5 * (lower + upper), ns, gu != 1 || gl != 1)
            }
        } }
    }
}
