import DESICore
import XCTest

@testable import Extraction

final class BoxcarTests: XCTestCase {
    func testBoxcarFluxMatchesTruthOnContinuum() throws {
        let grid = WaveGrid(wave0: 5000, dw: 0.8, count: 150)
        let scene = SimulatedScene(nspec: 4, bundleSize: 4, npixY: 260, grid: grid, noise: false)
        let r = try boxcarExtract(image: scene.image, psf: scene.psf, fibers: 0..<4, grid: grid)
        // Far from the emission lines, the flux density is the true flux per bin / dw, less the part of the
        // Gaussian (sigma_x = 1.1 px) outside the 7-pixel box (about 0.15 %, x-dependent).
        var worst = 0.0, n = 0
        for f in 0..<4 {
            for k in 0..<grid.count {
                let w = grid.wavelength(k)
                if abs(w - 5020 - 3 * Double(f)) < 6 || abs(w - 5060.5) < 6 || abs(w - 5101.3 + Double(f)) < 6 { continue }
                let expected = scene.trueFlux(fiber: f, k: k) / grid.dw
                worst = max(worst, abs(r.flux[f * grid.count + k] / expected - 1)); n += 1
            }
        }
        print("boxcar: worst relative deviation on continuum \(worst) over \(n) bins")
        XCTAssertGreaterThan(n, 300)
        XCTAssertLessThan(worst, 0.015)
        // Line flux is conserved: sum over a line window of (flux - continuum) * dw equals the true line flux.
        let f = 0, lw = 5020.0
        var got = 0.0, want = 0.0
        for k in 0..<grid.count where abs(grid.wavelength(k) - lw) < 5 {
            got += r.flux[f * grid.count + k] * grid.dw
            want += scene.trueFlux(fiber: f, k: k)
        }
        XCTAssertEqual(got / want, 1, accuracy: 0.01)
        // resolution rows sum to 1
        let res = r.resolution
        var s = 0.0
        for j in 70...80 { s += Double(res.element(spec: 1, row: 75, column: j)) }
        XCTAssertEqual(s, 1, accuracy: 1e-5)
    }

    func testMaskedPixelZeroesTheRow() {
        let grid = WaveGrid(wave0: 5000, dw: 0.8, count: 150)
        let scene = SimulatedScene(nspec: 2, bundleSize: 2, npixY: 260, grid: grid, noise: false)
        var img = scene.image
        let x = Int(scene.psf.x(fiber: 0, wavelength: scene.psf.wavelength(fiber: 0, y: 100)))
        img.mask[100 * img.nx + x] = CCDMask.cosmic
        let rows = boxcarRows(image: img, psf: scene.psf, fiber: 0)
        XCTAssertEqual(rows.ivar[100], 0)
        XCTAssertEqual(rows.flux[100], 0)
        XCTAssertGreaterThan(rows.ivar[99], 0)
    }
}
