import Foundation

// The running annulus median of the sky continuum subtraction (desispec.trace_shifts._continuum_subtract_median:
// scipy.ndimage.median_filter with an annulus footprint, 'reflect' edges).

/// For every sample k, the median of a[reflect(k + d)] over window/2 < |d| <= window (reflect as scipy's 'reflect'
/// mode: -1 -> 0, n -> n - 1).
func runningAnnulusMedian(_ a: [Double], window: Int) -> [Double] {
    var out = [Double](repeating: 0, count: a.count)
    a.withUnsafeBufferPointer { ap in out.withUnsafeMutableBufferPointer { runningAnnulusMedian(ap, window: window, into: $0) } }
    return out
}

/// The annulus is two blocks of m = window - inner + 1 samples, [k - window, k - inner] and [k + inner, k + window]
/// (inner = window / 2 + 1), and the right block of sample k is the left block of sample k + inner + window. So one
/// sorted window of m samples slides along the (reflected) row, one value out and one in per step; the sorted
/// copies of the last inner + window + 1 positions are kept in a ring, and the median of sample k is the median of
/// the union of two sorted blocks (the ring's oldest and the newest), found by a binary search over how many values
/// the first block gives to the lower half. The same values as a sort of the 2 m values per sample (the mean of the
/// two middle values), at a quarter of the work of keeping the whole annulus sorted. Rows holding NaN are sorted
/// sample by sample (the order of NaN in a sort is not a median).
func runningAnnulusMedian(_ a: UnsafeBufferPointer<Double>, window: Int, into out: UnsafeMutableBufferPointer<Double>) {
    let n = a.count
    guard n > 0 else { return }
    let w = max(window, 0), inner = w / 2 + 1, m = w - inner + 1
    guard m > 0 else { for k in 0..<n { out[k] = 0 }; return }
    func reflected(_ i0: Int) -> Double {
        var i = i0
        if i < 0 { i = -i - 1 }
        if i >= n { i = 2 * n - i - 1 }
        return a[min(max(i, 0), n - 1)]
    }
    // e[i] = a[reflect(i - w)]: the row with its reflected edges, so that every block is a contiguous range of e.
    let ne = n + 2 * w
    var extended = [Double](repeating: 0, count: ne)
    var hasNaN = false
    for i in 0..<ne { let v = reflected(i - w); extended[i] = v; if v.isNaN { hasNaN = true } }
    if hasNaN {
        var values = [Double](repeating: 0, count: 2 * m)
        for k in 0..<n {
            for q in 0..<m { values[q] = extended[k + q]; values[m + q] = extended[k + inner + w + q] }
            values.sort()
            out[k] = 0.5 * (values[m - 1] + values[m])
        }
        return
    }
    let gap = inner + w, ringCount = gap + 1
    var ring = [Double](repeating: 0, count: ringCount * m)
    var sortedWindow = Array(extended[0..<m]).sorted()
    extended.withUnsafeBufferPointer { e in ring.withUnsafeMutableBufferPointer { r in
        sortedWindow.withUnsafeMutableBufferPointer { s in
            // The sorted window of block start j goes to ring slot j % ringCount; the median of sample k = j - gap
            // takes the slots of j - gap (left block) and j (right block), which is the next slot of the ring.
            let ring = r.baseAddress!, sorted = UnsafePointer(s.baseAddress!)
            var j = 0, slot = 0
            while true {
                (ring + slot &* m).update(from: sorted, count: m)
                if j >= gap {
                    let oldest = slot &+ 1 == ringCount ? 0 : slot &+ 1
                    out[j &- gap] = medianOfTwoSorted(UnsafeBufferPointer(start: ring + oldest &* m, count: m),
                                                      UnsafeBufferPointer(start: ring + slot &* m, count: m))
                }
                if j == n &- 1 &+ gap { break }
                replaceInSorted(s, old: e[j], new: e[j &+ m])
                j &+= 1
                slot = slot &+ 1 == ringCount ? 0 : slot &+ 1
            }
        }
    } }
}

/// The median of the union of two sorted blocks of the same size m: the mean of the values of rank m - 1 and m.
/// i values of `x` and m - i of `y` make the m smallest; i is the first index with x[i] >= y[m - i - 1].
@inline(__always)
func medianOfTwoSorted(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>) -> Double {
    let m = x.count
    @inline(__always) func bit(_ b: Bool) -> Int { Int(unsafeBitCast(b, to: UInt8.self)) }
    // the number of i with x[i] < y[m - i - 1] (true for the first ones, then false): a binary search of fixed
    // steps whose moves are conditional (no unpredictable branches)
    var base = 0, len = m
    while len > 1 { let half = len >> 1; let p = base &+ half &- 1; base &+= half &* bit(x[p] < y[m &- p &- 1]); len &-= half }
    let i = base &+ bit(x[base] < y[m &- base &- 1]), j = m &- i
    let lower = i == 0 ? y[j &- 1] : (j == 0 ? x[i &- 1] : max(x[i &- 1], y[j &- 1]))
    let upper = i == m ? y[j] : (j == m ? x[i] : min(x[i], y[j]))
    return 0.5 * (lower + upper)
}

/// One value out of a sorted buffer and one in, keeping it sorted: `old` (present) is removed where its first copy
/// is, `new` inserted before the first value greater than it; only the values between the two positions move.
/// The positions come from binary searches whose steps are conditional moves (noisy spectra compare unpredictably).
@inline(__always)
func replaceInSorted(_ s: UnsafeMutableBufferPointer<Double>, old: Double, new: Double) {
    let c = s.count
    @inline(__always) func bit(_ b: Bool) -> Int { Int(unsafeBitCast(b, to: UInt8.self)) }
    var base = 0, len = c
    while len > 1 { let half = len / 2; base &+= half &* bit(s[base + half - 1] < old); len -= half }
    let below = base &+ bit(s[base] < old)             // index of the first copy of old
    base = 0; len = c
    while len > 1 { let half = len / 2; base &+= half &* bit(s[base + half - 1] <= new); len -= half }
    let notAbove = base &+ bit(s[base] <= new)         // values <= new
    if notAbove > below {
        var q = below
        while q < notAbove - 1 { s[q] = s[q + 1]; q += 1 }
        s[notAbove - 1] = new
    } else {
        var q = below
        while q > notAbove { s[q] = s[q - 1]; q -= 1 }
        s[notAbove] = new
    }
}
