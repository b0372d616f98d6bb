import DESICore
import FITS
import Foundation
import LinearAlgebra
import StdStars
import TestSupport
import XCTest

@testable import FluxCalib

final class FluxCalibrationTests: XCTestCase {
    static let templates = StellarTemplates.synthetic()
    static let filters = FilterSet.builtin()

    /// Five standards and two science fibers in b, r, z.
    func simulate(arms: [Camera.Arm] = [.b, .r, .z]) throws -> SimulatedExposure {
        let stars = [(3, -1e-4, 16.9), (9, 5e-5, 17.2), (14, 2e-4, 17.0), (20, 0.0, 16.7), (26, -2e-4, 17.4)].map {
            SimulatedExposure.Star(template: $0.0, redshift: $0.1, rmag: $0.2)
        }
        return try SimulatedExposure.make(templates: Self.templates, filters: Self.filters, stars: stars, nscience: 2,
                                          seed: 11, scienceLevel: 30, arms: arms)
    }

    /// The true models of the standards on the template grid, as a stdstars file would hold them.
    func trueModels(_ sim: SimulatedExposure) -> (wave: [Double], flux: [Double], fibers: [Int]) {
        (sim.trueWave, sim.stdRows.flatMap { sim.trueFlux[$0] }, sim.stdRows)
    }

    func testCalibrationVectorRecoveredWithinOnePercent() throws {
        let sim = try simulate()
        let (mw, mf, fibers) = trueModels(sim)
        for (c, frame) in sim.frames.enumerated() {
            let cal = try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: fibers)
            XCTAssertEqual(cal.nspec, frame.nspec); XCTAssertEqual(cal.nwave, frame.nwave)
            // the truth convolved by each fiber's resolution, normalised as the calibration is
            // the fit cannot separate the calibration from the stars' mean throughput: its level is the
            // harmonic mean of the standards' throughputs (desispec's normalisation of the scales)
            let level = 1 / (sim.stdRows.map { 1 / sim.throughput[$0] }.reduce(0, +) / Double(sim.stdRows.count))
            let truth = sim.calibration[c].map { $0 * level }
            var rel: [Double] = []
            let mean = cal.meanCalib!
            // in 10 A bins: the per-pixel noise of the deconvolved fit (about 1.5% per pixel here) averages down
            for b in stride(from: 20, to: frame.nwave - 32, by: 12) {
                let r = b..<(b + 12)
                guard r.allSatisfy({ cal.ivar[$0] > 0 }) else { continue }
                rel.append(r.map { mean[$0] }.reduce(0, +) / r.map { truth[$0] }.reduce(0, +) - 1)
            }
            // the overall level absorbs the mean of the per-fiber throughputs; compare the shape and the level
            let rms = (rel.map { $0 * $0 }.reduce(0, +) / Double(rel.count)).squareRoot()
            print("camera \(frame.camera!): calibration rms relative difference \(rms), mean \(Statistics.mean(rel))")
            XCTAssertLessThan(rms, 0.01, "camera \(frame.camera!)")
            XCTAssertGreaterThan(cal.ivar.filter { $0 > 0 }.count, frame.nspec * frame.nwave / 2)
        }
    }

    func testCFrameOfScienceFibersMatchesTruth() throws {
        let sim = try simulate()
        let (mw, mf, fibers) = trueModels(sim)
        let level = 1 / (sim.stdRows.map { 1 / sim.throughput[$0] }.reduce(0, +) / Double(sim.stdRows.count))
        for frame in sim.frames {
            let cal = try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: fibers,
                                                 standardFibers: fibers)
            var cframe = frame
            try applyFluxCalibration(&cframe, cal)
            XCTAssertEqual(cframe.header.string("BUNIT"), "10**-17 erg/(s cm2 Angstrom)")
            let nw = frame.nwave
            for s in 5..<7 {
                // truth convolved with this fiber's resolution, compared in 20-pixel bins (noise averaged down)
                let res = frame.resolution!
                let rd = Array(res.data[(s * res.ndiag * nw)..<((s + 1) * res.ndiag * nw)]).map { Double($0) }
                let trueFlux = Interpolation.resampleFlux(xout: frame.wave, x: sim.trueWave, flux: sim.trueFlux[s])
                let t = ResolutionData.apply(diagonals: rd, ndiag: res.ndiag, to: trueFlux)
                var rel: [Double] = []
                for b in stride(from: 20, to: nw - 40, by: 20) {
                    var sf = 0.0, st = 0.0
                    for j in b..<(b + 20) { sf += Double(cframe.flux[s * nw + j]); st += t[j] }
                    rel.append(sf / st - 1)
                }
                let rms = (rel.map { $0 * $0 }.reduce(0, +) / Double(rel.count)).squareRoot()
                // this fiber's own throughput is not known to the calibration: take it out
                let thr = sim.throughput[s] / level
                let rel2 = rel.map { ($0 + 1) / thr - 1 }
                let rms2 = (rel2.map { $0 * $0 }.reduce(0, +) / Double(rel2.count)).squareRoot()
                let wi = rel2.indices.max { abs(rel2[$0]) < abs(rel2[$1]) }!
                print("camera \(frame.camera!) fiber \(s): cframe / truth rms \(rms2) worst \(rel2[wi]) at bin \(wi) "
                      + "of \(rel2.count) \(rel2.prefix(4)) \(rel2.suffix(4))")
                XCTAssertLessThan(rms2, 0.02)
            }
        }
    }

    /// The calibration from the resolution read fiber by fiber out of the frame file (`StoredResolution`, what
    /// `desispec fluxcalib` uses) is the one from the resolution in memory, bit for bit.
    func testStoredResolutionGivesTheSameCalibration() throws {
        let sim = try simulate(arms: [.z])
        let (mw, mf, fibers) = trueModels(sim)
        let path = NSTemporaryDirectory() + "frame-fluxcalib-stored-\(ProcessInfo.processInfo.processIdentifier).fits"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try sim.frames[0].write(to: path)
        let stored = try XCTUnwrap(try Frame.storedResolution(path).flatMap(StoredResolution.init))
        let expected = try computeFluxCalibration(frame: try Frame.read(path), modelWave: mw, modelFlux: mf, modelFibers: fibers)
        let got = try computeFluxCalibration(frame: try Frame.read(path, skipResolution: true), resolution: stored,
                                             modelWave: mw, modelFlux: mf, modelFibers: fibers)
        XCTAssertEqual(got.calib.map(\.bitPattern), expected.calib.map(\.bitPattern))
        XCTAssertEqual(got.ivar.map(\.bitPattern), expected.ivar.map(\.bitPattern))
    }

    func testWriteReadRoundTrip() throws {
        let sim = try simulate(arms: [.r])
        let (mw, mf, fibers) = trueModels(sim)
        let cal = try computeFluxCalibration(frame: sim.frames[0], modelWave: mw, modelFlux: mf, modelFibers: fibers)
        let path = NSTemporaryDirectory() + "fluxcalib-test-\(ProcessInfo.processInfo.processIdentifier).fits"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try cal.write(path, provenance: ["desispec-swift test"])
        let back = try FluxCalibration.read(path)
        XCTAssertEqual(back.calib, cal.calib)
        XCTAssertEqual(back.ivar, cal.ivar)
        XCTAssertEqual(back.wave.count, cal.wave.count)
        XCTAssertEqual(back.header.string("BUNIT"), "10**+17 cm2 count s / erg")
        XCTAssertEqual(back.stdstarFibermap?.count, 5)
        XCTAssertEqual(back.fiberCorr?["PSF_TO_FIBER_FLUX"]?.data.doubles, [Double](repeating: 1, count: 7))
    }

    func testErrors() throws {
        let sim = try simulate(arms: [.r])
        let (mw, mf, fibers) = trueModels(sim)
        let frame = sim.frames[0]
        // no standard among the models
        XCTAssertThrowsError(try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: fibers,
                                                        standardFibers: [5, 6])) { e in
            XCTAssertTrue("\(e)".contains("no standard star"), "\(e)")
        }
        // mismatched wavelength grid
        let cal = try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: fibers)
        var shifted = frame
        shifted.wave = frame.wave.map { $0 + 0.4 }
        XCTAssertThrowsError(try applyFluxCalibration(&shifted, cal)) { e in
            XCTAssertTrue("\(e)".contains("different wavelength grids"), "\(e)")
        }
        // model flux of the wrong size
        XCTAssertThrowsError(try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: Array(mf.dropLast()), modelFibers: fibers))
    }

    func testApplyFluxCalibrationPropagatesVariance() throws {
        var f = Frame(wave: [5000, 5001], flux: [10, 20], ivar: [4, 0], mask: [0, 0])
        let c = FluxCalibration(wave: [5000, 5001], calib: [2, 4], ivar: [100, 100], mask: [0, 0])
        try applyFluxCalibration(&f, c)
        XCTAssertEqual(f.flux, [5, 5])
        // ivar' = C^4 ivar ivarC / (C^2 ivarC + F^2 ivar) = 16*4*100/(4*100 + 100*4) = 8
        XCTAssertEqual(f.ivar[0], 8, accuracy: 1e-5)
        XCTAssertEqual(f.ivar[1], 0)
    }
}
