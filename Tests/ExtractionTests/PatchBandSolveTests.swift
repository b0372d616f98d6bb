import DESICore
import Foundation
import LinearAlgebra
import PSF
import XCTest

@testable import Extraction

/// The patch solve (band Cholesky of A^T W A and selected inversion, issue 16) against the dense linear algebra
/// it replaced, written out here the way specter's ex2d_patch does it: dense inverse covariance, its inverse,
/// each core fiber's covariance block to the power -1/2 by an eigen-decomposition, rows normalised. Both are
/// exact algebra in different floating-point orders; the differences grow with the conditioning of the patch (up to
/// ~4e-10 in R and ~2e-9 relative in flux and ivar at the last core fiber's patch-edge wavelengths, printed), so the
/// tolerance is 1e-8: a wrong element, block or index differs by orders of magnitude more.
final class PatchBandSolveTests: XCTestCase {
    func testBandSolveMatchesTheDenseSolveOnTheRealPSF() throws {
        let options = ExtractionOptions()
        let (geometry, patch) = try realR0Patch(options: options)
        var maxR = 0.0, maxFlux = 0.0, maxIvar = 0.0
        for masked in [false, true] {
            let a = ProjectionMatrix(patch: patch, cache: SpotCache(geometry: geometry))
            let n = a.ncol, nwave = patch.nwave
            // pixels: smooth spectra through A, plus a deterministic ripple as noise; weights 1 / variance
            let truth = (0..<n).map { 200 * (1.2 + sin(Double($0) / 9)) }
            let model = a.apply(truth)
            var pixels = [Double](repeating: 0, count: a.npix), weights = pixels
            for p in 0..<a.npix {
                let variance = 9 + model[p]
                pixels[p] = model[p] + variance.squareRoot() * sin(Double(p) * 12.9898)
                weights[p] = 1 / variance
                if masked && p % patch.nx == patch.nx / 2 { weights[p] = 0 }   // one masked column across the fibers
            }
            let result = try solvePatch(patch: patch, projection: a, pixels: pixels, weights: weights, options: options)

            // the dense reference
            var icov = Matrix(rows: n, cols: n)
            var rhs = [Double](repeating: 0, count: n), fluxWeight = rhs
            for p in 0..<a.npix where weights[p] != 0 {
                for e in a.pixStart[p]..<a.pixStart[p + 1] {
                    let i = Int(a.pixCol[e])
                    rhs[i] += weights[p] * a.pixValue[e] * pixels[p]
                    fluxWeight[i] += weights[p] * a.pixValue[e]
                    for f in a.pixStart[p]..<a.pixStart[p + 1] { icov[i, Int(a.pixCol[f])] += weights[p] * a.pixValue[e] * a.pixValue[f] }
                }
            }
            let minWeight = 1e-4 * fluxWeight.max()!
            for c in 0..<n where fluxWeight[c] < minWeight { icov[c, c] += (minWeight - fluxWeight[c]) * (minWeight - fluxWeight[c]) }
            let xflux = try choleskySolve(icov, rhs)
            let cov = try choleskyInverse(icov)
            for (k, s) in (1..<6).enumerated() {
                let q = try symmetricInverseSquareRoot(cov.block((s * nwave)..<((s + 1) * nwave)))
                let norm = q.rowSums
                let block = result.resolutionBlocks[k]
                for i in 0..<nwave {
                    var flux = 0.0
                    for j in 0..<nwave {
                        let r = q[i, j] / norm[i]
                        flux += r * xflux[s * nwave + j]
                        maxR = max(maxR, abs(block[i, j] - r))
                        XCTAssertEqual(block[i, j], r, accuracy: 1e-8, "masked \(masked) fiber \(s) R[\(i), \(j)]")
                    }
                    let c = s * nwave + i
                    let sigma = 1 / norm[i]
                    maxFlux = max(maxFlux, abs(result.flux[c] - flux) / max(abs(flux), sigma))
                    maxIvar = max(maxIvar, abs(result.ivar[c] / (norm[i] * norm[i]) - 1))
                    XCTAssertEqual(result.flux[c], flux, accuracy: 1e-8 * max(abs(flux), sigma), "masked \(masked) flux[\(c)]")
                    XCTAssertEqual(result.ivar[c], norm[i] * norm[i], accuracy: 1e-8 * norm[i] * norm[i], "ivar[\(c)]")
                    XCTAssertEqual(result.xflux[c], xflux[c], accuracy: 1e-8 * max(abs(xflux[c]), 1), "xflux[\(c)]")
                }
            }
        }
        print("band vs dense solve: max |R diff| \(maxR), max flux diff / max(|flux|, sigma) \(maxFlux), max ivar rel diff \(maxIvar)")
    }
}
