import Foundation
import LinearAlgebra

extension ImageModel {
    /// desispec.image_model.numba_proj, the model counts of every fiber spread over the CCD row by row.
    struct TraceCounts: Sendable {
        /// [nspec * ny] counts per (fiber, row).
        let counts: [Double]
        /// What the projection reads of the traces: x and sigma per (fiber, row), [nspec * ny] (no wavelengths: the
        /// geometry's wavelength table, 16.5 MB for a full-size camera, need not outlive the model).
        let nspec: Int, ny: Int
        let x: [Double], xsig: [Double]?
        let nx: Int

        init(counts: [Double], traces g: FiberTraceGeometry, nx: Int) {
            self.counts = counts; nspec = g.nspec; ny = g.ny; x = g.x; xsig = g.xsig; self.nx = nx
        }

        /// Row r of the model image (`out`: nx values, overwritten): fibers in order (so the sums do not depend on
        /// the thread count), each fiber's counts spread over columns int(x - 3) ..< int(x + 4) with weights
        /// exp(-(i - x)^2 / 2 sigma^2) normalised on those columns, sigma = 1.1 x the traces' sigma (1 pixel without).
        /// Four fibers at a time in vector lanes where all four have seven columns on the CCD and moderate exponents
        /// (`recurrenceWeights`), one fiber at a time otherwise (`addFiber`).
        func project(row r: Int, into out: UnsafeMutableBufferPointer<Double>) {
            out.update(repeating: 0)
            var f = 0
            while f + 4 <= nspec {
                if !addFourFibers(f, row: r, into: out.baseAddress!) {
                    for g in f..<(f + 4) { addFiber(g, row: r, into: out) }
                }
                f += 4
            }
            while f < nspec { addFiber(f, row: r, into: out); f += 1 }
        }

        /// The projection's sigma at (fiber, row) index k: 1.1 x the traces' (1 pixel without).
        @inline(__always)
        private func sigma(_ k: Int) -> Double { 1.1 * (xsig?[k] ?? 1) }

        /// Fibers f ..< f + 4 added in order, their weights in the lanes of vectors; false (nothing added) unless each
        /// has seven columns and moderate exponents (`recurrenceApplies`).
        @inline(__always)
        private func addFourFibers(_ f: Int, row r: Int, into out: UnsafeMutablePointer<Double>) -> Bool {
            let k = f * ny + r
            let x = SIMD4(self.x[k], self.x[k + ny], self.x[k + 2 * ny], self.x[k + 3 * ny])
            let s = SIMD4(sigma(k), sigma(k + ny), sigma(k + 2 * ny), sigma(k + 3 * ny))
            let lo = SIMD4<Int>(Int(x[0] - 3), Int(x[1] - 3), Int(x[2] - 3), Int(x[3] - 3))
            let hi = SIMD4<Int>(Int(x[0] + 3 + 1), Int(x[1] + 3 + 1), Int(x[2] + 3 + 1), Int(x[3] + 3 + 1))
            guard lo.min() >= 0, hi.max() <= nx, hi &- lo == SIMD4(repeating: 7) else { return false }
            let d0 = SIMD4(Double(lo[0]), Double(lo[1]), Double(lo[2]), Double(lo[3])) - x
            let a = 1 / (2 * s * s)
            guard all(Self.recurrenceApplies(d0: d0, a: a)) else { return false }
            let (p, added) = Self.recurrenceAdditions(d0: d0, a: a,
                                                      counts: SIMD4(counts[k], counts[k + ny], counts[k + 2 * ny], counts[k + 3 * ny]))
            for q in 0..<4 where added[q] {
                let o = out + lo[q]
                o[0] += p.0[q]; o[1] += p.1[q]; o[2] += p.2[q]; o[3] += p.3[q]; o[4] += p.4[q]; o[5] += p.5[q]
                o[6] += p.6[q]
            }
            return true
        }

        /// One fiber: by the recurrence where it applies (lane 0 of `recurrenceWeights`, the same operations as in
        /// `addFourFibers`), else each weight's exponential (`vectorExp`, within 1 ulp of `exp`), eight in two
        /// vectors; the weights' sum in column order.
        func addFiber(_ f: Int, row r: Int, into out: UnsafeMutableBufferPointer<Double>) {
            let k = f * ny + r
            let x = self.x[k], sigma = sigma(k)
            let lo = max(0, Int(x - 3)), hi = min(nx, Int(x + 3 + 1))
            guard hi > lo, hi - lo <= 7 else { return }
            let width = hi - lo, o = out.baseAddress! + lo
            let d0 = SIMD4(repeating: Double(lo) - x), a = 1 / (2 * SIMD4(repeating: sigma) * sigma)
            if width == 7, Self.recurrenceApplies(d0: d0, a: a)[0] {
                let (p, added) = Self.recurrenceAdditions(d0: d0, a: a, counts: SIMD4(repeating: counts[k]))
                guard added[0] else { return }
                o[0] += p.0[0]; o[1] += p.1[0]; o[2] += p.2[0]; o[3] += p.3[0]; o[4] += p.4[0]; o[5] += p.5[0]; o[6] += p.6[0]
                return
            }
            // d = i - x for the columns i = lo, lo + 1, ... (lanes past hi unused)
            let d = SIMD8(repeating: Double(lo)) + SIMD8<Double>(0, 1, 2, 3, 4, 5, 6, 7) - SIMD8(repeating: x)
            let exponent = -d * d / 2 / SIMD8(repeating: sigma * sigma)
            let prof = SIMD8(lowHalf: exponent.lowHalf.vectorExp(), highHalf: exponent.highHalf.vectorExp())
            var sum = 0.0
            for j in 0..<width { sum += prof[j] }
            guard sum > 0 else { return }
            let add = SIMD8(repeating: counts[k]) * prof / SIMD8(repeating: sum)
            for j in 0..<width { o[j] += add[j] }
        }

        /// Whether the recurrence keeps its products in the normal range: every exponent -(d0 + j)^2 a, j < 7,
        /// above -300 (false for a NaN or non-positive a).
        @inline(__always)
        static func recurrenceApplies(d0: SIMD4<Double>, a: SIMD4<Double>) -> SIMDMask<SIMD4<Int64>> {
            let first = d0 * d0, last = (d0 + 6) * (d0 + 6)
            return (a .> 0) .& (first.replacing(with: last, where: last .> first) * a .< 300)
        }

        /// What each lane adds to its seven columns: counts x w(j) / (the seven weights' sum, in column order), the
        /// weights by `recurrenceWeights`; `added` false where that sum is not positive (the lane adds nothing).
        @inline(__always)
        static func recurrenceAdditions(d0: SIMD4<Double>, a: SIMD4<Double>, counts: SIMD4<Double>)
            -> (columns: (SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>,
                          SIMD4<Double>), added: SIMDMask<SIMD4<Int64>>) {
            let w = recurrenceWeights(d0: d0, a: a)
            var sum = w.0; sum += w.1; sum += w.2; sum += w.3; sum += w.4; sum += w.5; sum += w.6
            let c = counts / sum
            return ((w.0 * c, w.1 * c, w.2 * c, w.3 * c, w.4 * c, w.5 * c, w.6 * c), sum .> 0)
        }

        /// The seven weights w(j) = exp(-(d0 + j)^2 a) of each lane (a = 1 / (2 sigma^2)), by the recurrence
        /// w(j + 1) = w(j) s(j), s(j + 1) = s(j) q, with s(0) = exp(-(2 d0 + 1) a) and q = exp(-2 a): three
        /// exponentials instead of seven, each weight within ~1e-15 of its own exponential (its last bits may differ;
        /// the model's float32 variance does not move on the bench frame).
        @inline(__always)
        static func recurrenceWeights(d0: SIMD4<Double>, a: SIMD4<Double>) -> (SIMD4<Double>, SIMD4<Double>, SIMD4<Double>,
            SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>) {
            let w0 = (-d0 * d0 * a).vectorExp(), s0 = (-(2 * d0 + 1) * a).vectorExp(), q = (-2 * a).vectorExp()
            let w1 = w0 * s0, s1 = s0 * q
            let w2 = w1 * s1, s2 = s1 * q
            let w3 = w2 * s2, s3 = s2 * q
            let w4 = w3 * s3, s4 = s3 * q
            let w5 = w4 * s4, s5 = s4 * q
            return (w0, w1, w2, w3, w4, w5, w5 * s5)
        }
    }
}
