import DESICore
import FITS
import XCTest

@testable import PSF

/// What `desispec psf --psf` starts from: a GAUSS-HERMITE PSF (another epoch, a Gaussian-only version) or a trace
/// set turned into a Gaussian core.
final class StartingPSFTests: XCTestCase {
    /// The trace set of a GAUSS-HERMITE PSF: its traces and GHSIGX / GHSIGY as XSIG / YSIG.
    static func traceSet(of p: GaussHermitePSF) -> TraceOnlyPSF {
        TraceOnlyPSF(xTrace: p.xTrace, yTrace: p.yTrace, npixX: p.npixX, npixY: p.npixY,
                     xSigma: p.parameters[p.sigX].traces, ySigma: p.parameters[p.sigY].traces)
    }

    func testGaussianCoreFromATraceSet() throws {
        let truth = try PSFFitTests.truthPSF()
        let g = try GaussHermitePSF.gaussianCore(from: Self.traceSet(of: truth), camera: "r0")
        XCTAssertEqual(g.camera, "r0")
        XCTAssertEqual(g.ghDegX, 6); XCTAssertEqual(g.ghDegY, 6)
        for f in [0, 7, 11] {
            for w in [5700.0, 6500, 7700] {
                XCTAssertEqual(g.x(fiber: f, wavelength: w), truth.x(fiber: f, wavelength: w), accuracy: 1e-9)
                XCTAssertEqual(g.xsigma(fiber: f, wavelength: w), truth.xsigma(fiber: f, wavelength: w), accuracy: 1e-6)
                XCTAssertEqual(g.ysigma(fiber: f, wavelength: w), truth.ysigma(fiber: f, wavelength: w), accuracy: 1e-6)
                XCTAssertEqual(g.parameter("GH-0-0", fiber: f, wavelength: w), 1)
                XCTAssertEqual(g.parameter("GH-2-0", fiber: f, wavelength: w), 0)
                XCTAssertEqual(g.parameter("GH-6-6", fiber: f, wavelength: w), 0)
                XCTAssertEqual(g.parameter("TAILAMP", fiber: f, wavelength: w), 0)
            }
        }
        // A spot is a normalised pixel-integrated Gaussian.
        let s = g.spot(fiber: 3, wavelength: 6500)
        XCTAssertEqual(s.values.reduce(0, +), 1, accuracy: 1e-9)
    }

    func testFitFromATraceSetFindsMovedTraces() throws {
        // The arc is drawn with GH terms and a tail; the start is the truth's traces moved by (+2.5, +6) pixels with
        // a Gaussian core: the coarse scan and the trace fit recover the traces (the shape is the other fit's job).
        let truth = try PSFFitTests.truthPSF()
        let lines = try ArcLamps.measured()
        let image = PSFFitTests.arcImage(truth: truth, lines: lines, seed: 21)
        let start = try GaussHermitePSF.gaussianCore(from: Self.traceSet(of: truth.shifted(dx: 2.5, dy: 6)), camera: "r0")
        var o = PSFFitOptions()
        o.ncpu = 2; o.bundleSize = 6
        let r = try fitPSF(image: image, psf: start, lines: lines, options: o)
        let e = CoarseScanTests.rmsErrors(r.psf, truth, lines: lines)
        print(String(format: "from a trace set moved by (+2.5, +6): rms x %.4f y %.4f pixel", e.x, e.y))
        XCTAssertLessThan(e.x, 0.03); XCTAssertLessThan(e.y, 0.03)
    }

    func testStartingFileKinds() throws {
        let truth = try PSFFitTests.truthPSF()
        let image = PSFFitTests.arcImage(truth: truth, lines: ArcLamps.builtin(), seed: 1)
        // A GAUSS-HERMITE file is taken as it is.
        let gh = temporaryPath("start-gh.fits")
        try truth.write(to: gh)
        let a = try StartingPSF.load(gh, image: image, imagePath: "arc.fits")
        XCTAssertEqual(a.kind, "gauss-hermite")
        XCTAssertEqual(a.psf.parameter("GH-2-0", fiber: 1, wavelength: 6000), truth.parameter("GH-2-0", fiber: 1, wavelength: 6000))
        // A trace-only file (XTRACE, YTRACE, XSIGMA, WSIGMA as the quick-look files) becomes a Gaussian core.
        let ts = temporaryPath("start-traces.fits")
        try writeTraceSet(truth, to: ts, camera: "r0")
        let b = try StartingPSF.load(ts, image: image, imagePath: "arc.fits")
        XCTAssertTrue(b.kind.hasPrefix("trace-only"))
        XCTAssertEqual(b.psf.camera, "r0")
        XCTAssertEqual(b.psf.xsigma(fiber: 4, wavelength: 6500), 1.2, accuracy: 1e-9)
        XCTAssertEqual(b.psf.y(fiber: 4, wavelength: 6500), truth.y(fiber: 4, wavelength: 6500), accuracy: 1e-6)
        // Another camera or another CCD size: a one-line error naming both files.
        try writeTraceSet(truth, to: ts, camera: "b0")
        XCTAssertThrowsError(try StartingPSF.load(ts, image: image, imagePath: "arc.fits")) { e in
            XCTAssertTrue("\(e)".contains("arc.fits is camera r0") && "\(e)".contains(ts), "\(e)")
        }
        var small = image
        small.ny = 1000
        XCTAssertThrowsError(try StartingPSF.load(gh, image: small, imagePath: "arc.fits")) { e in
            XCTAssertTrue("\(e)".contains("1000 x 140") && "\(e)".contains(gh), "\(e)")
        }
        let junk = temporaryPath("junk.fits")
        try "not a FITS file".write(toFile: junk, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try StartingPSF.load(junk, image: image, imagePath: "arc.fits")) { e in
            XCTAssertTrue("\(e)".contains(junk), "\(e)")
        }
    }

    func testQuickLookTraceSetOfDESI() throws {
        let path = try testDataPath("psf/ql-psf-r0.fits")
        let t = try TraceOnlyPSF.read(path)
        let g = try GaussHermitePSF.gaussianCore(from: t, camera: try StartingPSF.primaryCamera(path))
        XCTAssertEqual(g.camera, "r0")
        XCTAssertEqual(g.npixX, 4114); XCTAssertEqual(g.npixY, 4128); XCTAssertEqual(g.nspec, 500)
        for f in [0, 250, 499] {
            for w in [5600.0, 6700, 7800] {
                XCTAssertEqual(g.xsigma(fiber: f, wavelength: w), t.xsigma(fiber: f, wavelength: w), accuracy: 1e-3)
                XCTAssertEqual(g.ysigma(fiber: f, wavelength: w), t.ysigma(fiber: f, wavelength: w), accuracy: 2e-3)
                XCTAssertEqual(g.x(fiber: f, wavelength: w), t.x(fiber: f, wavelength: w), accuracy: 1e-9)
            }
        }
        // Written in the PSFVER 3 layout and read back as a GAUSS-HERMITE PSF.
        let out = temporaryPath("ql-gauss.fits")
        try g.write(to: out)
        let back = try XCTUnwrap(try readPSF(out) as? GaussHermitePSF)
        XCTAssertEqual(back.ysigma(fiber: 100, wavelength: 6000), g.ysigma(fiber: 100, wavelength: 6000), accuracy: 1e-9)
    }

    /// A quick-look trace file: XTRACE (CAMERA, NPIX_X, NPIX_Y), YTRACE, XSIGMA = 1.2 pixel per fiber and
    /// WSIGMA = 1.1 Angstrom per fiber, constant in wavelength.
    func writeTraceSet(_ p: GaussHermitePSF, to path: String, camera: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        let f = try FITSFile.create(path)
        defer { try? f.close() }
        var h = FITSHeader()
        h.set("WAVEMIN", p.wavemin); h.set("WAVEMAX", p.wavemax)
        h.set("CAMERA", camera); h.set("NPIX_X", p.npixX); h.set("NPIX_Y", p.npixY)
        try f.writeImage(p.xTrace.coefficients, shape: [p.nspec, p.xTrace.ncoef], name: "XTRACE", header: h)
        var hy = FITSHeader()
        hy.set("WAVEMIN", p.wavemin); hy.set("WAVEMAX", p.wavemax)
        try f.writeImage(p.yTrace.coefficients, shape: [p.nspec, p.yTrace.ncoef], name: "YTRACE", header: hy)
        try f.writeImage([Double](repeating: 1.2, count: p.nspec), shape: [p.nspec], name: "XSIGMA")
        try f.writeImage([Double](repeating: 1.1, count: p.nspec), shape: [p.nspec], name: "WSIGMA")
    }
}
