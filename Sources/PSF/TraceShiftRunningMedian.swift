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
/// windows of the last inner + window + 1 positions are kept in a ring (each one made from the previous slot by
/// `slideSortedWindow`, so nothing is copied), and the median of sample k is the median of the union of two sorted
/// blocks (the ring's oldest and the newest), found by a binary search over how many values the first block gives to
/// the lower half. The same values as a sort of the 2 m values per sample (the mean of the two middle values).
/// Rows holding NaN are sorted sample by sample (the order of NaN in a sort is not a median).
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
    let ring = SortedWindowRing(slots: ringCount, count: m)
    defer { ring.deallocate() }
    let initial = Array(extended[0..<m]).sorted()
    for q in 0..<m { ring.values(0)[q] = initial[q] }
    extended.withUnsafeBufferPointer { e in
        // The sorted window of block start j is in slot j % ringCount; the median of sample k = j - gap takes the
        // slots of j - gap (left block) and j (right block), and j - gap is the slot after j in the ring.
        var j = 0, slot = 0
        while true {
            if j >= gap {
                let oldest = slot &+ 1 == ringCount ? 0 : slot &+ 1
                out[j &- gap] = medianOfTwoSorted(UnsafeBufferPointer(start: ring.values(oldest), count: m),
                                                  UnsafeBufferPointer(start: ring.values(slot), count: m))
            }
            if j == n &- 1 &+ gap { break }
            let next = slot &+ 1 == ringCount ? 0 : slot &+ 1
            slideSortedWindow(from: ring.chunks(slot), to: ring.chunks(next), chunks: ring.nchunk, count: m,
                              old: e[j], new: e[j &+ m])
            j &+= 1
            slot = next
        }
    }
}

/// Sorted windows of `count` values, each in SIMD4 chunks with one chunk of padding before and after (so that the
/// neighbours s[q - 1] and s[q + 1] of every value can be read as whole chunks).
struct SortedWindowRing {
    let nchunk: Int, stride: Int
    let base: UnsafeMutablePointer<SIMD4<Double>>

    init(slots: Int, count m: Int) {
        nchunk = (m + 3) / 4; stride = nchunk + 2
        base = .allocate(capacity: slots * stride)
        base.initialize(repeating: SIMD4(repeating: 0), count: slots * stride)
    }
    /// The chunks of slot `s` (chunk -1 and chunk nchunk are the padding).
    @inline(__always) func chunks(_ s: Int) -> UnsafeMutablePointer<SIMD4<Double>> { base + (s &* stride &+ 1) }
    /// The values of slot `s`.
    @inline(__always) func values(_ s: Int) -> UnsafeMutablePointer<Double> {
        UnsafeMutableRawPointer(chunks(s)).assumingMemoryBound(to: Double.self)
    }
    func deallocate() { base.deallocate() }
}

/// The sorted window `src` (m values in `nchunk` SIMD4 chunks, padded as in SortedWindowRing) with `old` (present)
/// taken out and `new` put in, written sorted to `dst`: the same values as removing the first copy of `old` and
/// inserting `new` before the first value greater than it (replaceInSorted, the plain form in the tests), without
/// branches: r = #(s < old) is where old is, ins = #(s <= new) - (old <= new) where new goes in s without old, and
/// dst[q] = s[q] or s[q + 1] (before ins, whether q < r), new (at ins), s[q - 1] or s[q] (after ins, whether q <= r).
/// The comparisons of a noisy spectrum are unpredictable: the binary searches and the variable-length shift of
/// the plain form spend most of their time on mispredicted branches and on loads that wait on each other.
@inline(__always)
func slideSortedWindow(from src: UnsafeMutablePointer<SIMD4<Double>>, to dst: UnsafeMutablePointer<SIMD4<Double>>,
                       chunks nchunk: Int, count m: Int, old: Double, new: Double) {
    // Counts and lane indices are kept as doubles (exact for any window): double comparisons and selects are single
    // SSE2 instructions, 64-bit integer ones are not.
    let o = SIMD4<Double>(repeating: old), nw = SIMD4<Double>(repeating: new)
    let zero = SIMD4<Double>(repeating: 0), one = SIMD4<Double>(repeating: 1), four = SIMD4<Double>(repeating: 4)
    var below = zero, notAbove = zero
    let last = nchunk &- 1
    for c in 0..<last {
        let v = src[c]
        below += zero.replacing(with: one, where: v .< o)
        notAbove += zero.replacing(with: one, where: v .<= nw)
    }
    // lanes past m in the last chunk are not values
    let v = src[last], valid = SIMD4<Double>(0, 1, 2, 3) .< SIMD4<Double>(repeating: Double(m &- 4 &* last))
    below += zero.replacing(with: one, where: (v .< o) .& valid)
    notAbove += zero.replacing(with: one, where: (v .<= nw) .& valid)
    let r = below.sum(), ins = notAbove.sum() - (old <= new ? 1 : 0)
    let rv = SIMD4<Double>(repeating: r), iv = SIMD4<Double>(repeating: ins)
    var lane = SIMD4<Double>(0, 1, 2, 3)
    var previous = src[-1], current = src[0]
    for c in 0..<nchunk {
        let following = src[c &+ 1]
        let up = SIMD4<Double>(current[1], current[2], current[3], following[0])        // s[q + 1]
        let down = SIMD4<Double>(previous[3], current[0], current[1], current[2])       // s[q - 1]
        let before = current.replacing(with: up, where: lane .>= rv)     // s without old, at q
        let after = down.replacing(with: current, where: lane .> rv)     // s without old, at q - 1
        dst[c] = before.replacing(with: after, where: lane .> iv).replacing(with: nw, where: lane .== iv)
        previous = current; current = following
        lane += four
    }
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
