/// `Interpolation.linear` (numpy.interp, no left / right values) on an increasing grid whose points are about evenly
/// spaced (a linspace, such as the image model's sky grid): the segment of a point is estimated from the grid step and
/// corrected by comparisons with the grid's own values, so it is the segment of the binary search (the last x[i] <= t)
/// whatever the grid's rounding, found without a search or a walk. The interpolation is `Interpolation.onSegment`:
/// the same values as `linear` and `SortedInterpolation`.
public struct EvenGridInterpolation {
    @usableFromInline let x: UnsafeBufferPointer<Double>
    @usableFromInline let first: Double, stepsPerUnit: Double

    /// Below the grid: the first value.
    public static let below = -1
    /// At or above the grid's last point: the last value.
    public static let atOrAbove = -2

    /// `x` non-decreasing with at least 2 points; the buffer must outlive the interpolator.
    public init(x: UnsafeBufferPointer<Double>) {
        precondition(x.count >= 2, "EvenGridInterpolation needs at least 2 grid points")
        self.x = x
        first = x[0]
        stepsPerUnit = Double(x.count - 1) / (x[x.count - 1] - x[0])
    }

    /// The segment i (x[i] <= t < x[i + 1]) of t, or `below` / `atOrAbove`; 0 for a NaN t (as the binary search).
    @inlinable @inline(__always)
    public func segment(_ t: Double) -> Int {
        let n = x.count
        if t < x[0] { return Self.below }
        if t >= x[n - 1] { return Self.atOrAbove }
        guard !t.isNaN else { return 0 }
        var i = min(Int((t - first) * stepsPerUnit), n - 2)
        while x[i] > t { i -= 1 }           // x[0] <= t stops it
        while x[i + 1] <= t { i += 1 }      // t < x[n - 1] stops it
        return i
    }

    /// The interpolated value of `y` (as many values as the grid) on segment `i` of t (from `segment(t)`).
    @inlinable @inline(__always)
    public func value(_ y: UnsafePointer<Double>, segment i: Int, at t: Double) -> Double {
        if i == Self.below { return y[0] }
        if i == Self.atOrAbove { return y[x.count - 1] }
        return Interpolation.onSegment(x, UnsafeBufferPointer(start: y, count: x.count), i, at: t)
    }
}
