import FITS
import XCTest

@testable import PSF

/// Expected values computed once with specter 0.11 (specter.psf.load_psf, _xypix, wavelength) by
/// scripts/compare_psf_specter.py --print-fixtures.
final class GaussHermitePSFTests: XCTestCase {
    func testPSFVER3MatchesSpecter() throws {
        let file = try testDataPath("psf/psf-r0-00051060.fits")   // skips without the test data (outside XCTUnwrap, which would fail)
        let psf = try XCTUnwrap(try readPSF(file) as? GaussHermitePSF)
        XCTAssertEqual(psf.nspec, 500); XCTAssertEqual(psf.npixX, 4114); XCTAssertEqual(psf.npixY, 4128)
        XCTAssertEqual(psf.ghDegX, 6); XCTAssertEqual(psf.halfSizeX, 8); XCTAssertEqual(psf.halfSizeY, 5)
        XCTAssertEqual(psf.x(fiber: 0, wavelength: 6000.25), 120.94355705785391, accuracy: 1e-9)
        XCTAssertEqual(psf.y(fiber: 0, wavelength: 6000.25), 802.424311887476, accuracy: 1e-9)
        let s = psf.spot(fiber: 0, wavelength: 6000.25)
        XCTAssertEqual([s.x0, s.y0, s.nx, s.ny], [113, 797, 17, 11])
        XCTAssertEqual(s.values[6 * 17 + 8], 0.10026615430008386, accuracy: 1e-6)
        XCTAssertEqual(s.values[6 * 17 + 10], 0.01930883918061863, accuracy: 1e-6)
        XCTAssertEqual(s.values[7 * 17 + 8], 0.057372709926443714, accuracy: 1e-6)
        XCTAssertEqual(s.values[0], 2.2876627320210024e-14, accuracy: 1e-12)
        XCTAssertEqual(s.values.reduce(0, +), 1, accuracy: 1e-12)
        let s2 = psf.spot(fiber: 499, wavelength: 6000.25)
        XCTAssertEqual([s2.x0, s2.y0], [3936, 796])
        XCTAssertEqual(s2.values[5 * 17 + 8], 0.0991664009564209, accuracy: 1e-6)
        XCTAssertEqual(s2.values[6 * 17 + 8], 0.09609873266964006, accuracy: 1e-6)
        XCTAssertEqual(psf.wavelength(fiber: 499, y: 10), 5552.3556090027, accuracy: 1e-6)
        XCTAssertEqual(psf.wavelength(fiber: 499, y: 2064), 6686.702025651329, accuracy: 1e-6)
        XCTAssertEqual(psf.wavelength(fiber: 499, y: 4100.7), 7723.155509114582, accuracy: 1e-6)
        // The exact inverse differs from specter's fitted one by < 1e-3 A and inverts y exactly.
        let w = psf.exactWavelength(fiber: 499, y: 2064)
        XCTAssertEqual(psf.y(fiber: 499, wavelength: w), 2064, accuracy: 1e-8)
        XCTAssertEqual(w, 6686.702025651329, accuracy: 1e-3)
    }

    func testPSFVER2MatchesSpecter() throws {
        let file = try testDataPath("psf/psf-gausshermite-v2.fits")   // skips without the test data (outside XCTUnwrap, which would fail)
        let psf = try XCTUnwrap(try readPSF(file) as? GaussHermitePSF)
        XCTAssertEqual(psf.nspec, 25); XCTAssertEqual(psf.ghDegX, 8)
        XCTAssertEqual(psf.x(fiber: 0, wavelength: 6000.25), 172.2368664615364, accuracy: 1e-9)
        XCTAssertEqual(psf.y(fiber: 24, wavelength: 6000.25), 747.9385779394038, accuracy: 1e-9)
        let s = psf.spot(fiber: 0, wavelength: 6000.25)
        XCTAssertEqual([s.x0, s.y0, s.nx, s.ny], [158, 758, 29, 17])
        XCTAssertEqual(s.values[8 * 29 + 14], 0.10523944701169917, accuracy: 1e-6)
        XCTAssertEqual(s.values[8 * 29 + 16], 0.03988587182957116, accuracy: 1e-6)
        XCTAssertEqual(s.values[9 * 29 + 14], 0.07665847567903324, accuracy: 1e-6)
        XCTAssertEqual(s.values[0], 1.0114475313960104e-07, accuracy: 1e-9)   // tail
        XCTAssertEqual(psf.wavelength(fiber: 24, y: 2064), 6712.998963141234, accuracy: 1e-6)
    }

    func testTraceOnlyPSFMatchesDesispecXYTraceSet() throws {
        // desispec.io.xytraceset.read_xytraceset(ql-psf-r0.fits): x_vs_wave, y_vs_wave, wave_vs_y, ysig_vs_wave
        let file = try testDataPath("psf/ql-psf-r0.fits")   // skips without the test data (outside XCTUnwrap, which would fail)
        let psf = try XCTUnwrap(try readPSF(file) as? TraceOnlyPSF)
        XCTAssertEqual(psf.nspec, 500)
        XCTAssertEqual(psf.x(fiber: 10, wavelength: 6500), 246.17387372028932, accuracy: 1e-9)
        XCTAssertEqual(psf.y(fiber: 10, wavelength: 6500), 1674.9251778085404, accuracy: 1e-9)
        XCTAssertEqual(psf.wavelength(fiber: 10, y: 2000), 6673.315090006636, accuracy: 1e-6)
        XCTAssertEqual(psf.ysigma(fiber: 10, wavelength: 6500), 1.1162970722347958, accuracy: 1e-6)
        let s = psf.spot(fiber: 10, wavelength: 6500)
        XCTAssertEqual(s.values.reduce(0, +), 1, accuracy: 1e-12)
    }

    func testWriteReadRoundTripOfShiftedRealPSF() throws {
        let psf = try GaussHermitePSF.read(try testDataPath("psf/psf-gausshermite-v2.fits"))
        let shifted = psf.shifted(dx: 0.3, dy: -0.4)
        let path = temporaryPath("psf-shifted.fits")
        try writePSF(shifted, to: path, history: ["desispec-swift test"])
        let back = try GaussHermitePSF.read(path)
        for (f, w) in [(0, 5600.0), (12, 6789.1), (24, 7790.0)] {
            XCTAssertEqual(back.x(fiber: f, wavelength: w), psf.x(fiber: f, wavelength: w) + 0.3, accuracy: 1e-9)
            XCTAssertEqual(back.y(fiber: f, wavelength: w), psf.y(fiber: f, wavelength: w) - 0.4, accuracy: 1e-9)
            let a = back.spot(fiber: f, wavelength: w), b = shifted.spot(fiber: f, wavelength: w)
            XCTAssertEqual(a.x0, b.x0); XCTAssertEqual(a.y0, b.y0)
            XCTAssertEqual(zip(a.values, b.values).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-15)
        }
        let f = try FITSFile.open(path)
        XCTAssertEqual(f.hduNames(), ["XTRACE", "YTRACE", "PSF"])
    }

    func testAnalyticPSFWritesAndReadsBackIdentically() throws {
        let psf = try GaussHermitePSF.analytic(nspec: 12, wavemin: 5500, wavemax: 6000, npixX: 140, npixY: 600)
        XCTAssertEqual(psf.x(fiber: 1, wavelength: 5750) - psf.x(fiber: 0, wavelength: 5750), 7.3, accuracy: 0.1)
        let s = psf.spot(fiber: 5, wavelength: 5750)
        XCTAssertEqual(s.values.reduce(0, +), 1, accuracy: 1e-12)
        // Centroid of a symmetric analytic spot is the trace position.
        var sx = 0.0, sy = 0.0
        for i in 0..<s.ny {
            for j in 0..<s.nx { sx += s.values[i * s.nx + j] * Double(s.x0 + j); sy += s.values[i * s.nx + j] * Double(s.y0 + i) }
        }
        XCTAssertEqual(sx, psf.x(fiber: 5, wavelength: 5750), accuracy: 0.01)
        XCTAssertEqual(sy, psf.y(fiber: 5, wavelength: 5750), accuracy: 0.01)
        let path = temporaryPath("psf-analytic.fits")
        try psf.write(to: path)
        let back = try XCTUnwrap(try readPSF(path) as? GaussHermitePSF)
        XCTAssertEqual(back.nspec, 12)
        for w in [5510.0, 5750.0, 5990.0] {
            XCTAssertEqual(back.wavelength(fiber: 3, y: psf.y(fiber: 3, wavelength: w)),
                           psf.wavelength(fiber: 3, y: psf.y(fiber: 3, wavelength: w)), accuracy: 1e-9)
            XCTAssertEqual(back.spot(fiber: 11, wavelength: w).values, psf.spot(fiber: 11, wavelength: w).values)
        }
    }

    func testSecondCoreAddsAWiderGaussianAndCutsTheFirst() throws {
        let base = try GaussHermitePSF.analytic(nspec: 3, wavemin: 5500, wavemax: 6000, npixX: 60, npixY: 300, ghDegree: 0,
                                                tailAmplitude: 0)
        func constant(_ v: Double) -> TraceSet {
            TraceSet(coefficients: (0..<3).flatMap { _ in [v, 0, 0, 0] }, ntrace: 3, ncoef: 4, domainMin: 5500, domainMax: 6000)
        }
        var params = base.parameters
        params += [PSFParameter(name: "GHSIGX2", traces: constant(3.0)), PSFParameter(name: "GHSIGY2", traces: constant(3.0)),
                   PSFParameter(name: "GHNSIG", traces: constant(100.0)), PSFParameter(name: "GH2-0-0", traces: constant(0.5))]
        let two = try GaussHermitePSF(xTrace: base.xTrace, yTrace: base.yTrace, parameters: params, ghDegX: 0, ghDegY: 0,
                                      halfSizeX: 8, halfSizeY: 5, npixX: 60, npixY: 300, secondCoreDegrees: (0, 0))
        let a = base.spot(fiber: 1, wavelength: 5750), b = two.spot(fiber: 1, wavelength: 5750)
        XCTAssertEqual([a.x0, a.y0, a.nx, a.ny], [b.x0, b.y0, b.nx, b.ny])
        // Expected: normalise(G1 + 0.5 G3) with pixel-integrated Gaussians of sigma (sx, sy) and 3.
        let xc = base.x(fiber: 1, wavelength: 5750), yc = base.y(fiber: 1, wavelength: 5750)
        let sx = base.xsigma(fiber: 1, wavelength: 5750), sy = base.ysigma(fiber: 1, wavelength: 5750)
        func g(_ p: Int, _ c: Double, _ s: Double) -> Double {
            0.5 * (erf((Double(p) + 0.5 - c) / (s * 2.0.squareRoot())) - erf((Double(p) - 0.5 - c) / (s * 2.0.squareRoot())))
        }
        var expected = [Double](), sum = 0.0
        for i in 0..<b.ny { for j in 0..<b.nx {
            let v = g(b.y0 + i, yc, sy) * g(b.x0 + j, xc, sx) + 0.5 * g(b.y0 + i, yc, 3) * g(b.x0 + j, xc, 3)
            expected.append(v); sum += v
        } }
        for k in 0..<expected.count { XCTAssertEqual(b.values[k], expected[k] / sum, accuracy: 1e-12) }
    }

    /// `PSFTraces.read` (the traces without the rest of the PSF, for the preprocessing's image model) gives the traces
    /// and the x sigma of the whole PSF, for a Gauss-Hermite file (GHSIGX) and a trace-only one (XSIG or none).
    func testTracesAloneEqualThoseOfTheWholePSF() throws {
        let gh = try testDataPath("psf/psf-r0-00051060.fits")   // skips without the test data (outside XCTUnwrap, which would fail)
        let psf = try XCTUnwrap(try readPSF(gh) as? GaussHermitePSF)
        let t = try PSFTraces.read(gh)
        XCTAssertEqual(t.x, psf.xTrace); XCTAssertEqual(t.y, psf.yTrace); XCTAssertEqual(t.xsigma, psf.xsigmaTraces)
        let ql = try testDataPath("psf/ql-psf-r0.fits")
        let only = try XCTUnwrap(try readPSF(ql) as? TraceOnlyPSF)
        let q = try PSFTraces.read(ql)
        XCTAssertEqual(q.x, only.xTrace); XCTAssertEqual(q.y, only.yTrace); XCTAssertEqual(q.xsigma, only.xSigma)
        XCTAssertThrowsError(try PSFTraces.read("/nonexistent/psf.fits")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/psf.fits"))
        }
    }

    func testMissingFileNamesThePath() {
        XCTAssertThrowsError(try readPSF("/nonexistent/psf.fits")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/psf.fits"))
        }
    }
}
