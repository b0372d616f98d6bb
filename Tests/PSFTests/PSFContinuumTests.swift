import DESICore
import FITS
import Foundation
import LinearAlgebra
import XCTest

@testable import PSF

/// The arc continuum CONT (specex --fit-continuum, ArcContinuum): on a specter-drawn arc with a continuum (independent
/// truth: Tests/Fixtures/PSFCont, made by scripts/make_psfcont_fixture.py), and on images of the model itself.
final class PSFContinuumTests: XCTestCase {
    static var fixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/PSFCont").standardized.path
    }

    /// The model's own image, noise added, fitted back: each bundle's polynomial within its statistical error, and the
    /// image of the fitted PSF equal to the input's continuum (the plumbing: bundles, domains, CONT in the table).
    func testFitRecoversTheModelsOwnContinuum() throws {
        var psf = try GaussHermitePSF.analytic(nspec: 12, wavemin: 5600, wavemax: 6600, npixX: 130, npixY: 2000, bundleSize: 6)
        let k = try XCTUnwrap(psf.paramIndex["CONT"])
        let nc = psf.parameters[k].traces.ncoef
        let truth: [[Double]] = [[30, -6, 3], [12, 4, -2]]          // bundle 0, bundle 1 (e per row, Legendre)
        for f in 0..<12 {
            for q in 0..<nc { psf.parameters[k].traces.coefficients[f * nc + q] = q < 3 ? truth[f / 6][q] : 0 }
        }
        let model = try XCTUnwrap(ArcContinuum.image(of: psf, threads: 2))
        var rng = TestRandom(seed: 3)
        let n = model.count
        var pix = [Float](repeating: 0, count: n), ivar = pix
        for i in 0..<n {
            pix[i] = Float(model[i] + (9 + model[i]).squareRoot() * rng.gaussian())
            ivar[i] = Float(1 / (9 + max(model[i], 0)))
        }
        let image = Image(ny: 2000, nx: 130, pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: n),
                          readnoise: [Float](repeating: 3, count: n))
        var start = psf
        start.parameters[k].traces.coefficients = start.parameters[k].traces.coefficients.map { _ in 0 }
        let lines = [5800.0, 6100.0, 6400.0].map { ArcLine(wavelength: $0, intensity: 1000) }
        let r = try ArcContinuum.fit(image: image, psf: start, lines: lines, bundleSize: 6, threads: 2)
        XCTAssertEqual(r.bundles.count, 2)
        for b in 0..<2 {
            print("bundle \(b): fitted \(r.bundles[b].coefficients), true \(truth[b]), rchi2 \(r.bundles[b].rchi2)")
            // About 0.07 sqrt(2q + 1) e/row statistical errors (6 fibers x 1900 rows, read noise 3 e): 4 sigmas.
            for q in 0..<3 { XCTAssertEqual(r.bundles[b].coefficients[q], truth[b][q], accuracy: 0.3 * Double(2 * q + 1).squareRoot()) }
            XCTAssertEqual(r.bundles[b].rchi2, 1, accuracy: 0.05)
        }
        let fitted = try XCTUnwrap(ArcContinuum.image(of: r.psf, threads: 1))
        let peak = model.max()!
        XCTAssertLessThan(zip(fitted, model).map { abs($0 - $1) }.max()!, 0.03 * peak)
        XCTAssertEqual(r.psf.parameters[k].legDegW, 2)
    }

    /// The fit of a specter arc with a continuum (real PSF psf-r0-00051060, fibers 0-24, CAMERA z0 so that the fit
    /// is on by default), from the Gaussian-only start: the fitted CONT against the drawn continuum f(w) |dw/dy|
    /// (electrons per row) over the lines' range, and what fitting it gains against the same fit without it.
    func testContinuumOfASpecterArc() throws {
        let dir = Self.fixtures
        guard FileManager.default.fileExists(atPath: dir + "/arc.fits") else {
            throw XCTSkip("Tests/Fixtures/PSFCont not made (scripts/make_psfcont_fixture.py)")
        }
        let truth = try GaussHermitePSF.read(dir + "/psf-truth.fits")
        let image = try Image.read(dir + "/arc.fits")
        let lines = try ArcLamps.read(dir + "/lines.txt")
        XCTAssertTrue(ArcContinuum.fittedByDefault(camera: image.camera))
        let h = image.header
        let c = [h.double("CONTL0")!, h.double("CONTL1")!, h.double("CONTL2")!]
        let wmin = h.double("CONTWMIN")!, wmax = h.double("CONTWMAX")!
        let start = PSFFullFitTests.gaussianOnly(truth)
        let bright = lines.filter { $0.intensity > 500 && $0.wavelength > truth.wavemin && $0.wavelength < truth.wavemax }
        let w0 = bright.map(\.wavelength).min()!, w1 = bright.map(\.wavelength).max()!
        var o = PSFFitOptions()
        o.ncpu = 2
        let with = try fitPSF(image: image, psf: start, lines: lines, options: o) { print("with continuum: \($0)") }
        o.fitContinuum = false
        let without = try fitPSF(image: image, psf: start, lines: lines, options: o) { print("without continuum: \($0)") }
        // Fitted CONT against the truth at 21 wavelengths of every fiber.
        var worst = 0.0
        let k = try XCTUnwrap(with.psf.paramIndex["CONT"])
        for f in 0..<truth.nspec {
            for j in 0...20 {
                let w = w0 + (w1 - w0) * Double(j) / 20
                let perAngstrom = Legendre.value(Legendre.reduced(w, min: wmin, max: wmax), c)
                let dwdy = 1 / abs(truth.yTrace.derivative(f, w))
                let expected = perAngstrom * dwdy
                let got = with.psf.parameters[k].traces.eval(f, w)
                worst = max(worst, abs(got / expected - 1))
            }
        }
        let trWith = PSFFullFitTests.traceRMS(with.psf, truth, w0, w1), trWithout = PSFFullFitTests.traceRMS(without.psf, truth, w0, w1)
        let shWith = try PSFFullFitTests.spotShapeRMS(with.psf, truth, w0, w1)
        let shWithout = try PSFFullFitTests.spotShapeRMS(without.psf, truth, w0, w1)
        let rcWith = with.shapeBundles[0].rchi2, rcWithout = without.shapeBundles[0].rchi2
        print(String(format: "continuum: largest relative error of CONT %.3f; trace rms x/y %.4f/%.4f px (without %.4f/%.4f); "
                     + "spot shape %.3f %% (without %.3f %%); rchi2 %.3f (without %.3f)", worst, trWith.x, trWith.y,
                     trWithout.x, trWithout.y, 100 * shWith, 100 * shWithout, rcWith, rcWithout))
        XCTAssertEqual(with.continuumBundles.count, 1)
        XCTAssertTrue(without.continuumBundles.isEmpty)
        XCTAssertLessThan(worst, 0.1)
        XCTAssertLessThan(trWith.x, 0.03); XCTAssertLessThan(trWith.y, 0.03)
        XCTAssertLessThan(shWith, 0.01)
        XCTAssertLessThan(rcWith, rcWithout)
        XCTAssertLessThan(shWith, shWithout)
    }
}
