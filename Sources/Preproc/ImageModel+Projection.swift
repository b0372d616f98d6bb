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
        /// The seven weights are computed together in vector lanes (`vectorExp`, within 1 ulp of `exp`: a call to
        /// the C library per weight took 4 % of a `--model-variance` preprocessing, the lanes take a third of that),
        /// their sum in column order.
        func project(row r: Int, into out: UnsafeMutableBufferPointer<Double>) {
            let ny = self.ny, nx = self.nx
            out.update(repeating: 0)
            let columnSteps = SIMD8<Double>(0, 1, 2, 3, 4, 5, 6, 7)
            for f in 0..<nspec {
                let k = f * ny + r
                let x = self.x[k], sigma = 1.1 * (xsig?[k] ?? 1)
                let lo = max(0, Int(x - 3)), hi = min(nx, Int(x + 3 + 1))
                guard hi > lo, hi - lo <= 7 else { continue }
                // d = i - x for the columns i = lo, lo + 1, ... (lanes past hi unused)
                let d = SIMD8(repeating: Double(lo)) + columnSteps - SIMD8(repeating: x)
                let exponent = -d * d / 2 / SIMD8(repeating: sigma * sigma)
                let prof = SIMD8(lowHalf: exponent.lowHalf.vectorExp(), highHalf: exponent.highHalf.vectorExp())
                let width = hi - lo
                var sum = 0.0
                if width == 7 {
                    // unrolled (a loop over the lanes stored the vector to memory at every step)
                    sum += prof[0]; sum += prof[1]; sum += prof[2]; sum += prof[3]; sum += prof[4]; sum += prof[5]
                    sum += prof[6]
                } else {
                    for j in 0..<width { sum += prof[j] }
                }
                guard sum > 0 else { continue }
                // out[i] += counts x weight / sum: the divisions in one vector
                let add = SIMD8(repeating: counts[k]) * prof / SIMD8(repeating: sum)
                if width == 7 {
                    let o = out.baseAddress! + lo
                    o[0] += add[0]; o[1] += add[1]; o[2] += add[2]; o[3] += add[3]; o[4] += add[4]; o[5] += add[5]
                    o[6] += add[6]
                } else {
                    for j in 0..<width { out[lo + j] += add[j] }
                }
            }
        }
    }
}
