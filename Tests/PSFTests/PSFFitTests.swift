import DESICore
import FITS
import LinearAlgebra
import XCTest

@testable import PSF

/// The arc PSF fit on synthetic arcs drawn with a known PSF, started from a perturbed PSF.
final class PSFFitTests: XCTestCase {
    /// An arc of the built-in lamp lines through `truth`: Poisson-like Gaussian noise, read noise 3 e.
    /// `darkFibers` get no light (broken fibers).
    static func arcImage(truth: GaussHermitePSF, lines: [ArcLine], scale: Double = 1, seed: UInt64,
                         darkFibers: Set<Int> = []) -> Image {
        let ny = truth.npixY, nx = truth.npixX
        var model = [Double](repeating: 0, count: ny * nx)
        for f in 0..<truth.nspec where !darkFibers.contains(f) {
            for l in lines where l.wavelength > truth.wavemin && l.wavelength < truth.wavemax {
                let s = truth.spot(fiber: f, wavelength: l.wavelength)
                for i in 0..<s.ny where s.y0 + i >= 0 && s.y0 + i < ny {
                    for j in 0..<s.nx where s.x0 + j >= 0 && s.x0 + j < nx {
                        model[(s.y0 + i) * nx + s.x0 + j] += scale * l.intensity * s.values[i * s.nx + j]
                    }
                }
            }
        }
        var rng = TestRandom(seed: seed)
        var pix = [Float](repeating: 0, count: ny * nx), ivar = pix
        for k in 0..<(ny * nx) {
            let v = 9 + max(model[k], 0)
            pix[k] = Float(model[k] + v.squareRoot() * rng.gaussian())
            ivar[k] = Float(1 / (9 + max(Double(pix[k]), 0)))
        }
        var h = FITSHeader()
        h.set("CAMERA", "r0")
        return Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: ny * nx),
                     readnoise: [Float](repeating: 3, count: ny * nx), header: h)
    }

    /// `psf` with traces shifted by (dx, dy) and core sigmas multiplied by `sigmaScale`.
    static func perturbed(_ psf: GaussHermitePSF, dx: Double, dy: Double, sigmaScale: Double) -> GaussHermitePSF {
        var p = psf.shifted(dx: dx, dy: dy)
        for k in [p.sigX, p.sigY] { p.parameters[k].traces.coefficients = p.parameters[k].traces.coefficients.map { $0 * sigmaScale } }
        return p
    }

    /// Largest |x - x_true|, |y - y_true| (pixels) and |sigma / sigma_true - 1| over fibers and wavelengths in
    /// [w0, w1].
    static func maxErrors(_ p: GaussHermitePSF, _ t: GaussHermitePSF, _ w0: Double,
                          _ w1: Double) -> (x: Double, y: Double, sx: Double, sy: Double) {
        var ex = 0.0, ey = 0.0, esx = 0.0, esy = 0.0
        for f in 0..<t.nspec {
            for k in 0...20 {
                let w = w0 + (w1 - w0) * Double(k) / 20
                ex = max(ex, abs(p.x(fiber: f, wavelength: w) - t.x(fiber: f, wavelength: w)))
                ey = max(ey, abs(p.y(fiber: f, wavelength: w) - t.y(fiber: f, wavelength: w)))
                esx = max(esx, abs(p.xsigma(fiber: f, wavelength: w) / t.xsigma(fiber: f, wavelength: w) - 1))
                esy = max(esy, abs(p.ysigma(fiber: f, wavelength: w) / t.ysigma(fiber: f, wavelength: w) - 1))
            }
        }
        return (ex, ey, esx, esy)
    }

    static func truthPSF() throws -> GaussHermitePSF {
        try GaussHermitePSF.analytic(nspec: 12, wavemin: 5650, wavemax: 7800, npixX: 140, npixY: 1024, bundleSize: 6)
    }

    func testFitRecoversTracesAndSigmasOfAGaussHermitePSF() throws {
        let truth = try Self.truthPSF()
        let lines = ArcLamps.builtin()
        let image = Self.arcImage(truth: truth, lines: lines, seed: 7)
        let start = Self.perturbed(truth, dx: 0.3, dy: -0.4, sigmaScale: 1.1)
        var o = PSFFitOptions()
        o.ncpu = 2
        o.fitShape = false   // the traces-and-widths mode (--no-shape-fit); the full fit: PSFFullFitTests
        let r = try fitPSF(image: image, psf: start, lines: lines, options: o) { print("psf fit: \($0)") }
        let inside = lines.map(\.wavelength).filter { $0 > truth.wavemin && $0 < truth.wavemax }
        let e = Self.maxErrors(r.psf, truth, inside.min()!, inside.max()!)
        let all = Self.maxErrors(r.psf, truth, truth.wavemin, truth.wavemax)
        print(String(format: "psf fit vs truth (lines %.0f-%.0f A): max |dx| %.4f |dy| %.4f px, |sx-1| %.4f |sy-1| %.4f; "
                     + "whole range: %.4f %.4f %.4f %.4f; %d cycles, lines/fiber %@",
                     inside.min()!, inside.max()!, e.x, e.y, e.sx, e.sy, all.x, all.y, all.sx, all.sy, r.cycles,
                     r.linesPerFiber.map(String.init).joined(separator: ",")))
        XCTAssertTrue(r.fiberFitted.allSatisfy { $0 })
        XCTAssertLessThan(e.x, 0.05); XCTAssertLessThan(e.y, 0.05)
        XCTAssertLessThan(e.sx, 0.03); XCTAssertLessThan(e.sy, 0.03)
        XCTAssertLessThan(all.x, 0.05); XCTAssertLessThan(all.y, 0.05)
        XCTAssertEqual(r.meanDx, -0.3, accuracy: 0.02)
        XCTAssertEqual(r.meanDy, 0.4, accuracy: 0.02)
        // The shape terms are the input's.
        for name in ["GH-2-0", "GH-0-2", "TAILAMP", "TAILINDE"] {
            XCTAssertEqual(r.psf.parameter(name, fiber: 3, wavelength: 6500), start.parameter(name, fiber: 3, wavelength: 6500))
        }
    }

    /// A specex input's own figures of merit (20 bundles' BnnRCHI2 ...) must not stay beside the new fit's.
    func testInputFitFiguresAreDroppedFromTheOutputHeaders() throws {
        var psf = try Self.truthPSF()
        for k in ["B00RCHI2", "B19RCHI2", "B07NDATA", "B07NPAR", "B03NSPOT", "B03NFIB"] { psf.headers.table.set(k, 1.5) }
        psf.headers.primary.set("B12RCHI2", 2.0); psf.headers.primary.set("PSFFIT", "FULL")
        psf.headers.table.set("CONTFIT", true)
        for k in ["BUNDLMIN", "B1RCHI2", "BXXRCHI2", "CAMERA"] { psf.headers.table.set(k, "kept") }
        let out = psf.withoutInputFitFigures()
        XCTAssertEqual(out.headers.table.keys.filter { $0.hasSuffix("RCHI2") || $0.hasSuffix("NDATA") || $0.hasSuffix("NPAR")
                                                         || $0.hasSuffix("NSPOT") || $0.hasSuffix("NFIB") }.sorted(),
                       ["B1RCHI2", "BXXRCHI2"])
        XCTAssertNil(out.headers.primary["B12RCHI2"]); XCTAssertNil(out.headers.primary["PSFFIT"])
        XCTAssertNil(out.headers.table["CONTFIT"])
        for k in ["BUNDLMIN", "CAMERA"] { XCTAssertEqual(out.headers.table[k], .string("kept")) }
    }

    func testResultDoesNotDependOnThreadCount() throws {
        let truth = try GaussHermitePSF.analytic(nspec: 4, wavemin: 5650, wavemax: 7800, npixX: 60, npixY: 600)
        let lines = ArcLamps.builtin()
        let image = Self.arcImage(truth: truth, lines: lines, seed: 3)
        let start = Self.perturbed(truth, dx: -0.2, dy: 0.3, sigmaScale: 0.95)
        var o = PSFFitOptions()
        o.iterations = 1
        o.ncpu = 1
        let a = try fitPSF(image: image, psf: start, lines: lines, options: o)
        o.ncpu = 3
        let b = try fitPSF(image: image, psf: start, lines: lines, options: o)
        XCTAssertEqual(a.psf.xTrace, b.psf.xTrace)
        XCTAssertEqual(a.psf.yTrace, b.psf.yTrace)
        XCTAssertEqual(a.psf.parameters[a.psf.sigX].traces, b.psf.parameters[b.psf.sigX].traces)
    }

    func testImageOfAnotherSizeIsRejected() throws {
        let truth = try GaussHermitePSF.analytic(nspec: 4, wavemin: 5650, wavemax: 7800, npixX: 60, npixY: 600)
        var image = Self.arcImage(truth: truth, lines: ArcLamps.builtin(), seed: 1)
        image.ny = 500; image.pix.removeLast(100 * 60); image.ivar.removeLast(100 * 60)
        image.mask.removeLast(100 * 60); image.readnoise.removeLast(100 * 60)
        XCTAssertThrowsError(try fitPSF(image: image, psf: truth, lines: ArcLamps.builtin())) { e in
            XCTAssertTrue("\(e)".contains("500") && "\(e)".contains("600"), "\(e)")
        }
    }

    func testNoLinesInRangeIsAnError() throws {
        let truth = try GaussHermitePSF.analytic(nspec: 4, wavemin: 5650, wavemax: 7800, npixX: 60, npixY: 600)
        let image = Self.arcImage(truth: truth, lines: ArcLamps.builtin(), seed: 1)
        XCTAssertThrowsError(try fitPSF(image: image, psf: truth, lines: [ArcLine(wavelength: 4000)])) { e in
            XCTAssertTrue("\(e)".contains("arc line"), "\(e)")
        }
    }

    func testBuiltinLinesAreTheSimulatorsInVacuum() {
        let b = ArcLamps.builtin()
        XCTAssertEqual(b.count, 46)
        // Hg 5460.74 A in air is 5462.27 A in vacuum (the measured list has 5462.268).
        XCTAssertEqual(b.first { abs($0.wavelength - 5462.27) < 0.5 }?.wavelength ?? 0, 5462.268, accuracy: 0.02)
    }

    func testReadsTextAndFITSLineLists() throws {
        let path = temporaryPath("lines.txt")
        try "# test\nIon wave score RelInt\nHgI 5462.268 1 300\nNeI 5854.1101 1 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let l = try ArcLamps.read(path)
        XCTAssertEqual(l.map(\.wavelength), [5462.268, 5854.1101])
        XCTAssertEqual(l.map(\.intensity), [300, 1])
        let plain = temporaryPath("plain.txt")
        try "6000.5 10\n5000.25\n".write(toFile: plain, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ArcLamps.read(plain).map(\.wavelength), [5000.25, 6000.5])
        let bad = temporaryPath("bad.txt")
        try "hello world\n12 13\n".write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ArcLamps.read(bad)) { XCTAssertTrue("\($0)".contains(bad), "\($0)") }
        if let measured = try? testDataPath(ArcLamps.measuredListPath) {
            let m = try ArcLamps.read(measured)
            XCTAssertEqual(m.count, 159)
            XCTAssertTrue(m.contains { abs($0.wavelength - 7034.352) < 1e-6 })
        }
    }
}
