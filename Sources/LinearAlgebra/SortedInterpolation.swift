/// `Interpolation.linear` (numpy.interp) at many points that mostly come in increasing order (a spectrum onto a grid,
/// the image model's rows along a trace): the interval is found by walking forward from the previous point's
/// instead of a binary search per point. The interval and the arithmetic are those of `Interpolation.linear`, so the
/// values are identical; a point below the previous one (or NaN) falls back to the binary search.
public struct SortedInterpolation {
    @usableFromInline let x: UnsafeBufferPointer<Double>
    @usableFromInline let y: UnsafeBufferPointer<Double>
    @usableFromInline let left: Double?, right: Double?
    /// First index with x > the previous point (the upper bound of `Interpolation.upperBound`).
    @usableFromInline var upper = 0
    @usableFromInline var previous = -Double.infinity

    /// x increasing and non-empty, x.count == y.count; the buffers must outlive the interpolator.
    @inlinable
    public init(x: UnsafeBufferPointer<Double>, y: UnsafeBufferPointer<Double>, left: Double? = nil, right: Double? = nil) {
        precondition(x.count == y.count && !x.isEmpty)
        self.x = x; self.y = y; self.left = left; self.right = right
    }

    @inlinable @inline(__always)
    public mutating func value(at t: Double) -> Double {
        let n = x.count
        if t < x[0] { return left ?? y[0] }
        if t > x[n - 1] { return right ?? y[n - 1] }
        if t == x[n - 1] || n == 1 { return y[n - 1] }
        if t >= previous {
            while upper < n && x[upper] <= t { upper += 1 }
        } else {
            upper = Interpolation.upperBound(x, t)   // also a NaN t, for which upper is 0 as there
        }
        previous = t.isNaN ? -Double.infinity : t
        return Interpolation.onSegment(x, y, max(upper - 1, 0), at: t)
    }

    /// `value(at:)` at each of the `count` points `t`, into `out`: four points at a time where they increase from
    /// the previous point and lie inside x's range, their segments found by the walk and the four values made in
    /// vector lanes (`Interpolation.onSegments`, one division for four); any other point goes through `value(at:)`.
    /// The same values, in order.
    @inlinable
    public mutating func values(at t: UnsafePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>) {
        let n = x.count
        var k = 0
        if n >= 2 {
            let first = x[0], last = x[n - 1]
            while k + 4 <= count {
                let t0 = t[k], t1 = t[k + 1], t2 = t[k + 2], t3 = t[k + 3]
                // increasing from the previous point, inside [x[0], x[n - 1]) (false for NaN)
                guard previous <= t0, t0 <= t1, t1 <= t2, t2 <= t3, first <= t0, t3 < last else {
                    for q in k..<(k + 4) { out[q] = value(at: t[q]) }
                    k += 4
                    continue
                }
                @inline(__always) func segment(_ v: Double) -> Int {
                    while upper < n && x[upper] <= v { upper += 1 }
                    return max(upper - 1, 0)
                }
                let i0 = segment(t0), i1 = segment(t1), i2 = segment(t2), i3 = segment(t3)
                previous = t3
                let v = Interpolation.onSegments(x.baseAddress!, y.baseAddress!, (i0, i1, i2, i3), at: SIMD4(t0, t1, t2, t3))
                out[k] = v[0]; out[k + 1] = v[1]; out[k + 2] = v[2]; out[k + 3] = v[3]
                k += 4
            }
        }
        while k < count { out[k] = value(at: t[k]); k += 1 }
    }
}
