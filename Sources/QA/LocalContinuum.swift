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
        var left: [Double] = [], right: [Double] = []
        var leftPos: [Double] = [], rightPos: [Double] = []
        // the medians of the window at `lo` (nil for a side with no finite value); the window is the same for the
        // first w/2 + 1 bins and for the last ones (it slides inside the spectrum), so its medians are taken once
        var windowAt = -1
        var medians: (yl: Double?, yr: Double?, xl: Double, xr: Double) = (nil, nil, 0, 0)
        for b in 0..<n {
            let lo = min(max(0, b - w / 2), n - w), hi = lo + w, mid = lo + w / 2
            if lo != windowAt {
                windowAt = lo
                left.removeAll(keepingCapacity: true); right.removeAll(keepingCapacity: true)
                leftPos.removeAll(keepingCapacity: true); rightPos.removeAll(keepingCapacity: true)
                for i in lo..<mid where values[i].isFinite { left.append(values[i]); leftPos.append(Double(i)) }
                for i in mid..<hi where values[i].isFinite { right.append(values[i]); rightPos.append(Double(i)) }
                // left and right hold finite values only and are refilled for the next window: their medians are
                // taken in place (QAStats.median would filter and copy them first, the same value); the positions
                // are consecutive integers when no value was left out, whose median is their middle (the same
                // value, exact in Double)
                let yl = left.isEmpty ? nil : Statistics.medianInPlace(&left)
                let yr = right.isEmpty ? nil : Statistics.medianInPlace(&right)
                var xl = 0.0, xr = 0.0
                if yl != nil && yr != nil {
                    xl = leftPos.count == mid - lo ? Double(lo) + Double(mid - lo - 1) / 2 : Statistics.medianInPlace(&leftPos)
                    xr = rightPos.count == hi - mid ? Double(mid) + Double(hi - mid - 1) / 2 : Statistics.medianInPlace(&rightPos)
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
}
