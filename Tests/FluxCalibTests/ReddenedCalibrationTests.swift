import DESICore
import FITS
import Foundation
import LinearAlgebra
import StdStars
import TestSupport
import XCTest

@testable import FluxCalib

/// The stdstars + fluxcalib chain on reddened standards with northern and southern photometry, and the fallback.
final class ReddenedCalibrationTests: XCTestCase {
    static let templates = StellarTemplates.synthetic()

    /// Ten standards on grid nodes, EBV 0.02-0.2, PHOTSYS N for the first five, S for the others; two science fibers.
    static func simulate(seed: UInt64 = 21) throws -> SimulatedExposure {
        let t = templates
        let nodes: [(Double, Double, Double)] = [(5500, 4.5, -1.0), (6000, 4.0, -1.5), (6500, 4.5, -0.5), (6000, 4.5, -1.0),
                                                 (6500, 4.0, -1.5), (5500, 4.0, -0.5), (6000, 4.5, -0.5), (6500, 4.5, -1.0),
                                                 (5500, 4.5, -1.5), (6000, 4.0, -1.0)]
        let stars = nodes.enumerated().map { (i, v) -> SimulatedExposure.Star in
            let idx = (0..<t.count).first { t.teff[$0] == v.0 && t.logg[$0] == v.1 && t.feh[$0] == v.2 }!
            return SimulatedExposure.Star(template: idx, redshift: 1e-4 * Double(i % 5 - 2), rmag: 16.7 + 0.08 * Double(i),
                                          ebv: 0.02 + 0.02 * Double(i), photsys: i < 5 ? "N" : "S")
        }
        return try SimulatedExposure.make(templates: t, filters: FilterSet.shipped(), stars: stars, nscience: 2, seed: seed,
                                          scienceLevel: 30)
    }

    /// Mean and rms of the calibration / truth - 1 in 10 A bins of one camera.
    static func bias(_ cal: FluxCalibration, truth: [Double]) -> (mean: Double, rms: Double) {
        let mean = cal.meanCalib!
        var rel: [Double] = []
        for b in stride(from: 20, to: cal.nwave - 32, by: 12) {
            let r = b..<(b + 12)
            guard r.allSatisfy({ cal.ivar[$0] > 0 }) else { continue }
            rel.append(r.map { mean[$0] }.reduce(0, +) / r.map { truth[$0] }.reduce(0, +) - 1)
        }
        return (Statistics.mean(rel), (rel.map { $0 * $0 }.reduce(0, +) / Double(rel.count)).squareRoot())
    }

    func testExtinctionRemovesTheChromaticBiasOfTheCalibration() throws {
        let sim = try Self.simulate()
        let fs = try FilterSet.shipped()
        var opt = StdStarOptions()
        opt.zRes = 5e-5
        let models = try StdStarFitter.fit(frames: sim.frames, templates: Self.templates, filters: fs, options: opt)
        opt.correctExtinction = false
        let plain = try StdStarFitter.fit(frames: sim.frames, templates: Self.templates, filters: fs, options: opt)
        XCTAssertEqual(models.count, 10)
        let level = 1 / (sim.stdRows.map { 1 / sim.throughput[$0] }.reduce(0, +) / Double(sim.stdRows.count))
        var withDust: [Double] = [], without: [Double] = []
        for (c, frame) in sim.frames.enumerated() {
            let truth = sim.calibration[c].map { $0 * level }
            let a = Self.bias(try computeFluxCalibration(frame: frame, modelWave: models.wave, modelFlux: models.flux,
                                                         modelFibers: models.fibers), truth: truth)
            let b = Self.bias(try computeFluxCalibration(frame: frame, modelWave: plain.wave, modelFlux: plain.flux,
                                                         modelFibers: plain.fibers), truth: truth)
            print(String(format: "camera %@: calibration bias %+.4f rms %.4f with extinction; bias %+.4f rms %.4f without",
                         frame.camera!.name, a.mean, a.rms, b.mean, b.rms))
            XCTAssertLessThan(abs(a.mean), 0.01, "camera \(frame.camera!.name) with extinction")
            XCTAssertLessThan(a.rms, 0.015, "camera \(frame.camera!.name) with extinction")
            withDust.append(a.mean); without.append(b.mean)
        }
        // without extinction the calibration is chromatic: the unreddened models are too blue, so b is calibrated
        // low against z by several percent (EBV 0.11 on average); with it the b-z difference is below 1%
        print(String(format: "b - z calibration bias: %+.4f with extinction, %+.4f without", withDust[0] - withDust[2],
                     without[0] - without[2]))
        XCTAssertLessThan(abs(withDust[0] - withDust[2]), 0.01)
        XCTAssertLessThan(without[0] - without[2], -0.05)
    }

    func testFallbackWhenTooFewStarsAreUsable() throws {
        let sim = try Self.simulate(seed: 3)
        let frame = sim.frames[1]
        let mw = sim.trueWave, mf = sim.stdRows.flatMap { sim.trueFlux[$0] }
        // the camera's average calibration: the true one, 1.4 times too high, with an airmass term
        let truth = sim.calibration[1]
        let average = AverageFluxCalibration(wave: frame.wave, averageCalib: truth.map { $0 * 1.4 },
                                             atmosphericExtinction: [Double](repeating: 0.1, count: frame.nwave),
                                             seeingTerm: [Double](repeating: 0, count: frame.nwave))
        let path = NSTemporaryDirectory() + "fluxcalib-average-\(ProcessInfo.processInfo.processIdentifier).fits"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try average.write(path)
        let back = try AverageFluxCalibration.read(path)
        XCTAssertEqual(back.averageCalib[100], average.averageCalib[100], accuracy: 1e-4 * average.averageCalib[100])
        XCTAssertEqual(back.pivotSeeing, 1.1)
        // three of the ten standards removed; a policy that needs eight
        let seven = Array(sim.stdRows.dropFirst(3))
        var opt = FluxCalibOptions()
        opt.minStars = 8
        XCTAssertThrowsError(try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: sim.stdRows,
                                                        standardFibers: seven, options: opt)) { e in
            XCTAssertTrue("\(e)".contains("7 usable standard(s) < 8") && "\(e)".contains("--average-fluxcalib"), "\(e)")
        }
        let cal = try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: sim.stdRows,
                                             standardFibers: seven, options: opt, fallback: back)
        XCTAssertEqual(cal.header.bool(fluxCalibFallbackKey), true)
        XCTAssertEqual(cal.header.string("FCFBWHY"), "7 usable standard(s) < 8")
        // the scale brings the average back to the truth times the stars' mean throughput (median of ratios)
        let thr = Statistics.median(seven.map { sim.throughput[$0] })
        XCTAssertEqual(cal.header.double("FCFBSCAL")!, thr / 1.4, accuracy: 0.01 * thr / 1.4)
        let k = frame.nwave / 2
        XCTAssertEqual(Double(cal.calib[k]), truth[k] * thr, accuracy: 0.01 * truth[k] * thr)
        XCTAssertEqual(Double(cal.ivar[k]), 1 / Double(cal.calib[k] * cal.calib[k]), accuracy: 1e-3 / Double(cal.calib[k] * cal.calib[k]))
        XCTAssertTrue(cal.mask.allSatisfy { $0 == 1 }, "desispec masks the fallback calibration")
        // the airmass of the header enters through the extinction term
        var high = frame
        high.header.set("AIRMASS", 1.5)
        let calHigh = try computeFluxCalibration(frame: high, modelWave: mw, modelFlux: mf, modelFibers: sim.stdRows,
                                                 standardFibers: seven, options: opt, fallback: back)
        // the scale refits the level: the result is the same calibration
        XCTAssertEqual(Double(calHigh.calib[k]), Double(cal.calib[k]), accuracy: 1e-3 * Double(cal.calib[k]))
        // with the default policy (desispec fits with one star or more) the seven stars are fitted
        let fitted = try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: sim.stdRows,
                                                standardFibers: seven, fallback: back)
        XCTAssertEqual(fitted.header.bool(fluxCalibFallbackKey), false)
        XCTAssertEqual(fitted.stdstarFibermap?.count, 7)
    }

    func testColourCutAllowsForReddening() throws {
        let wave = stride(from: 3000.0, through: 11000, by: 100).map { $0 }
        let meta = FITSTable(columns: [
            FITSColumn("MODEL_G-R", .double([0.30, 0.30, 0.30])),
            FITSColumn("DATA_G-R", .double([0.32, 0.05, 0.05])),
        ])
        let models = StdStarModels(wave: wave, flux: [Double](repeating: 1, count: 3 * wave.count), fibers: [4, 7, 9],
                                   metadata: meta, coefficients: [], ntemplates: 0, fibermap: nil, inputFrames: FITSTable())
        let fm = Fibermap(table: FITSTable(columns: [FITSColumn("FIBER", .int32([4, 7, 9])), FITSColumn("EBV", .float([0.1, 0.1, 0.3]))]))
        // |dcolor| 0.02, 0.25 and 0.25: the third passes thanks to 0.2 * EBV = 0.06
        let (kept, notes) = try selectCalibrationStars(models, frameFibermap: fm, deltaColorCut: 0.2)
        XCTAssertEqual(kept, [0, 2])
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].hasPrefix("fiber 7"), notes[0])
        XCTAssertEqual(try selectCalibrationStars(models, frameFibermap: fm, deltaColorCut: 0).kept, [0, 1, 2])
    }
}
