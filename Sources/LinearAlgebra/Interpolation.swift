import Foundation

/// One-dimensional interpolation, flux-conserving resampling and Gaussian smoothing of tabulated spectra.
public enum Interpolation {

    /// Linear interpolation of (x, y) at `at`, x increasing. Outside [x.first, x.last] the value is `left`/`right`
    /// when given, else the end value (numpy.interp semantics).
    public static func linear(x: [Double], y: [Double], at points: [Double], left: Double? = nil, right: Double? = nil) -> [Double] {
        precondition(x.count == y.count && !x.isEmpty, "Interpolation.linear: x and y must have the same non-zero length")
        let n = x.count
        let lv = left ?? y[0], rv = right ?? y[n - 1]
        return x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                points.map { p -> Double in
                    if p < xb[0] { return lv }
                    if p > xb[n - 1] { return rv }
                    if n == 1 { return yb[0] }
                    let i = min(max(upperBound(xb, p) - 1, 0), n - 2)
                    let dx = xb[i + 1] - xb[i]
                    let t = dx > 0 ? (p - xb[i]) / dx : 0
                    return yb[i] + t * (yb[i + 1] - yb[i])
                }
            }
        }
    }

    /// First index i with x[i] > value (x increasing).
    @inline(__always)
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

    /// Flux-conserving resampling of a density (flux per unit x) onto bins centred on `xout`: each output value
    /// is the mean over its bin of the linear interpolation of the input, which is taken as zero outside the input
    /// range. Matches desispec.interpolation.resample_flux(xout, x, flux) without ivar and without extrapolation.
    public static func resampleFlux(xout: [Double], x: [Double], flux: [Double]) -> [Double] {
        let e = edges(centers: xout)
        let m = binMoments(x: x, y: flux, edges: e)
        return (0..<xout.count).map { k in m.integral[k] / (e[k + 1] - e[k]) }
    }

    /// Convolution of uniformly sampled `y` with a normalised Gaussian of `sigma` samples, truncated at 5 sigma;
    /// edges are handled by renormalising the kernel over the samples that exist (no flux leaks from the ends).
    public static func gaussianSmooth(_ y: [Double], sigma: Double) -> [Double] {
        guard sigma > 0, y.count > 1 else { return y }
        let half = max(1, Int((5 * sigma).rounded(.up)))
        let kernel = (-half...half).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let n = y.count
        var out = [Double](repeating: 0, count: n)
        y.withUnsafeBufferPointer { yb in
            for i in 0..<n {
                var s = 0.0, w = 0.0
                for k in -half...half {
                    let j = i + k
                    if j < 0 || j >= n { continue }
                    let kw = kernel[k + half]
                    s += kw * yb[j]; w += kw
                }
                out[i] = s / w
            }
        }
        return out
    }
}
