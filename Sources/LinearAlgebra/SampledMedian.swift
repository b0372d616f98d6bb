extension Statistics {
    /// The median of `values` exactly as `medianInPlace` gives it on a copy (numpy.median: the mean of the two middle
    /// values for an even count), without reordering `values`; `scratch` holds at least values.count doubles.
    ///
    /// Floyd and Rivest's selection (CACM 18, 1975): two pivots taken from a sorted sample of the values bracket the
    /// middle order statistics with high probability; one pass counts the values below the lower pivot and copies
    /// those between the pivots into `scratch` (no branches on the data), and only that fifth of the values goes
    /// through quickselect. The order statistics are values, not positions, so the result is the same number as the
    /// plain quickselect's. Where the bracket misses, or the values hold a NaN, or a middle value is zero (whose sign,
    /// +0 or -0, depends on which of equal values a selection lands on), the plain form is run on a copy instead.
    /// The medians of frame scores (FrameScores, ~2250 values per spectrum) took a fifth of `desispec cframe`.
    public static func sampledMedian(_ values: UnsafeBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>) -> Double {
        let n = values.count
        precondition(scratch.count >= n, "sampledMedian: scratch smaller than the values")
        guard n > 0 else { return .nan }
        let k = n / 2, even = n % 2 == 0
        if n >= 256, let m = bracketedMedian(values, scratch: scratch, k: k, even: even) { return m }
        // the plain form, on a copy in the same order
        _ = scratch.initialize(from: values)
        let part = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
        let hi = select(part, k)
        if !even { return hi }
        var lo = -Double.infinity
        for i in 0..<k where part[i] > lo { lo = part[i] }
        return 0.5 * (lo + hi)
    }

    /// The median from the values between sample pivots, narrowed again while more than 64 values are left; nil
    /// where `sampledMedian` must use the plain form (a NaN, a bracket that misses at the first pass, a zero median).
    private static func bracketedMedian(_ v: UnsafeBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>,
                                        k: Int, even: Bool) -> Double? {
        let kLow = even ? k - 1 : k          // the order statistics needed: kLow and k
        var base = 0                          // values of the whole set below the current set
        var source = v                        // the current set: `v`, then a part of `scratch`
        var target = 0                        // where in `scratch` the next set is written
        var regionB = 0                       // second region of `scratch` (ping-pong between 0 and regionB)
        while source.count > 64 {
            let c = source.count
            guard let (lower, upper) = samplePivots(source, from: kLow - base, to: k - base) else { return nil }
            var below = 0, above = 0, kept = 0
            let out = scratch.baseAddress! + target
            for i in 0..<c {
                let x = source[i]
                below &+= x < lower ? 1 : 0
                above &+= x > upper ? 1 : 0
                out[kept] = x
                // (& of two flags, not &&: no branch on the data)
                kept &+= (x >= lower ? 1 : 0) & (x <= upper ? 1 : 0)
            }
            // a NaN is in none of the three groups
            if below + above + kept != c { return nil }
            let inside = base + below <= kLow && k < base + below + kept
            if !inside {
                if target == 0 && regionB == 0 { return nil }   // first pass: the plain form on the whole copy
                break                                             // later: select in the current set (in scratch)
            }
            base += below
            source = UnsafeBufferPointer(start: out, count: kept)
            if kept == c { break }                                // no progress (values equal around the median)
            if regionB == 0 {
                // after the first pass the set is at scratch[0..<kept]; the next sets alternate with scratch[kept...]
                if 2 * kept > scratch.count { break }
                regionB = kept
                target = regionB
            } else {
                target = target == 0 ? regionB : 0
            }
        }
        if source.baseAddress == v.baseAddress { return nil }      // never narrowed (fewer than 65 values)
        let set = UnsafeMutableBufferPointer(mutating: source)
        let j = k - base
        let hi = select(set, j)
        if hi == 0 { return nil }
        if !even { return hi }
        var lo = -Double.infinity
        for i in 0..<j where set[i] > lo { lo = set[i] }            // j >= 1: base <= k - 1
        if lo == 0 { return nil }
        return 0.5 * (lo + hi)
    }

    /// Two pivots from a sample of 64 of `values`: the sample's order statistics about 9 sample ranks below the rank
    /// `from` and above the rank `to` (binomial spread of a rank in the sample: ~4); nil when the sample holds a NaN.
    private static func samplePivots(_ values: UnsafeBufferPointer<Double>, from: Int, to: Int) -> (Double, Double)? {
        let n = values.count, m = 64
        return withUnsafeTemporaryAllocation(of: SIMD4<Double>.self, capacity: m / 4) { chunks -> (Double, Double)? in
            let sample = UnsafeMutableRawPointer(chunks.baseAddress!).assumingMemoryBound(to: Double.self)
            var hasNaN = false
            for j in 0..<m { let x = values[j * (n - 1) / (m - 1)]; sample[j] = x; hasNaN = hasNaN || x.isNaN }
            if hasNaN { return nil }
            let a = from * (m - 1) / max(1, n - 1), b = (to * (m - 1) + n - 2) / max(1, n - 1)
            return orderStatistics(chunks, max(0, a - 9), min(m - 1, b + 9))
        }
    }

    /// The values of ranks `t` and `u` (0-based, as in the sorted order) of the values in `chunks` (no NaN): the x with
    /// #(values < x) <= t < #(values <= x), counted for every x in vector lanes (no branches on the data, where
    /// sorting the 64 values by insertion takes one unpredictable branch per move).
    @inline(__always)
    private static func orderStatistics(_ chunks: UnsafeMutableBufferPointer<SIMD4<Double>>, _ t: Int, _ u: Int) -> (Double, Double) {
        let values = UnsafeRawPointer(chunks.baseAddress!).assumingMemoryBound(to: Double.self)
        let rankT = Int64(t), rankU = Int64(u)
        var foundT = values[0], foundU = values[0]
        for i in 0..<(4 * chunks.count) {
            let x = SIMD4<Double>(repeating: values[i])
            var less = SIMD4<Int64>(), notMore = SIMD4<Int64>()   // minus the counts (a true lane is -1)
            for c in chunks {
                less &+= unsafeBitCast(c .< x, to: SIMD4<Int64>.self)
                notMore &+= unsafeBitCast(c .<= x, to: SIMD4<Int64>.self)
            }
            let below = -less.wrappedSum(), atOrBelow = -notMore.wrappedSum()
            if below <= rankT && rankT < atOrBelow { foundT = values[i] }
            if below <= rankU && rankU < atOrBelow { foundU = values[i] }
        }
        return (foundT, foundU)
    }
}
