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
}
