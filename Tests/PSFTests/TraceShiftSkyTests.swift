import DESICore
import FITS
import Foundation
import XCTest

@testable import PSF

/// The absolute wavelength calibration of `traceshift --sky`: the reference convolved with the PSF's own line
/// spread, and the shipped sky line spectrum recovering a known y shift that the relative calibration cannot see.
final class TraceShiftSkyTests: XCTestCase {
    /// A PSF written for this test only (no code shared with GaussHermitePSF): straight traces, 2 pixels per A,
    /// a Gaussian across the trace and along it a pixel-integrated mixture 0.8 N(0, 1) + 0.2 N(1.5, 1.5) whose
    /// centroid is 0.3 pixel after the trace centre.
    struct AsymmetricPSF: SpectralPSF {
        var nspec = 5
        var wavemin = 5900.0, wavemax = 6100.0
        var npixX = 60, npixY = 500
        static let components: [(weight: Double, mean: Double, sigma: Double)] = [(0.8, 0, 1), (0.2, 1.5, 1.5)]
        static var centroid: Double { components.reduce(0) { $0 + $1.weight * $1.mean } }
        static var variance: Double {
            components.reduce(0) { $0 + $1.weight * ($1.sigma * $1.sigma + $1.mean * $1.mean) } - centroid * centroid
        }

        func x(fiber: Int, wavelength: Double) -> Double { 10 + 10 * Double(fiber) }
        func y(fiber: Int, wavelength: Double) -> Double { 250 + 2 * (wavelength - 6000) }
        func wavelength(fiber: Int, y: Double) -> Double { 6000 + (y - 250) / 2 }

        static func cdf(_ t: Double, _ m: Double, _ s: Double) -> Double { 0.5 * (1 + erf((t - m) / (s * 2.0.squareRoot()))) }
        func spot(fiber: Int, wavelength w: Double) -> PSFSpot {
            let xc = x(fiber: fiber, wavelength: w), yc = y(fiber: fiber, wavelength: w)
            let x0 = Int(xc.rounded()) - 4, y0 = Int(yc.rounded()) - 9, nx = 9, ny = 19
            var v = [Double](repeating: 0, count: nx * ny)
            for i in 0..<ny {
                let lo = Double(y0 + i) - 0.5 - yc, hi = lo + 1
                let py = Self.components.reduce(0) { $0 + $1.weight * (Self.cdf(hi, $1.mean, $1.sigma) - Self.cdf(lo, $1.mean, $1.sigma)) }
                for j in 0..<nx {
                    let a = Double(x0 + j) - 0.5 - xc
                    v[i * nx + j] = py * (Self.cdf(a + 1, 0, 1) - Self.cdf(a, 0, 1))
                }
            }
            return PSFSpot(x0: x0, y0: y0, nx: nx, ny: ny, values: v)
        }
    }

    func testLineSpreadKeepsThePSFAsymmetry() throws {
        let psf = AsymmetricPSF()
        // one line at 6000 A, sampled every 0.1 A as desispec's sky spectrum is
        let wave = (0..<2001).map { 5900 + 0.1 * Double($0) }
        let flux = wave.map { abs($0 - 6000) < 1e-6 ? 1.0 : 0.0 }
        let c = ConvolvedReference(wave: wave, flux: flux, from: 5950, to: 6050, psf: psf, fibers: Array(0..<5))
        var s0 = 0.0, s1 = 0.0, s2 = 0.0
        for (k, v) in c.values.enumerated() {
            let w = c.first + ConvolvedReference.step * Double(k)
            s0 += v; s1 += v * w; s2 += v * w * w
        }
        let mean = s1 / s0, variance = s2 / s0 - mean * mean
        // centroid: 0.3 pixel at 2 pixels per A (a symmetric line spread, as before, put it at 6000.000)
        XCTAssertEqual(mean - 6000, AsymmetricPSF.centroid / 2, accuracy: 0.002)
        // width: the profile, the pixel box (1/12) and the linear interpolation of the 0.1 A samples (0.1^2 / 6)
        let expected = (AsymmetricPSF.variance + 1.0 / 12) / 4 + 0.01 / 6
        XCTAssertEqual(variance, expected, accuracy: 0.02 * expected)
        print(String(format: "line spread: centroid %+.4f A (expected %+.4f), variance %.4f A^2 (expected %.4f)",
                     mean - 6000, AsymmetricPSF.centroid / 2, variance, expected))
    }

    /// 10 fibers x 600 rows, 6250-6550 A: continuum plus the shipped sky lines, rendered with the analytic PSF
    /// shifted by `dy` pixels, Poisson-like noise.
    static func skyImage(psf: GaussHermitePSF, dy: Double, seed: UInt64) throws -> Image {
        try skyImage(truth: psf.shifted(dx: 0, dy: dy), seed: seed)
    }

    /// The same, rendered with any PSF (`truth`, e.g. traces moved per fiber).
    static func skyImage(truth: GaussHermitePSF, seed: UInt64) throws -> Image {
        let psf = truth
        let (rw, rf) = try readReferenceSpectrum(ShippedReferenceSpectrum.sky.path())
        let ny = psf.npixY, nx = psf.npixX
        var model = [Double](repeating: 0, count: ny * nx)
        func add(_ fiber: Int, _ w: Double, _ amp: Double) {
            let s = truth.spot(fiber: fiber, wavelength: w)
            for i in 0..<s.ny where s.y0 + i >= 0 && s.y0 + i < ny {
                for j in 0..<s.nx where s.x0 + j >= 0 && s.x0 + j < nx { model[(s.y0 + i) * nx + s.x0 + j] += amp * s.values[i * s.nx + j] }
            }
        }
        let lines = (0..<rw.count).filter { rw[$0] > psf.wavemin - 5 && rw[$0] < psf.wavemax + 5 && rf[$0] > 0 }
        for f in 0..<psf.nspec {
            var w = psf.wavemin - 5
            while w < psf.wavemax + 5 { add(f, w, 40 * 0.25); w += 0.25 }
            for k in lines { add(f, rw[k], 30 * rf[k] * 0.1) }   // 30 electrons per unit of the file, 0.1 A samples
        }
        var rng = TestRandom(seed: seed)
        var pix = [Float](repeating: 0, count: ny * nx), ivar = pix
        for k in 0..<(ny * nx) {
            let v = 9 + max(model[k], 0)
            pix[k] = Float(model[k] + v.squareRoot() * rng.gaussian())
            ivar[k] = Float(1 / v)
        }
        return Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: ny * nx),
                     readnoise: [Float](repeating: 3, count: ny * nx), header: FITSHeader())
    }

    func testSkyLinesGiveTheAbsoluteShift() throws {
        let psf = try GaussHermitePSF.analytic(nspec: 10, wavemin: 6250, wavemax: 6550, npixX: 112, npixY: 600)
        let image = try Self.skyImage(psf: psf, dy: 0.25, seed: 11)
        var o = TraceShiftOptions()
        o.degxx = 0; o.degxy = 0; o.degyx = 0; o.degyy = 0; o.continuumSubtract = true
        // relative calibration only: every fiber moved alike, so nothing is seen
        let relative = try computeTraceShifts(image: image, xTrace: psf.xTrace, yTrace: psf.yTrace, psf: psf, options: o)
        (o.referenceWave, o.referenceFlux) = try readReferenceSpectrum(ShippedReferenceSpectrum.sky.path())
        let absolute = try computeTraceShifts(image: image, xTrace: psf.xTrace, yTrace: psf.yTrace, psf: psf, options: o)
        print(String(format: "sky lines, truth dy +0.250: relative MEANDY %+.4f, with the sky spectrum %+.4f",
                     relative.meanDy, absolute.meanDy))
        XCTAssertEqual(relative.meanDy, 0, accuracy: 0.01)
        XCTAssertEqual(absolute.meanDy, 0.25, accuracy: 0.02)
        XCTAssertEqual(absolute.maxDy - absolute.minDy, 0, accuracy: 0.02)   // degree 0: one shift for all
    }

    /// Traces moved per fiber (dy_f = 0.04 (f - 4.5) pixel): the relative calibration moves them, so the shifted PSF
    /// carries desispec's INTOFF (6 bins per fiber whatever --degyy) and EXTOFF (degyy + 4 bins); float32 columns as
    /// write_traces_in_psf writes them.
    func testOffsetTablesAsDesispecWritesThem() throws {
        let psf = try GaussHermitePSF.analytic(nspec: 10, wavemin: 6250, wavemax: 6550, npixX: 112, npixY: 600)
        func injected(_ f: Int) -> Double { 0.04 * (Double(f) - 4.5) }
        let truth = try psf.shifted(dx: { _, _ in 0 }, dy: { f, _ in injected(f) })
        let image = try Self.skyImage(truth: truth, seed: 12)
        var o = TraceShiftOptions()
        o.degxx = 0; o.degxy = 0; o.degyx = 1; o.degyy = 0; o.continuumSubtract = true
        (o.referenceWave, o.referenceFlux) = try readReferenceSpectrum(ShippedReferenceSpectrum.sky.path())
        let r = try computeTraceShifts(image: image, xTrace: psf.xTrace, yTrace: psf.yTrace, psf: psf, options: o)
        let intoff = try XCTUnwrap(r.internalOffsets, "the first relative pass moved the traces: INTOFF expected")
        let extoff = try XCTUnwrap(r.externalOffsets)
        XCTAssertEqual(Set(intoff.map(\.fiber)), Set(0..<10))
        for f in 0..<10 { XCTAssertLessThanOrEqual(intoff.filter { $0.fiber == f }.count, 6) }
        XCTAssertGreaterThan(intoff.count, 40, "6 bins per fiber, a few without lines")
        XCTAssertLessThanOrEqual(extoff.count, 4)
        // INTOFF is the last pass that still moved the traces (desispec keeps a pass's offsets only when it did not
        // converge): here the second, which measured what the first left, a few 0.01 pixel per fiber at most
        let dydw = (psf.y(fiber: 5, wavelength: 6400.1) - psf.y(fiber: 5, wavelength: 6400)) / 0.1
        for f in 0..<10 {   // inverse-variance mean over the bins (some hold few lines)
            let v = intoff.filter { $0.fiber == f }
            let w = v.map { 1 / ($0.dwaveError * $0.dwaveError) }
            let mean = zip(v, w).reduce(0) { $0 + $1.0.dwave * $1.1 } / w.reduce(0, +)
            XCTAssertLessThan(abs(mean * dydw), 0.05, "fiber \(f): residual offset of the last moving pass")
        }
        let tables = r.offsetTables
        XCTAssertEqual(tables.map(\.name), ["INTOFF", "EXTOFF"])
        XCTAssertEqual(tables[0].table.columns.map(\.name), ["FIBER", "WAVE", "DWAVE", "DWAVE_ERR"])
        XCTAssertEqual(tables[1].table.columns.map(\.name), ["WAVE", "DWAVE", "DWAVE_ERR"])
        if case .float = tables[0].table.columns[2].data {} else { XCTFail("DWAVE must be float32 as desispec writes it") }
        // the traces end where the truth is, every fiber (the first pass measured the injected offsets)
        for f in 0..<10 { XCTAssertEqual(r.yTrace.eval(f, 6400) - psf.yTrace.eval(f, 6400), injected(f), accuracy: 0.06) }
    }

    func testShippedSkySpectrumIsDesispecs() throws {
        let (w, f) = try readReferenceSpectrum(ShippedReferenceSpectrum.sky.path())
        // desispec's spec-sky.dat: 3500-9999.9 A; 5578.9 A (OI 5577 in vacuum) is its brightest sample
        XCTAssertEqual(w.first!, 3500, accuracy: 1e-9)
        XCTAssertEqual(w.last!, 9999.9, accuracy: 1e-9)
        XCTAssertEqual(w[f.indices.max { f[$0] < f[$1] }!], 5578.9, accuracy: 1e-9)
        XCTAssertEqual(f.filter { $0 != 0 }.count, 3511)
    }
}
