import Foundation

/// One-dimensional linear interpolation of tabulated functions and the integrals of its pieces over bins
/// (flux-conserving resampling: Resampling.swift).
public enum Interpolation {

    /// Linear interpolation of (x, y) at `points` with numpy.interp semantics: x increasing (repeated values
    /// allowed: the last of equal nodes starts the next segment), outside [x.first, x.last] the value `left` /
    /// `right` when given, else the end value. Inside, y[i] + (y[i+1] - y[i]) (t - x[i]) / (x[i+1] - x[i]) on the
    /// segment x[i] <= t < x[i+1], y.last at x.last, y[i] on a segment of zero length. An empty x gives zeros.
    public static func linear(x: [Double], y: [Double], at points: [Double], left: Double? = nil, right: Double? = nil) -> [Double] {
        precondition(x.count == y.count, "Interpolation.linear: x and y must have the same length")
        guard !x.isEmpty else { return [Double](repeating: 0, count: points.count) }
        return x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { yb in
            // sorted nodes and points (the usual case: a spectrum onto a grid): one walk instead of a binary search
            // per point, the same segments and formula, so the same values
            guard isNonDecreasing(xb), points.withUnsafeBufferPointer(isNonDecreasing) else {
                return points.map { linear(xb, yb, at: $0, left: left, right: right) }
            }
            return [Double](unsafeUninitializedCapacity: points.count) { out, count in
                points.withUnsafeBufferPointer { linearAtIncreasing(x: xb, y: yb, at: $0, left: left, right: right, into: out) }
                count = points.count
            }
        } }
    }

    /// Whether every value is >= the one before (false with a NaN).
    static func isNonDecreasing(_ v: UnsafeBufferPointer<Double>) -> Bool {
        var k = 1
        while k < v.count { if !(v[k - 1] <= v[k]) { return false }; k += 1 }
        return true
    }

    /// `linear` at non-decreasing points `t` (x non-decreasing, non-empty), walking along x instead of a binary
    /// search per point: the segment found is the same (the last x[i] <= t), so are the values.
    public static func linearAtIncreasing(x: UnsafeBufferPointer<Double>, y: UnsafeBufferPointer<Double>,
                                          at t: UnsafeBufferPointer<Double>, left: Double?, right: Double?,
                                          into out: UnsafeMutableBufferPointer<Double>) {
        guard !x.isEmpty else { for k in 0..<t.count { out[k] = 0 }; return }
        var walk = SortedInterpolation(x: x, y: y, left: left, right: right)
        for k in 0..<t.count { out[k] = walk.value(at: t[k]) }
    }

    /// `linear` at one point.
    public static func linear(x: [Double], y: [Double], at t: Double, left: Double? = nil, right: Double? = nil) -> Double {
        precondition(x.count == y.count, "Interpolation.linear: x and y must have the same length")
        guard !x.isEmpty else { return 0 }
        return x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { linear(xb, $0, at: t, left: left, right: right) } }
    }

    /// `linear` at one point, on buffers (x non-empty).
    @inlinable
    public static func linear(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>, at t: Double,
                              left: Double? = nil, right: Double? = nil) -> Double {
        let n = x.count
        if t < x[0] { return left ?? y[0] }
        if t > x[n - 1] { return right ?? y[n - 1] }
        if t == x[n - 1] || n == 1 { return y[n - 1] }
        let i = max(upperBound(x, t) - 1, 0)    // x[i] <= t < x[i + 1] (0 for a NaN t, which gives NaN)
        return onSegment(x, y, i, at: t)
    }

    /// The linear interpolation at t on the segment [x[i], x[i + 1]] (y[i] where the segment has no length): the
    /// arithmetic of every interpolation here (`linear`, SortedInterpolation), so that they give the same values.
    @inlinable @inline(__always)
    public static func onSegment<X: RandomAccessCollection<Double>, Y: RandomAccessCollection<Double>>(
        _ x: X, _ y: Y, _ i: Int, at t: Double) -> Double where X.Index == Int, Y.Index == Int {
        let d = x[i + 1] - x[i]
        return d > 0 ? y[i] + (y[i + 1] - y[i]) * (t - x[i]) / d : y[i]
    }

    /// `onSegment` in four lanes, from each lane's segment ends y0, y1, its width d = x[i + 1] - x[i] and the offset
    /// t - x[i]: the same operations in each lane (one vector division for four), y0 where d > 0 fails.
    @inlinable @inline(__always)
    public static func onSegments(y0: SIMD4<Double>, y1: SIMD4<Double>, offset: SIMD4<Double>,
                                  width d: SIMD4<Double>) -> SIMD4<Double> {
        (y0 + (y1 - y0) * offset / d).replacing(with: y0, where: .!(d .> 0))
    }

    /// `onSegment` at four points t, each on its segment [x[i], x[i + 1]] (indices i of x and y, read through
    /// pointers): the four segments' ends gathered, then `onSegments`.
    @inlinable @inline(__always)
    public static func onSegments(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ i: (Int, Int, Int, Int),
                                  at t: SIMD4<Double>) -> SIMD4<Double> {
        let x0 = SIMD4(x[i.0], x[i.1], x[i.2], x[i.3]), x1 = SIMD4(x[i.0 + 1], x[i.1 + 1], x[i.2 + 1], x[i.3 + 1])
        return onSegments(y0: SIMD4(y[i.0], y[i.1], y[i.2], y[i.3]), y1: SIMD4(y[i.0 + 1], y[i.1 + 1], y[i.2 + 1], y[i.3 + 1]),
                          offset: t - x0, width: x1 - x0)
    }

    /// First index i with x[i] > value (x increasing).
    @inlinable
    public static func upperBound(_ x: UnsafeBufferPointer<Double>, _ value: Double) -> Int {
        var lo = 0, hi = x.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[mid] <= value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Integrals over each bin [edges[k], edges[k+1]] of the piecewise-linear function through (x, y), taken as
    /// zero outside [x.first, x.last]: returns (∫ y dλ, ∫ λ y dλ) per bin, both exact for the linear pieces.
    /// Edges must increase. This is the kernel of `resampleFlux` and of the simulator's bin-by-bin photon counts.
    public static func binMoments(x: [Double], y: [Double], edges: [Double]) -> (integral: [Double], firstMoment: [Double]) {
        precondition(x.count == y.count, "Interpolation.binMoments: x and y must have the same length")
        let nb = max(edges.count - 1, 0)
        var s0 = [Double](repeating: 0, count: nb), s1 = [Double](repeating: 0, count: nb)
        guard x.count >= 2, nb > 0 else { return (s0, s1) }
        x.withUnsafeBufferPointer { xb in
        y.withUnsafeBufferPointer { yb in
            let n = xb.count
            // segment index at the start of the current bin
            var seg = max(upperBound(xb, edges[0]) - 1, 0)
            for k in 0..<nb {
                let a = max(edges[k], xb[0]), b = min(edges[k + 1], xb[n - 1])
                guard b > a else { continue }
                while seg < n - 2 && xb[seg + 1] <= a { seg += 1 }
                var j = seg
                var acc0 = 0.0, acc1 = 0.0
                while j < n - 1 && xb[j] < b {
                    let x0 = xb[j], x1 = xb[j + 1]
                    let lo = max(a, x0), hi = min(b, x1)
                    if hi > lo && x1 > x0 {
                        let slope = (yb[j + 1] - yb[j]) / (x1 - x0)
                        // y(t) = c + slope * t on this segment; integrate y and t*y between lo and hi exactly
                        let c = yb[j] - slope * x0
                        let d1 = hi - lo, d2 = (hi * hi - lo * lo) / 2, d3 = (hi * hi * hi - lo * lo * lo) / 3
                        acc0 += c * d1 + slope * d2
                        acc1 += c * d2 + slope * d3
                    }
                    j += 1
                }
                s0[k] = acc0; s1[k] = acc1
            }
        }
        }
        return (s0, s1)
    }

    /// Bin edges for bin centres `centers`: midpoints, with the outer edges half a spacing beyond the ends.
    public static func edges(centers: [Double]) -> [Double] {
        let n = centers.count
        guard n > 1 else { return n == 1 ? [centers[0] - 0.5, centers[0] + 0.5] : [] }
        var e = [Double](repeating: 0, count: n + 1)
        for i in 1..<n { e[i] = 0.5 * (centers[i - 1] + centers[i]) }
        e[0] = centers[0] - (e[1] - centers[0])
        e[n] = centers[n - 1] + (centers[n - 1] - e[n - 1])
        return e
    }
}
