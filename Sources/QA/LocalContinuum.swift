import LinearAlgebra

/// A robust, slowly varying continuum under a binned spectrum: at each bin, the straight line through the medians of
/// the two halves of a window of `window` bins around it (the window slides inside the spectrum at its ends, so the
/// line extrapolates a slope there instead of flattening it). Features narrower than about a quarter of the window
/// barely move the medians, so they stay in `values - continuum`; an object's continuum shape does not.
/// NaN values are ignored; a window with no finite value gives NaN.
enum LocalContinuum {
    static func estimate(_ values: [Double], window: Int) -> [Double] {
        let n = values.count
        guard n > 0 else { return [] }
        let w = max(2, min(window, n))
        var out = [Double](repeating: .nan, count: n)
        let half = w / 2
        // The finite values of the window's two halves, kept sorted as the window slides one bin (one value out, one
        // in, each half), so that a median is read off instead of selected. The window is the same for the first
        // w/2 + 1 bins and for the last ones (it slides inside the spectrum): its medians are taken once.
        var left = SortedWindow(), right = SortedWindow()
        var windowAt = -1
        var medians: (yl: Double?, yr: Double?, xl: Double, xr: Double) = (nil, nil, 0, 0)
        for b in 0..<n {
            let lo = min(max(0, b - half), n - w), hi = lo + w, mid = lo + half
            if lo != windowAt {
                if windowAt >= 0 && lo == windowAt + 1 {
                    left.remove(values[lo - 1]); left.insert(values[mid - 1])
                    right.remove(values[mid - 1]); right.insert(values[hi - 1])
                } else {
                    left.fill(values[lo..<mid]); right.fill(values[mid..<hi])
                }
                windowAt = lo
                let yl = median(left, values, lo..<mid), yr = median(right, values, mid..<hi)
                var xl = 0.0, xr = 0.0
                if yl != nil && yr != nil {
                    // the positions of the finite values: consecutive integers when none was left out, whose median
                    // is their middle (the same value, exact in Double)
                    xl = left.count == mid - lo ? Double(lo) + Double(mid - lo - 1) / 2 : positionMedian(values, lo..<mid)
                    xr = right.count == hi - mid ? Double(mid) + Double(hi - mid - 1) / 2 : positionMedian(values, mid..<hi)
                }
                medians = (yl, yr, xl, xr)
            }
            switch (medians.yl, medians.yr) {
            case (nil, nil): continue
            case (let yl?, nil): out[b] = yl
            case (nil, let yr?): out[b] = yr
            case (let yl?, let yr?):
                let xl = medians.xl, xr = medians.xr
                out[b] = xr > xl ? yl + (yr - yl) * (Double(b) - xl) / (xr - xl) : 0.5 * (yl + yr)
            }
        }
        return out
    }

    /// The median of a half as Statistics.medianInPlace gives it (the middle value, or the mean of the two middle
    /// values: (lower + upper) / 2); nil for no finite value. A zero median is taken by medianInPlace itself on the
    /// half's values in order: which of +0 and -0 it is depends on the selection, not on the sorted order.
    static func median(_ sorted: SortedWindow, _ values: [Double], _ range: Range<Int>) -> Double? {
        let c = sorted.count
        guard c > 0 else { return nil }
        let m = c % 2 == 1 ? sorted.values[c / 2] : 0.5 * (sorted.values[c / 2 - 1] + sorted.values[c / 2])
        if m != 0 { return m }
        var finite = values[range].filter(\.isFinite)
        return Statistics.medianInPlace(&finite)
    }

    /// The median of the positions of the finite values in `range` (some were left out).
    static func positionMedian(_ values: [Double], _ range: Range<Int>) -> Double {
        var positions = range.filter { values[$0].isFinite }.map(Double.init)
        return Statistics.medianInPlace(&positions)
    }
}

/// The finite values of a window, sorted (LocalContinuum's halves).
struct SortedWindow {
    var values: [Double] = []
    var count: Int { values.count }

    mutating func fill(_ window: ArraySlice<Double>) {
        values.removeAll(keepingCapacity: true)
        for v in window where v.isFinite { values.append(v) }
        values.sort()
    }

    /// First index whose value is not below `x` (`orAbove`: not at or below).
    func position(of x: Double, orAbove: Bool) -> Int {
        var lo = 0, hi = values.count
        while lo < hi {
            let m = (lo + hi) / 2
            if values[m] < x || (orAbove && values[m] == x) { lo = m + 1 } else { hi = m }
        }
        return lo
    }

    mutating func insert(_ x: Double) {
        guard x.isFinite else { return }
        values.insert(x, at: position(of: x, orAbove: true))
    }

    /// Removes one value equal to `x` (a finite value of the window).
    mutating func remove(_ x: Double) {
        guard x.isFinite else { return }
        let i = position(of: x, orAbove: false)
        if i < values.count && values[i] == x { values.remove(at: i) }
    }
}
