import DESICore
import FITS
import Foundation
import LinearAlgebra
import TestSupport
import XCTest

@testable import FiberFlatFit

final class SplineFitTests: XCTestCase {
    /// desispec.linalg.spline_fit (scipy splrep/splev, knots every 5 A, weights w) on the same data gives
    /// these values (computed with desispec 0.70 in /work/refenv), including extrapolation outside the data.
    func testMatchesDesispecSplineFit() throws {
        let x = (0..<60).map { 5000 + 0.8 * Double($0) }
        let y = x.map { sin(($0 - 5000) / 4) + 0.01 * ($0 - 5000) }
        let w = (0..<60).map { 1 + 0.5 * cos(Double($0)) }
        let out = [4990.0, 5000, 5010.3, 5023.7, 5047.2, 5050]
        let ref = [1.21779972e+00, 1.09209839e-04, 6.38366129e-01, -1.12643560e-01, -2.07687397e-01, 7.20867048e-01]
        let s = try splineFit(outputX: out, x: x, y: y, resolution: 5, ivar: w)
        for (a, b) in zip(s, ref) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testReproducesCubicAndRejectsTooFewPoints() throws {
        let x = (0..<100).map(Double.init)
        let y = x.map { 2 + 0.1 * $0 - 0.003 * $0 * $0 + 1e-5 * $0 * $0 * $0 }
        let s = try splineFit(outputX: x, x: x, y: y, resolution: 10, ivar: [Double](repeating: 1, count: 100))
        for (a, b) in zip(s, y) { XCTAssertEqual(a, b, accuracy: 1e-9) }
        XCTAssertThrowsError(try splineFit(outputX: x, x: [1], y: [1], resolution: 10, ivar: [1]))
    }

    func testBandInverseMatchesDenseInverse() throws {
        let n = 30, kd = 3
        var a = SymmetricBandMatrix(n: n, kd: kd)
        var dense = Matrix(rows: n, cols: n)
        for i in 0..<n {
            for d in 0...kd where i + d < n {
                let v = d == 0 ? 4.0 + Double(i % 3) : -0.5 / Double(d)
                a.add(i + d, i, v)
                dense[i + d, i] = v; dense[i, i + d] = v
            }
        }
        let inv = try choleskyInverse(dense)
        let band = try a.cholesky().inverseBand(width: 5)
        for i in 0..<n { for j in max(0, i - 5)...min(n - 1, i + 5) { XCTAssertEqual(band.element(i, j), inv[i, j], accuracy: 1e-12) } }
    }
}

final class FiberFlatTests: XCTestCase {
    let nspec = 12, nwave = 500
    var wave: [Double] { (0..<nwave).map { 5800 + 0.8 * Double($0) } }

    /// Lamp spectrum: smooth continuum with a few features of a few bins that the resolution blurs differently per fiber.
    func lamp(_ w: Double) -> Double {
        var s = 1e5 * (1 + 0.3 * sin((w - 5800) / 60))
        for c in [5850.0, 5920, 6010, 6100] { s *= 1 - 0.3 * exp(-0.5 * pow((w - c) / 1.6, 2)) }
        return s
    }
    func throughput(_ f: Int, _ i: Int) -> Double {
        let x = Double(i) / Double(nwave)
        return (0.8 + 0.04 * Double(f)) * (1 + 0.05 * sin(Double(f)) * (x - 0.5))
    }

    func makeFlatFrame(seed: UInt64 = 1) -> Frame {
        let w = wave
        let sigmas = (0..<nspec).map { 1.0 + 0.5 * Double($0) / Double(nspec - 1) }
        let res = gaussianResolution(sigmas: sigmas, nwave: nwave)
        let s = w.map(lamp)
        return makeFrame(wave: w, truth: { _ in s }, throughput: throughput, resolution: res, readnoise: 3, seed: seed).frame
    }

    /// Truth: throughput divided by the median throughput over fibers at each wavelength.
    func truthFlat() -> [Double] {
        var t = [Double](repeating: 0, count: nspec * nwave)
        for i in 0..<nwave {
            let col = (0..<nspec).map { throughput($0, i) }
            let med = Statistics.median(col)
            for f in 0..<nspec { t[f * nwave + i] = col[f] / med }
        }
        return t
    }

    func testRecoversThroughputs() throws {
        let frame = makeFlatFrame()
        let ff = try computeFiberFlat(frame: frame)
        let truth = truthFlat()
        var sum2 = 0.0, n = 0
        var worstFiberBias = 0.0
        for f in 0..<nspec {
            var bias = 0.0
            for i in 10..<(nwave - 10) {
                let d = ff.flat[f * nwave + i] - truth[f * nwave + i]
                sum2 += d * d; n += 1; bias += d
            }
            worstFiberBias = max(worstFiberBias, abs(bias / Double(nwave - 20)))
        }
        let rms = (sum2 / Double(n)).squareRoot()
        // photon noise alone is ~1/sqrt(1e5 * 0.8) = 0.0035 per pixel
        XCTAssertLessThan(rms, 0.005, "rms of flat - truth over fibers and wavelengths")
        XCTAssertLessThan(worstFiberBias, 0.001, "mean offset of a fiber's flat")
        // the deconvolved mean spectrum is the lamp times the median throughput
        // (the deconvolved spectrum rings at the pixel scale, its convolution by a fiber's resolution does not)
        let r = frame.resolution!
        let conv = r.apply(spec: 0, to: ff.meanspec), convTruth = r.apply(spec: 0, to: wave.map(lamp))
        for i in stride(from: 20, to: nwave - 20, by: 37) {
            let medT = Statistics.median((0..<nspec).map { throughput($0, i) })
            XCTAssertEqual(conv[i] / (convTruth[i] * medT), 1, accuracy: 0.005, "R M at \(wave[i])")
        }
        // ivar (with desispec's systematic term of 0.0035, which also covers the noise of the mean spectrum)
        // is consistent with the scatter
        var chi2 = 0.0
        for f in 0..<nspec { for i in 10..<(nwave - 10) { let k = f * nwave + i; chi2 += pow(ff.flat[k] - truth[k], 2) * ff.ivar[k] } }
        print("fiberflat: rms(flat - truth) = \(rms), worst fiber bias = \(worstFiberBias), chi2/pix = \(chi2 / Double(n))")
        XCTAssertGreaterThan(chi2 / Double(n), 0.4); XCTAssertLessThan(chi2 / Double(n), 1.2)
        XCTAssertEqual(ff.mask.filter { $0 != 0 }.count, 0)
    }

    func testCosmicIsMaskedAndInterpolated() throws {
        var frame = makeFlatFrame(seed: 2)
        let k = 5 * nwave + 250
        frame.flux[k] *= 1.5
        let ff = try computeFiberFlat(frame: frame)
        XCTAssertNotEqual(ff.mask[k] & SpecMask.badFiberFlat, 0)
        XCTAssertEqual(ff.ivar[k], 0)
        XCTAssertEqual(ff.flat[k], truthFlat()[k], accuracy: 0.005)
    }

    func testBadFiberStatusIsMasked() throws {
        var frame = makeFlatFrame(seed: 3)
        var status = [Int32](repeating: 0, count: nspec)
        status[3] = Int32(FiberStatus.brokenFiber)
        frame.fibermap = makeFibermap(objtypes: [String](repeating: "TGT", count: nspec), x: [Double](repeating: 0, count: nspec),
                                      y: [Double](repeating: 0, count: nspec), status: status)
        let ff = try computeFiberFlat(frame: frame)
        for i in 0..<nwave {
            XCTAssertEqual(ff.ivar[3 * nwave + i], 0)
            XCTAssertNotEqual(ff.mask[3 * nwave + i] & SpecMask.badFiberFlat, 0)
        }
        // the other fibers are normalized to their own median
        let i = 200
        let col = (0..<nspec).filter { $0 != 3 }.map { throughput($0, i) }
        XCTAssertEqual(ff.flat[4 * nwave + i], throughput(4, i) / Statistics.median(col), accuracy: 0.015)
    }

    func testWriteReadRoundTrip() throws {
        let frame = makeFlatFrame(seed: 4)
        let ff = try computeFiberFlat(frame: frame)
        let path = NSTemporaryDirectory() + "fiberflat-test-\(getpid()).fits"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ff.write(to: path, history: ["desispec-swift test"])
        let back = try FiberFlat.read(path)
        XCTAssertEqual(back.nspec, nspec); XCTAssertEqual(back.nwave, nwave)
        for k in stride(from: 0, to: ff.flat.count, by: 97) {
            XCTAssertEqual(back.flat[k], ff.flat[k], accuracy: 1e-6)
            XCTAssertEqual(back.ivar[k] / ff.ivar[k], 1, accuracy: 1e-6)
            XCTAssertEqual(back.mask[k], ff.mask[k])
        }
        XCTAssertEqual(back.wave[7], wave[7], accuracy: 1e-3)
        XCTAssertEqual(back.meanspec[100] / ff.meanspec[100], 1, accuracy: 1e-6)
        XCTAssertEqual(back.camera, Camera("r0"))
        let f = try FITSFile.open(path)
        XCTAssertEqual(f.hduNames().prefix(5), ["FIBERFLAT", "IVAR", "MASK", "MEANSPEC", "WAVELENGTH"])
    }

    func testApplyFiberFlatFormulaAndMask() throws {
        let w = [5000.0, 5001, 5002]
        var h = FITSHeader(); h.set("CAMERA", "r0")
        var frame = Frame(wave: w, flux: [10, 20, 30, 40, 50, 60], ivar: [0.25, 0.25, 0, 1, 1, 1], mask: [0, 0, 0, 0, 0, 0], header: h)
        let ff = try FiberFlat(wave: w, flat: [2, 0.5, 1, 1, 0, 4], ivar: [100, 100, 100, 0, 100, 1e4], mask: [0, 0, 0, 0, 0, 0], header: h)
        try applyFiberFlat(&frame, ff)
        XCTAssertEqual(frame.flux[0], 5, accuracy: 1e-6)
        XCTAssertEqual(frame.flux[1], 40, accuracy: 1e-5)
        // 1/ivar' = 1/(ivar C^2) + F^2/(ivar_C C^4) = 1/(0.25*4) + 100/(100*16)
        XCTAssertEqual(Double(frame.ivar[0]), 1 / (1.0 + 100.0 / 1600.0), accuracy: 1e-6)
        XCTAssertEqual(frame.ivar[2], 0)
        XCTAssertEqual(frame.ivar[3], 0)                 // flat ivar 0
        XCTAssertEqual(frame.flux[4], 50)                // flat 0: flux untouched
        XCTAssertNotEqual(frame.mask[3] & SpecMask.badFiberFlat, 0)
        XCTAssertNotEqual(frame.mask[4] & SpecMask.badFiberFlat, 0)
        XCTAssertEqual(frame.mask[0], 0)

        var other = Frame(wave: [5000, 5001, 5003], flux: [1, 1, 1], ivar: [1, 1, 1], mask: [0, 0, 0], header: h)
        XCTAssertThrowsError(try applyFiberFlat(&other, try FiberFlat(wave: w, flat: [1, 1, 1], ivar: [1, 1, 1], header: h))) { e in
            XCTAssertTrue("\(e)".contains("wavelength"), "\(e)")
        }
        var hb = FITSHeader(); hb.set("CAMERA", "b0")
        var blue = Frame(wave: w, flux: [1, 1, 1], ivar: [1, 1, 1], mask: [0, 0, 0], header: hb)
        XCTAssertThrowsError(try applyFiberFlat(&blue, try FiberFlat(wave: w, flat: [1, 1, 1], ivar: [1, 1, 1], header: h))) { e in
            XCTAssertTrue("\(e)".contains("camera"), "\(e)")
        }
    }

    func testAverageFiberFlats() throws {
        let w = [1.0, 2.0]
        let a = try FiberFlat(wave: w, flat: [1.0, 2.0], ivar: [1, 1], mask: [0, 0])
        let b = try FiberFlat(wave: w, flat: [2.0, 4.0], ivar: [3, 1], mask: [0, 4])
        let c = try FiberFlat(wave: w, flat: [5.0, 3.0], ivar: [1, 1], mask: [0, 0])
        let ab = try averageFiberFlats([a, b])
        XCTAssertEqual(ab.flat[0], 1.75, accuracy: 1e-12)     // (1*1 + 3*2)/4
        XCTAssertEqual(ab.flat[1], 2.0, accuracy: 1e-12)      // b masked there
        XCTAssertEqual(ab.ivar[0], 4)
        XCTAssertEqual(ab.mask[1], 0)
        let abc = try averageFiberFlats([a, b, c])
        XCTAssertEqual(abc.flat[0], 2)                         // median of 1, 2, 5
        XCTAssertEqual(abc.flat[1], 2.5)                       // median of unmasked 2, 3
        XCTAssertEqual(abc.ivar[0], 5 * 2 / Double.pi, accuracy: 1e-12)
        XCTAssertThrowsError(try averageFiberFlats([]))
    }
}
