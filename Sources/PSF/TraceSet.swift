import Foundation
import LinearAlgebra

/// Per-fiber Legendre series of one quantity (x, y, or a PSF parameter) in the reduced wavelength
/// u = 2 (w - wmin) / (wmax - wmin) - 1 (specter.util.traceset.TraceSet, desispec.xytraceset).
/// Coefficients row-major [ntrace, ncoef].
public struct TraceSet: Sendable, Equatable {
    public var ntrace: Int
    public var ncoef: Int
    public var coefficients: [Double]
    /// Domain of the independent variable mapped onto [-1, 1].
    public var domainMin: Double
    public var domainMax: Double

    public init(coefficients: [Double], ntrace: Int, ncoef: Int, domainMin: Double, domainMax: Double) {
        precondition(coefficients.count == ntrace * ncoef, "TraceSet: \(coefficients.count) coefficients for \(ntrace)x\(ncoef)")
        precondition(domainMax != domainMin, "TraceSet: empty domain")
        self.coefficients = coefficients; self.ntrace = ntrace; self.ncoef = ncoef
        self.domainMin = domainMin; self.domainMax = domainMax
    }

    /// The reduced coordinate of `v` in this domain.
    @inlinable public func reduced(_ v: Double) -> Double { Legendre.reduced(v, min: domainMin, max: domainMax) }

    /// Coefficients of trace `i`.
    public func coefficients(of i: Int) -> ArraySlice<Double> { coefficients[(i * ncoef)..<((i + 1) * ncoef)] }

    /// Value of trace `i` at `v` (specter TraceSet.eval).
    @inlinable
    public func eval(_ i: Int, _ v: Double) -> Double {
        let u = reduced(v)
        return coefficients.withUnsafeBufferPointer { p in
            Legendre.value(u, UnsafeBufferPointer(rebasing: p[(i * ncoef)..<((i + 1) * ncoef)]))
        }
    }

    /// `eval(i, v)` at every value of `values`, four at a time (lane by lane the same operations: the same bits).
    public func eval(_ i: Int, at values: [Double]) -> [Double] {
        coefficients.withUnsafeBufferPointer { p in values.withUnsafeBufferPointer { v in
            Legendre.values(at: v, UnsafeBufferPointer(rebasing: p[(i * ncoef)..<((i + 1) * ncoef)]), min: domainMin,
                            max: domainMax)
        } }
    }

    /// Derivative of trace `i` with respect to v at `v`.
    public func derivative(_ i: Int, _ v: Double) -> Double {
        let u = reduced(v)
        var d = [Double](repeating: 0, count: max(ncoef - 1, 1))
        // d/du sum c_k P_k = sum_k c_k P'_k, with P'_{k+1} - P'_{k-1} = (2k+1) P_k: Legendre derivative series.
        var c = Array(coefficients(of: i))
        if ncoef <= 1 { return 0 }
        var n = ncoef - 1
        while n >= 1 {
            d[n - 1] = Double(2 * n - 1) * c[n]
            if n >= 2 { c[n - 2] += c[n] }
            n -= 1
        }
        return Legendre.value(u, d) * 2.0 / (domainMax - domainMin)
    }

    /// Trace set of v(y) instead of y(v) (specter TraceSet.invert): the domain is [min, max] of all traces at the
    /// ends of this domain, each trace is a Legendre fit of degree `degree` (default ncoef + 2) to 1000
    /// samples evenly spaced in v. This is what specter and desispec use for wavelength(y); it inverts to
    /// a few 1e-4 A on DESI PSFs (`exactInverse` refines it).
    public func inverted(degree: Int? = nil) -> TraceSet {
        let deg = degree ?? (ncoef + 2)
        var ymin = Double.infinity, ymax = -Double.infinity
        for i in 0..<ntrace {
            for v in [domainMin, domainMax] { let y = eval(i, v); ymin = min(ymin, y); ymax = max(ymax, y) }
        }
        let nsample = 1000
        let v = (0..<nsample).map { domainMin + (domainMax - domainMin) * Double($0) / Double(nsample - 1) }
        let lo = ymin, hi = ymax, me = self
        let rows = parallelMap(ntrace) { i -> [Double] in
            let yy = me.eval(i, at: v).map { Legendre.reduced($0, min: lo, max: hi) }
            return (try? Legendre.fit(x: yy, y: v, degree: deg)) ?? [Double](repeating: .nan, count: deg + 1)
        }
        let out = rows.flatMap { $0 }
        return TraceSet(coefficients: out, ntrace: ntrace, ncoef: deg + 1, domainMin: ymin, domainMax: ymax)
    }

    /// Solves eval(i, v) = target for v by Newton iterations from `start`.
    public func solve(_ i: Int, target: Double, start: Double) -> Double {
        var v = start
        for _ in 0..<20 {
            let f = eval(i, v) - target
            let d = derivative(i, v)
            guard d != 0, d.isFinite else { break }
            let step = f / d
            v -= step
            if abs(step) < 1e-12 * max(1, abs(v)) { break }
        }
        return v
    }

    /// Refits every trace after adding `delta(trace, v, value)` to its values, sampling `nsample` points
    /// evenly over the domain, with the same number of coefficients (desispec recompute_legendre_coefficients).
    public func refitted(nsample: Int = 100, _ delta: (Int, Double, Double) -> Double) throws -> TraceSet {
        let v = (0..<nsample).map { domainMin + (domainMax - domainMin) * Double($0) / Double(nsample - 1) }
        let u = v.map(reduced)
        var out = coefficients
        for i in 0..<ntrace {
            let vals = v.map { w -> Double in let t = eval(i, w); return t + delta(i, w, t) }
            let c = try Legendre.fit(x: u, y: vals, degree: ncoef - 1)
            for k in 0..<ncoef { out[i * ncoef + k] = c[k] }
        }
        return TraceSet(coefficients: out, ntrace: ntrace, ncoef: ncoef, domainMin: domainMin, domainMax: domainMax)
    }

    /// Adds constant offsets to every trace (the 0th Legendre coefficient).
    public func shifted(by offset: Double) -> TraceSet {
        var t = self
        for i in 0..<ntrace { t.coefficients[i * ncoef] += offset }
        return t
    }

    /// Traces `range` only.
    public func subset(_ range: Range<Int>) -> TraceSet {
        TraceSet(coefficients: Array(coefficients[(range.lowerBound * ncoef)..<(range.upperBound * ncoef)]),
                 ntrace: range.count, ncoef: ncoef, domainMin: domainMin, domainMax: domainMax)
    }

    /// Legendre fit of values sampled at v for each trace (specter.util.traceset.fit_traces).
    public static func fit(v: [Double], values: [[Double]], degree: Int, domain: (Double, Double)? = nil) throws -> TraceSet {
        let (lo, hi) = domain ?? (v.first!, v.last!)
        let u = v.map { Legendre.reduced($0, min: lo, max: hi) }
        var out = [Double]()
        for row in values { out += try Legendre.fit(x: u, y: row, degree: degree) }
        return TraceSet(coefficients: out, ntrace: values.count, ncoef: degree + 1, domainMin: lo, domainMax: hi)
    }
}
