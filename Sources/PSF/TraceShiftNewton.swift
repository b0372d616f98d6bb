import Foundation
import LinearAlgebra

// Newton inversion of a trace polynomial (y -> wavelength) for four rows at once: TraceCurve.solve's iterations
// lane by lane. The iterations of one row are a chain of dependent divisions (two per Legendre term, and the step);
// four independent rows in the lanes of SIMD4 run four chains in the time of one. Every lane gets the same IEEE
// operations in the same order as the scalar form (elementwise SIMD arithmetic rounds as scalar), and stops at the
// same iteration, so the results are the same to the last bit (TraceShiftNewtonTests).

extension TraceCurve {
    /// eval(v) of every value, four at a time (lane by lane the same operations as eval).
    func evalAll(_ values: [Double]) -> [Double] {
        coefficients.withUnsafeBufferPointer { c in values.withUnsafeBufferPointer { v in
            Legendre.values(at: v, c, min: domainMin, max: domainMax)
        } }
    }

    /// solve(target:start:) of four rows: lane q is solve(target: target[q], start: start[q]).
    func solve4(target: SIMD4<Double>, start: SIMD4<Double>) -> SIMD4<Double> {
        var v = start
        guard let dc = derivativeCoefficients else { return v }   // derivative 0: the scalar form stops at once
        let one = SIMD4<Double>(repeating: 1), range = SIMD4<Double>(repeating: domainMax - domainMin)
        let inf = SIMD4<Double>(repeating: .infinity), tol = SIMD4<Double>(repeating: 1e-12)
        var active = SIMDMask<SIMD4<Int64>>(repeating: true)
        coefficients.withUnsafeBufferPointer { c in dc.withUnsafeBufferPointer { d in
            for _ in 0..<20 {
                let u = Legendre.reduced(v, min: domainMin, max: domainMax)
                let f = Legendre.value(u, c) - target
                let dv = Legendre.value(u, d) * 2.0 / range                   // derivative(v)
                // guard d != 0, d.isFinite else { break }
                active .&= (dv .!= SIMD4(repeating: 0)) .& (dv .< inf) .& (dv .> -inf)
                let step = f / dv
                v = v.replacing(with: v - step, where: active)
                // if abs(step) < 1e-12 * max(1, abs(v)) { break }   (Swift.max(1, a) is a >= 1 ? a : 1)
                // (|v| only matters where it is >= 1; bound > 0, so |step| < bound is step < bound and -step < bound)
                let av = v.replacing(with: -v, where: v .< 0)
                let bound = tol * one.replacing(with: av, where: av .>= one)
                active .&= .!((step .< bound) .& (-step .< bound))
                if !any(active) { break }
            }
        } }
        return v
    }
}
