import DESICore
import Foundation
import XCTest

@testable import QA

final class FrameMetricsTests: XCTestCase {
    func testSkyResidualMetricsOfPureNoise() throws {
        let frame = SyntheticFrames.sframe(nspec: 200, nwave: 800, sigma: 2.0, seed: 3)
        let sky = frame.fibermap!.rows(objtype: "SKY")
        let m = FrameMetrics.skyResiduals(sframe: frame, skyRows: sky)
        XCTAssertEqual(m["NSKY_FIB"]?.int, 20)
        XCTAssertEqual(m["MED_RESID"]?.double ?? 99, 0, accuracy: 0.03)
        let per = try XCTUnwrap(m["RESID_PER"]?.list?.compactMap(\.double))
        // 2.5th and 97.5th percentiles of N(0, 2): -/+ 3.92
        XCTAssertEqual(per[0], -3.92, accuracy: 0.12)
        XCTAssertEqual(per[1], 3.92, accuracy: 0.12)
        XCTAssertEqual(m["CHI2PDF"]?.double ?? 0, 1, accuracy: 0.03)
        // About 5% of fibers are below p = 0.05 by chance; never most of them.
        XCTAssertLessThanOrEqual(m["NBAD_PCHI"]?.int ?? 99, 4)
        let hist = try XCTUnwrap(m["DEVS_1D"]?.list?.compactMap(\.int))
        XCTAssertEqual(hist.reduce(0, +), 20 * 800)
    }

    func testSkyResidualMetricsSeeABadSkyModel() {
        let frame = SyntheticFrames.sframe(nspec: 200, nwave: 800, sigma: 1.0, seed: 4) { f, _ in f % 10 == 0 ? 0.5 : 0 }
        let m = FrameMetrics.skyResiduals(sframe: frame, skyRows: frame.fibermap!.rows(objtype: "SKY"))
        XCTAssertEqual(m["MED_RESID"]?.double ?? 0, 0.5, accuracy: 0.05)
        XCTAssertEqual(m["NBAD_PCHI"]?.int, 20)
    }

    func testZeroPointOfAKnownCalibration() {
        // A calibration of 1 e-/A per 1e-17 erg/s/cm2/A over 1 s at 6500 A: f_nu = 1e-17 * 6500^2 / c.
        let zp = FrameMetrics.zeroPoint(exptime: 1, wave: [6500], calib: [1])
        let expected = -2.5 * log10(1e-17 * 6500 * 6500 / 2.9979e18) - 48.6
        XCTAssertEqual(zp[0], expected, accuracy: 1e-12)
    }

    func testFluxCalibrationMetricsFindTheDiscrepantStar() throws {
        let nwave = 100, wave = (0..<nwave).map { 6400 + Double($0) * 2 }
        var calib = [Float](repeating: 10, count: 5 * nwave)
        for j in 0..<nwave { calib[3 * nwave + j] = 12 }   // star in row 3 is 20% high: 0.198 mag
        let m = FrameMetrics.fluxCalibration(exptime: 100, arm: .r, wave: wave, calib: calib,
                                             frameIvar: [Float](repeating: 1, count: 5 * nwave), stdRows: [0, 1, 3],
                                             fibers: [500, 501, 502, 503, 504])
        let zp = FrameMetrics.zeroPoint(exptime: 100, wave: [6500], calib: [10])[0]
        XCTAssertEqual(m["ZP"]?.double ?? 0, zp, accuracy: 0.01)
        let off = try XCTUnwrap(m["MAX_ZP_OFF"]?.list)
        XCTAssertEqual(off[0].double ?? 0, 2.5 * log10(1.2), accuracy: 1e-6)   // more electrons per flux: a larger ZP
        XCTAssertEqual(off[1].int, 503)
        XCTAssertEqual(m["NSTARS_FIBER"]?.int, 3)
    }

    func testFiberFlatMetricsFindTheWorstFiber() throws {
        let nspec = 10, nwave = 50
        var flat = [Float](repeating: 1, count: nspec * nwave)
        for j in 0..<nwave { flat[4 * nwave + j] = j % 2 == 0 ? 1.1 : 0.9 }   // rms 0.1 in fiber 4
        let meanspec = [Float](repeating: 1000, count: nwave)
        let flux = flat.map { $0 * 1000 }
        let m = FrameMetrics.fiberFlat(frameFlux: flux, flat: flat, flatMask: [UInt32](repeating: 0, count: nspec * nwave),
                                       meanSpectrum: meanspec, nspec: nspec, nwave: nwave)
        let rms = try XCTUnwrap(m["MAX_RMS"]?.list)
        XCTAssertEqual(rms[0].double ?? 0, 0.1, accuracy: 1e-5)
        XCTAssertEqual(rms[1].int, 4)
        XCTAssertEqual(m["MAX_OFF"]?.double ?? 0, 0.1, accuracy: 1e-5)
        XCTAssertEqual(m["MAX_MEANSPEC"]?.double, 1000)
        XCTAssertTrue((m["WARNINGS"]?.list ?? []).contains { $0.string?.contains("MAX_RMS") == true })
    }

    func testJSONAndYAMLOutput() {
        let v = QAValue.dict([("ZP", .double(26.5)), ("NAME", .string("r\"0")), ("L", .ints([1, 2])), ("SUB", .dict([("A", .bool(true))]))])
        XCTAssertEqual(v.json(), "{\n  \"ZP\": 26.5,\n  \"NAME\": \"r\\\"0\",\n  \"L\": [1, 2],\n  \"SUB\": {\n    \"A\": true\n  }\n}")
        XCTAssertEqual(v.yaml(), "ZP: 26.5\nNAME: \"r\\\"0\"\nL: [1, 2]\nSUB:\n  A: true\n")
    }
}
