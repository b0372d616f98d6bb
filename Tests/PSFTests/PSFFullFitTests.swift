import DESICore
import Foundation
import LinearAlgebra
import XCTest

@testable import PSF

/// The full Gauss-Hermite fit on an arc drawn by DESI's specter (independent of this project's PSF code) from a real
/// specex PSF, fibers 0-49 of psf-r0-00051060 (Tests/Fixtures/PSFFit, made by scripts/make_psffit_fixture.py),
/// started from the Gaussian-only version of that PSF (GH-i-j but GH-0-0 and TAILAMP zero).
final class PSFFullFitTests: XCTestCase {
    static var fixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/PSFFit").standardized.path
    }

    /// `psf` with its core Gaussian only: every GH-i-j but GH-0-0, and TAILAMP, set to zero
    /// (specter_render.py perturb --gaussian-only).
    static func gaussianOnly(_ psf: GaussHermitePSF) -> GaussHermitePSF {
        var p = psf
        for (k, i) in psf.ghIndex.enumerated() where k > 0 {
            p.parameters[i].traces.coefficients = p.parameters[i].traces.coefficients.map { _ in 0 }
        }
        p.parameters[p.tailAmp].traces.coefficients = p.parameters[p.tailAmp].traces.coefficients.map { _ in 0 }
        return p
    }

    /// rms of x and y trace differences (pixels) over every fiber at 41 wavelengths in [w0, w1].
    static func traceRMS(_ p: GaussHermitePSF, _ t: GaussHermitePSF, _ w0: Double, _ w1: Double) -> (x: Double, y: Double) {
        var sx = 0.0, sy = 0.0, n = 0.0
        for f in 0..<t.nspec {
            for k in 0...40 {
                let w = w0 + (w1 - w0) * Double(k) / 40
                sx += pow(p.x(fiber: f, wavelength: w) - t.x(fiber: f, wavelength: w), 2)
                sy += pow(p.y(fiber: f, wavelength: w) - t.y(fiber: f, wavelength: w), 2)
                n += 1
            }
        }
        return ((sx / n).squareRoot(), (sy / n).squareRoot())
    }

    /// Median over fibers x wavelengths of the rms difference of the normalised spots, fitted vs true, both centred
    /// on the true position (the fitted PSF given the true traces), as a fraction of the true spot's peak.
    static func spotShapeRMS(_ p: GaussHermitePSF, _ t: GaussHermitePSF, _ w0: Double, _ w1: Double) throws -> Double {
        let placed = try p.withTraces(x: t.xTrace, y: t.yTrace)
        var values = [Double]()
        for f in stride(from: 0, to: t.nspec, by: 3) {
            for k in 0...12 {
                let w = w0 + (w1 - w0) * Double(k) / 12
                let a = placed.spot(fiber: f, wavelength: w), b = t.spot(fiber: f, wavelength: w)
                guard a.nx == b.nx, a.ny == b.ny, a.x0 == b.x0, a.y0 == b.y0, let peak = b.values.max(), peak > 0 else { continue }
                let ss = zip(a.values, b.values).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                values.append((ss / Double(b.values.count)).squareRoot() / peak)
            }
        }
        return values.sorted()[values.count / 2]
    }

    func testFullFitFromGaussianOnlyMatchesSpecterTruth() throws {
        let dir = Self.fixtures
        let truth = try GaussHermitePSF.read(dir + "/psf-truth.fits")
        let image = try Image.read(dir + "/arc.fits")
        let lines = try ArcLamps.read(dir + "/lines.txt")
        let start = Self.gaussianOnly(truth)
        // The wavelengths the arc's bright lines cover (the fixture keeps the pixels around lines above 500 e).
        let bright = lines.filter { $0.intensity > 500 && $0.wavelength > truth.wavemin && $0.wavelength < truth.wavemax }
        let w0 = bright.map(\.wavelength).min()!, w1 = bright.map(\.wavelength).max()!
        let startShape = try Self.spotShapeRMS(start, truth, w0, w1)
        var o = PSFFitOptions()
        o.ncpu = 2
        let r = try fitPSF(image: image, psf: start, lines: lines, options: o) { print("psf full fit: \($0)") }
        let tr = Self.traceRMS(r.psf, truth, w0, w1)
        let shape = try Self.spotShapeRMS(r.psf, truth, w0, w1)
        print(String(format: "full fit vs specter truth (%.0f-%.0f A): trace rms x %.4f y %.4f px; spot shape rms %.3f %% "
                     + "of the peak (Gaussian-only start %.3f %%); bundles rchi2 %@", w0, w1, tr.x, tr.y, 100 * shape,
                     100 * startShape, r.shapeBundles.map { String(format: "%.3f", $0.rchi2) }.joined(separator: " ")))
        XCTAssertGreaterThan(startShape, 0.012, "the Gaussian-only start should be visibly wrong")
        XCTAssertLessThan(tr.x, 0.03)
        XCTAssertLessThan(tr.y, 0.03)
        XCTAssertLessThan(shape, 0.01)
        XCTAssertEqual(r.shapeBundles.count, 2)
        for b in r.shapeBundles {
            XCTAssertEqual(b.nfibers, 25)
            XCTAssertGreaterThan(b.nspots, 25 * 20)
            XCTAssertLessThan(b.rchi2, 1.3, "bundle \(b.bundle)")
            XCTAssertGreaterThan(b.rchi2, 0.8, "bundle \(b.bundle)")
        }
        // GH-0-0 (the normalisation) and the tail shape parameters are the input's.
        for name in ["GH-0-0", "TAILCORE", "TAILINDE"] {
            let k = truth.paramIndex[name]!
            XCTAssertEqual(r.psf.parameters[k].traces.coefficients, start.parameters[k].traces.coefficients, name)
        }
    }

    /// --fit-tails: TAILAMP fitted (linear, with the GH terms) on an arc drawn by the project's own PSF with a strong
    /// tail, from a start without tail; the tail's shape parameters stay the input's.
    func testFitTailsRecoversTheTailAmplitude() throws {
        let truth = try GaussHermitePSF.analytic(nspec: 10, wavemin: 5650, wavemax: 7800, npixX: 120, npixY: 1024,
                                                 bundleSize: 10, tailAmplitude: 0.05)
        let lines = ArcLamps.builtin()
        let image = PSFFitTests.arcImage(truth: truth, lines: lines, scale: 20, seed: 5)
        var start = truth
        start.parameters[start.tailAmp].traces.coefficients = start.parameters[start.tailAmp].traces.coefficients.map { _ in 0 }
        var o = PSFShapeFitOptions()
        o.ncpu = 2; o.fitTails = true
        let r = try fitPSFShape(image: image, psf: start, lines: lines, options: o)
        let noTail = try fitPSFShape(image: image, psf: start, lines: lines, options: { var p = o; p.fitTails = false; return p }())
        let amp = r.psf.parameter("TAILAMP", fiber: 5, wavelength: 6700)!
        print(String(format: "TAILAMP fitted %.4f (truth 0.05); reduced chi2 with tail %.3f, without %.3f", amp,
                     r.bundles[0].rchi2, noTail.bundles[0].rchi2))
        XCTAssertEqual(amp, 0.05, accuracy: 0.005)
        XCTAssertLessThan(r.bundles[0].rchi2, noTail.bundles[0].rchi2)
        XCTAssertEqual(noTail.psf.parameter("TAILAMP", fiber: 5, wavelength: 6700), 0)
        XCTAssertEqual(r.psf.parameter("TAILCORE", fiber: 5, wavelength: 6700), truth.parameter("TAILCORE", fiber: 5, wavelength: 6700))
    }
}
