import DESICore
import Foundation
import LinearAlgebra
import XCTest

@testable import Preproc

/// `--scattered-light` (desispec.scatteredlight.model_scattered_light) on a simulated frame: 75 fibers in 3 blocks
/// of 25 on an 800 x 720 CCD, tilted traces with a pixel-integrated Gaussian profile (10000 to 30000 e per row and
/// fiber, a flat-field level, at which the gaps' 100-row medians measure the scattered light to a fraction of a
/// percent), plus an injected scattered light component: the b0 kernel convolved with the traces' light, times a
/// smooth scale (3% to 6% across the CCD). desispec's method calibrates its model on the gaps between the blocks;
/// the injected light is recovered between the outermost gaps. Compared with desispec's function on full-size
/// frames by scripts/compare_preproc.py --scattered-light.
final class ScatteredLightTests: XCTestCase {
    struct Frame {
        var direct: [Double]
        var scattered: [Double]
        var traces: FiberTraceGeometry
        let ny = 800, nx = 720
    }

    func makeFrame() throws -> Frame {
        let ny = 800, nx = 720, nspec = 75
        var xs = [Double](repeating: 0, count: nspec * ny), ws = xs
        for f in 0..<nspec {
            let block = f / 25
            for y in 0..<ny {
                // 7.3 pixels between fibers, 20 between blocks, a tilt of 4 pixels over the CCD
                xs[f * ny + y] = 110 + Double(block) * (24 * 7.3 + 20) + Double(f % 25) * 7.3 + 4 * Double(y) / Double(ny)
                ws[f * ny + y] = 3600 + 2 * Double(y)
            }
        }
        let g = FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: [Double](repeating: 1, count: nspec * ny))
        var direct = [Double](repeating: 0, count: ny * nx)
        for f in 0..<nspec {
            for y in 0..<ny {
                let flux = 20000 * (0.5 + Double(f % 9) / 8) * (1 + 0.3 * sin(Double(y) / 90 + Double(f)))
                let xc = xs[f * ny + y]
                for i in max(0, Int(xc) - 6)...min(nx - 1, Int(xc) + 6) {
                    let a = (Double(i) + 0.5 - xc) / 2.0.squareRoot(), b = (Double(i) - 0.5 - xc) / 2.0.squareRoot()
                    direct[y * nx + i] += flux * 0.5 * (erf(a) - erf(b))
                }
            }
        }
        let scattered = try TraceFrame.scatteredLight(camera: "b0", ny: ny, nx: nx)(direct)
        return Frame(direct: direct, scattered: scattered, traces: g)
    }

    /// |model - injected| between the outermost gaps, rows 100 ..< 700, relative to the injected light there, on the
    /// frame with noise (Gaussian of variance counts + 9 e^2).
    func testRecoversInjectedScatteredLight() throws {
        let fr = try makeFrame()
        let ny = fr.ny, nx = fr.nx
        var rng = SplitMix64(seed: 5)
        let pix = (0..<(ny * nx)).map { i -> Float in
            let m = fr.direct[i] + fr.scattered[i]
            return Float(m + (m + 9).squareRoot() * rng.gaussian())
        }
        let ivar = pix.map { 1 / (max($0, 0) + 9) }, mask = [UInt32](repeating: 0, count: ny * nx)
        let g = fr.traces
        let model = try ScatteredLight.model(pix: pix, ivar: ivar, mask: mask, ny: ny, nx: nx, traces: g, camera: "b0")
        var s2 = 0.0, t2 = 0.0, sum = 0.0, worst = 0.0, n = 0
        for y in 100..<700 {
            let xLo = Int((g.x[y] - 7.5).rounded(.up)), xHi = Int(g.x[(g.nspec - 1) * ny + y] + 7.5)
            for x in xLo...xHi {
                let i = y * nx + x, e = model[i] - fr.scattered[i]
                s2 += e * e; t2 += fr.scattered[i] * fr.scattered[i]; sum += e / fr.scattered[i]
                worst = max(worst, abs(e) / fr.scattered[i]); n += 1
            }
        }
        let rel = (s2 / t2).squareRoot()
        print(String(format: "scattered light: |model - injected| / injected rms %.4f, mean %+.4f, largest %.4f, over %d pixels "
                     + "(injected %.1f to %.1f e)", rel, sum / Double(n), worst, n, fr.scattered.min()!, fr.scattered.max()!))
        XCTAssertLessThan(rel, 0.01)
        XCTAssertLessThan(worst, 0.05)
    }

    func testUnknownCameraIsAnError() {
        XCTAssertThrowsError(try ScatteredLight.kernel(camera: "x3"))
    }
}
