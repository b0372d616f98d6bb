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
        let lines = [5615.0, 6100.0, 6585.0].map { ArcLine(wavelength: $0, intensity: 1000) }
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

    /// The specter arc with a continuum (real PSF psf-r0-00051060, fibers 0-24, CAMERA z0: the fit is on by default).
    static func specterArc() throws -> (truth: GaussHermitePSF, image: Image, lines: [ArcLine], perAngstrom: (Double) -> Double) {
        let dir = fixtures
        let truth = try GaussHermitePSF.read(dir + "/psf-truth.fits")
        let image = try Image.read(dir + "/arc.fits")
        let lines = try ArcLamps.read(dir + "/lines.txt")
        let h = image.header
        let c = [h.double("CONTL0")!, h.double("CONTL1")!, h.double("CONTL2")!]
        let wmin = h.double("CONTWMIN")!, wmax = h.double("CONTWMAX")!
        return (truth, image, lines, { Legendre.value(Legendre.reduced($0, min: wmin, max: wmax), c) })
    }

    /// CONT fitted on the specter arc with the true traces against the drawn continuum f(w) |dw/dy| (electrons per
    /// row) at 21 wavelengths of every fiber over the lines' range. specex's profile across the trace (a Gaussian of
    /// sigma 1 at pixel centres) is narrower than the true one (GHSIGX 1.04, pixel-integrated): a least-squares
    /// amplitude about 4 % low is expected; a factor 2 is not.
    func testContinuumOfASpecterArc() throws {
        let (truth, image, lines, perAngstrom) = try Self.specterArc()
        XCTAssertTrue(ArcContinuum.fittedByDefault(camera: image.camera))
        XCTAssertFalse(ArcContinuum.isPresent(in: truth))
        let r = try ArcContinuum.fit(image: image, psf: truth, lines: lines, bundleSize: 25, threads: 2)
        let bright = lines.filter { $0.intensity > 500 && $0.wavelength > truth.wavemin && $0.wavelength < truth.wavemax }
        let w0 = bright.map(\.wavelength).min()!, w1 = bright.map(\.wavelength).max()!
        var ratios = [Double]()
        for f in 0..<truth.nspec {
            for j in 0...20 {
                let w = w0 + (w1 - w0) * Double(j) / 20
                let expected = perAngstrom(w) / abs(truth.yTrace.derivative(f, w))
                ratios.append(try XCTUnwrap(r.psf.parameter("CONT", fiber: f, wavelength: w)) / expected)
            }
        }
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        print(String(format: "CONT / truth on the specter arc: mean %.4f, range %.4f-%.4f; bundle rchi2 %.3f, %d pixels",
                     mean, ratios.min()!, ratios.max()!, r.bundles[0].rchi2, r.bundles[0].npix))
        XCTAssertEqual(r.bundles.count, 1)
        XCTAssertEqual(mean, 0.96, accuracy: 0.04)
        for q in ratios { XCTAssertEqual(q, 0.96, accuracy: 0.1) }
        XCTAssertEqual(r.bundles[0].rchi2, 1, accuracy: 0.1)
    }

    /// What the continuum does to the shape fit: the specter arc fitted from the Gaussian-only start (true traces and
    /// widths) with the continuum subtracted (as fitPSF does once CONT is fitted) and without: the spot shape and the
    /// bundle's reduced chi2 are better with it.
    func testShapeFitIsBetterWithTheContinuum() throws {
        let (truth, image, lines, _) = try Self.specterArc()
        let start = PSFFullFitTests.gaussianOnly(truth)
        let bright = lines.filter { $0.intensity > 500 && $0.wavelength > truth.wavemin && $0.wavelength < truth.wavemax }
        let w0 = bright.map(\.wavelength).min()!, w1 = bright.map(\.wavelength).max()!
        let cont = try ArcContinuum.fit(image: image, psf: start, lines: lines, bundleSize: 25, threads: 2)
        var o = PSFShapeFitOptions()
        o.ncpu = 2
        let with = try fitPSFShape(image: ArcContinuum.subtracted(from: image, psf: cont.psf, threads: 2), psf: cont.psf,
                                   lines: lines, options: o)
        let without = try fitPSFShape(image: image, psf: start, lines: lines, options: o)
        let shWith = try PSFFullFitTests.spotShapeRMS(with.psf, truth, w0, w1)
        let shWithout = try PSFFullFitTests.spotShapeRMS(without.psf, truth, w0, w1)
        print(String(format: "shape fit on the specter arc with a continuum: spot shape %.3f %% of the peak, rchi2 %.3f with CONT; "
                     + "%.3f %%, %.3f without", 100 * shWith, with.bundles[0].rchi2, 100 * shWithout, without.bundles[0].rchi2))
        XCTAssertLessThan(shWith, 0.01)
        XCTAssertLessThan(shWith, shWithout)
        XCTAssertLessThan(with.bundles[0].rchi2, without.bundles[0].rchi2)
    }
}
