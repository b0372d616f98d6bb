import DESICore
import FITS
import Foundation
import LinearAlgebra
import TestSupport
import XCTest

@testable import StdStars

/// Standards behind Milky Way dust, with northern and southern photometry, over one or two exposures.
final class ReddenedStandardsTests: XCTestCase {
    static let templates = StellarTemplates.synthetic()

    /// Six standards on grid nodes, EBV 0.02-0.2, PHOTSYS alternating N and S.
    static func stars(_ t: StellarTemplates) -> [SimulatedExposure.Star] {
        func index(_ teff: Double, _ logg: Double, _ feh: Double) -> Int {
            (0..<t.count).first { t.teff[$0] == teff && t.logg[$0] == logg && t.feh[$0] == feh }!
        }
        let p: [(Double, Double, Double, Double, Double)] = [(5500, 4.5, -1.0, 1e-4, 0.02), (6000, 4.0, -1.5, -1e-4, 0.05),
                                                             (6500, 4.5, -0.5, 2e-4, 0.08), (6000, 4.5, -1.0, 0, 0.12),
                                                             (6500, 4.0, -1.5, -2e-4, 0.16), (5500, 4.0, -0.5, 1e-4, 0.20)]
        return p.enumerated().map { (i, v) in
            SimulatedExposure.Star(template: index(v.0, v.1, v.2), redshift: v.3, rmag: 16.8 + 0.1 * Double(i), ebv: v.4,
                                   photsys: i % 2 == 0 ? "N" : "S")
        }
    }

    /// Mean of model / truth over a wavelength range, for the star of `fiber`.
    static func ratio(_ m: StdStarModels, _ k: Int, _ sim: SimulatedExposure, _ lo: Double, _ hi: Double) -> Double {
        let fiber = m.fibers[k]
        let truth = Interpolation.linear(x: sim.trueWave, y: sim.trueFlux[fiber], at: m.wave)
        let model = m.model(k)
        var a = 0.0, b = 0.0
        for j in 0..<m.wave.count where m.wave[j] >= lo && m.wave[j] <= hi { a += model[j]; b += truth[j] }
        return a / b
    }

    func testReddenedNorthSouthStandardsGetReddenedModels() throws {
        let t = Self.templates
        let fs = try FilterSet.shipped()
        let stars = Self.stars(t)
        let sim = try SimulatedExposure.make(templates: t, filters: fs, stars: stars, nscience: 1, seed: 5)
        var opt = StdStarOptions()
        opt.zRes = 5e-5
        let models = try StdStarFitter.fit(frames: sim.frames, templates: t, filters: fs, options: opt)
        opt.correctExtinction = false
        let plain = try StdStarFitter.fit(frames: sim.frames, templates: t, filters: fs, options: opt)
        XCTAssertEqual(models.fibers.sorted(), Array(0..<stars.count))
        let teff = models.metadata["TEFF"]!.data.doubles!
        for (k, fiber) in models.fibers.enumerated() {
            let s = stars[fiber]
            XCTAssertEqual(teff[k], t.teff[s.template], accuracy: 250, "fiber \(fiber) Teff")
            // normalised to the observed r magnitude through the star's own curve
            XCTAssertEqual(try fs.magnitude("R" + s.photsys, wave: models.wave, flux: models.model(k)), s.rmag, accuracy: 0.01)
            // the model is the reddened star: its blue-to-red shape follows the truth within 2.5% (measured: 2.2% at worst,
            // EBV 0.2; the template mixture of the synthetic grid)
            let blue = Self.ratio(models, k, sim, 3800, 5000), red = Self.ratio(models, k, sim, 8000, 9500)
            let kp = plain.fibers.firstIndex(of: fiber)!
            let pblue = Self.ratio(plain, kp, sim, 3800, 5000), pred = Self.ratio(plain, kp, sim, 8000, 9500)
            print(String(format: "fiber %d EBV %.2f %@: model/truth blue/red %.4f with extinction, %.4f without",
                         fiber, s.ebv, s.photsys, blue / red, pblue / pred))
            XCTAssertEqual(blue / red, 1, accuracy: 0.025, "fiber \(fiber)")
            // unreddened models are too blue: A(3800-5000) - A(8000-9500) is about 1.8 EBV mag, partly absorbed by a
            // cooler template chosen from the reddened colour (measured 0.73-2.4 EBV here)
            if s.ebv >= 0.08 { XCTAssertGreaterThan(pblue / pred - 1, 0.6 * s.ebv, "fiber \(fiber) without extinction") }
        }
    }

    func testTwoExposuresGiveOneModelPerStar() throws {
        let t = Self.templates
        let fs = try FilterSet.shipped()
        let stars = Self.stars(t)
        let e1 = try SimulatedExposure.make(templates: t, filters: fs, stars: stars, nscience: 1, seed: 5, expid: 101)
        // the second exposure is 30% less transparent and has its own noise
        let e2 = try SimulatedExposure.make(templates: t, filters: fs, stars: stars, nscience: 1, seed: 6, expid: 102,
                                            calibrationScale: 0.7)
        var opt = StdStarOptions()
        opt.zRes = 5e-5
        var notes: [String] = []
        let joint = try StdStarFitter.fit(frames: e1.frames + e2.frames, templates: t, filters: fs, options: opt,
                                          warn: { notes.append($0) })
        XCTAssertEqual(joint.count, stars.count, "one model per star")
        XCTAssertEqual(Set(joint.fibers).count, stars.count)
        XCTAssertEqual(joint.inputFrames.rowCount, 6)
        XCTAssertEqual(Set(joint.inputFrames["EXPID"]!.data.ints!), [101, 102])
        // weights are the relative throughputs: 1/0.85 and 0.7/0.85
        let w = notes.first { $0.contains("arm r") }
        XCTAssertNotNil(w, "\(notes)")
        XCTAssertTrue(w!.contains("1.17") && w!.contains("0.82"), w!)
        let teff = joint.metadata["TEFF"]!.data.doubles!
        for (k, fiber) in joint.fibers.enumerated() {
            XCTAssertEqual(teff[k], t.teff[stars[fiber].template], accuracy: 250)
            XCTAssertEqual(try fs.magnitude("R" + stars[fiber].photsys, wave: joint.wave, flux: joint.model(k)), stars[fiber].rmag,
                           accuracy: 0.01)
        }
        // two frames of one camera and one exposure are an error
        XCTAssertThrowsError(try StdStarFitter.fit(frames: e1.frames + [e1.frames[0]], templates: t, filters: fs)) { e in
            XCTAssertTrue("\(e)".contains("more than one frame of camera b0 for exposure 101"), "\(e)")
        }
    }

    func testUnknownPhotsysIsAnError() throws {
        let t = Self.templates
        let fs = try FilterSet.shipped()
        let sim = try SimulatedExposure.make(templates: t, filters: fs, stars: Array(Self.stars(t).prefix(2)), nscience: 1,
                                             noise: false, arms: [.b, .r])
        var frames = sim.frames
        for i in 0..<frames.count { frames[i].fibermap!.table["PHOTSYS"] = FITSColumn("PHOTSYS", .string(["S", "X", "S"])) }
        XCTAssertThrowsError(try StdStarFitter.fit(frames: frames, templates: t, filters: fs)) { e in
            XCTAssertTrue("\(e)".contains("unknown PHOTSYS 'X' of fiber 1"), "\(e)")
        }
        // northern photometry with a filter folder lacking the northern curves
        let dir = NSTemporaryDirectory() + "filters-s-only-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for n in ["decam2014-g", "decam2014-r", "decam2014-z", "gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP"] {
            try FilterCurve.shipped(n).writeECSV("\(dir)/\(n).ecsv")
        }
        let south = try FilterSet.load(directory: dir)
        XCTAssertNil(south.filters["GN"])
        XCTAssertThrowsError(try StdStarFitter.fit(frames: sim.frames, templates: t, filters: south)) { e in
            XCTAssertTrue("\(e)".contains("filter GN is not loaded"), "\(e)")
        }
    }
}
