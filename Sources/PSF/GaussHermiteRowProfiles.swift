import DESICore
import Foundation
import LinearAlgebra

extension GaussHermitePSF {
    /// The cross-dispersion profiles of all fibers on rows 0 ..< ny, as desispec.correct_cte.get_rowbyrow_image_model
    /// builds them: the x traces shifted by the median offset measured on `image` when one is given (its
    /// compute_dx_from_cross_dispersion_profiles on the unshifted traces, added to the constant Legendre
    /// coefficient), then desispec.qproc.rowbyrowextract.onedprofile_gh without tails (its default): on row r the
    /// wavelength is specter's wavelength(fiber, y = r) (the inverted y trace), the centre xc = x(fiber, wavelength),
    /// the columns round(xc) - HSIZEX ... round(xc) + HSIZEX (numpy rounds half to even), and the profile
    /// sum_k GH-k-0 x pgh_k(column; xc, GHSIGX), k = 0 ... GHDEGX (the first core's x terms only), divided by the sum
    /// of its positive values.
    public func rowProfiles(ny: Int, shiftFrom image: Image? = nil) -> CrossDispersionProfiles {
        let dx = image.map { medianTraceXShift(image: $0, xTrace: xTrace, yTrace: yTrace) } ?? 0
        let xt = xTrace.shifted(by: dx)
        let width = 2 * halfSizeX + 1, deg = ghDegX, nspec = self.nspec
        let coefficients = (0...deg).map { parameters[ghIndex[$0 * (ghDegY + 1)]].traces }
        let sigma = parameters[sigX].traces, w = wTrace
        let perFiber = parallelMap(nspec) { f -> (first: [Int32], values: [Float], x: [Double], wave: [Double]) in
            var first = [Int32](repeating: 0, count: ny), values = [Float](repeating: 0, count: ny * width)
            var xs = [Double](repeating: 0, count: ny), waves = xs
            var basis = [Double](repeating: 0, count: (deg + 1) * width), prof = [Double](repeating: 0, count: width)
            for r in 0..<ny {
                let lam = w.eval(f, Double(r))
                let xc = xt.eval(f, lam)
                let x0 = Int(xc.rounded(.toNearestOrEven)) - halfSizeX
                basis.withUnsafeMutableBufferPointer {
                    Hermite.pixelIntegrated(first: x0, count: width, centre: xc, sigma: sigma.eval(f, lam), degree: deg, into: $0)
                }
                for j in 0..<width { prof[j] = 0 }
                for k in 0...deg {
                    let c = coefficients[k].eval(f, lam)
                    for j in 0..<width { prof[j] += c * basis[k * width + j] }
                }
                var norm = 0.0
                for j in 0..<width where prof[j] > 0 { norm += prof[j] }
                for j in 0..<width { values[r * width + j] = Float(prof[j] / norm) }
                first[r] = Int32(x0); xs[r] = xc; waves[r] = lam
            }
            return (first, values, xs, waves)
        }
        return CrossDispersionProfiles(nspec: nspec, ny: ny, width: width, first: perFiber.flatMap(\.first),
                                       values: perFiber.flatMap(\.values), x: perFiber.flatMap(\.x),
                                       wave: perFiber.flatMap(\.wave))
    }
}
