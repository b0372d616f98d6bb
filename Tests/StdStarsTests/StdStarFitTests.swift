import DESICore
import FITS
import Foundation
import LinearAlgebra
import TestSupport
import XCTest

@testable import StdStars

final class StdStarFitTests: XCTestCase {
    static let templates = StellarTemplates.synthetic()
    static let filters = FilterSet.builtin()

    func testResampleFluxConservesFluxAndMatchesLinearFunction() {
        let x = stride(from: 0.0, through: 100, by: 0.5).map { $0 }
        let y = x.map { 2 + 0.1 * $0 }
        let xo = stride(from: 10.0, through: 90, by: 1.3).map { $0 }
        let r = Interpolation.resampleFlux(xout: xo, x: x, flux: y)
        // the mean of a linear function over a symmetric bin is its value at the centre (interior bins)
        for j in 1..<(xo.count - 1) { XCTAssertEqual(r[j], 2 + 0.1 * xo[j], accuracy: 1e-9) }
        // zero outside the input range
        let out = Interpolation.resampleFlux(xout: [200, 201, 202], x: x, flux: y)
        XCTAssertEqual(out, [0, 0, 0])
    }

    func testMedianFilterZeroPaddedMatchesBruteForce() {
        var g = SplitMix64(seed: 3)
        let x = (0..<300).map { _ in g.uniform() }
        for size in [5, 200, 40] {
            let fast = Smoothing.medianFilter(x, size: size, boundary: .constant(0))
            for i in stride(from: 0, to: 300, by: 7) {
                var w = (0..<size).map { k -> Double in let j = i - size / 2 + k; return (j >= 0 && j < 300) ? x[j] : 0 }
                w.sort()
                XCTAssertEqual(fast[i], w[size / 2], "size \(size) index \(i)")
            }
        }
    }

    func testABMagnitudeOfFlatFnuSpectrum() throws {
        // f_nu = 3631 Jy * 10^(-0.4 m) gives magnitude m in any band
        let w = stride(from: 3000.0, through: 11000, by: 1).map { $0 }
        let m = 18.3
        let f = w.map { 3631e-23 * pow(10, -0.4 * m) * 2.99792458e18 / ($0 * $0) / 1e-17 }
        for band in ["GS", "RS", "ZS"] {
            XCTAssertEqual(try Self.filters.magnitude(band, wave: w, flux: f), m, accuracy: 1e-3)
        }
        // Gaia bands carry the Vega-AB offset
        XCTAssertEqual(try Self.filters.magnitude("GAIA-G", wave: w, flux: f), m - 0.1001113078, accuracy: 1e-3)
    }

    func testRealFilterCurvesWhenAvailable() throws {
        let dir = (ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"] ?? "../shared/data") + "/filters"
        guard FileManager.default.fileExists(atPath: dir + "/decam2014-r.ecsv") else {
            throw XCTSkip("DECam/Gaia filter curves not found under \(dir) (set DESISPEC_TESTDATA)")
        }
        let fs = try FilterSet.load(directory: dir)
        XCTAssertEqual(fs.filters["RS"]!.wave.first!, 3330, accuracy: 1e-6)   // nm converted to Angstrom
        let w = stride(from: 3000.0, through: 11000, by: 0.5).map { $0 }
        let f = w.map { 3631e-23 * pow(10, -0.4 * 17.0) * 2.99792458e18 / ($0 * $0) / 1e-17 }
        for b in ["GS", "RS", "ZS"] { XCTAssertEqual(try fs.magnitude(b, wave: w, flux: f), 17.0, accuracy: 1e-3) }
    }

    func testFitRecoversTemperatureAndRedshift() throws {
        let t = Self.templates
        // three stars on grid nodes, with radial velocities of -60, +30, +90 km/s
        func index(_ teff: Double, _ logg: Double, _ feh: Double) -> Int {
            (0..<t.count).first { t.teff[$0] == teff && t.logg[$0] == logg && t.feh[$0] == feh }!
        }
        let stars = [SimulatedExposure.Star(template: index(5500, 4.5, -1.0), redshift: -2.0e-4, rmag: 17.0),
                     SimulatedExposure.Star(template: index(6000, 4.0, -1.5), redshift: 1.0e-4, rmag: 17.3),
                     SimulatedExposure.Star(template: index(6500, 4.5, -0.5), redshift: 3.0e-4, rmag: 16.8)]
        let sim = try SimulatedExposure.make(templates: t, filters: Self.filters, stars: stars, nscience: 1, seed: 7)
        var opt = StdStarOptions()
        opt.zRes = 5e-5
        let models = try StdStarFitter.fit(frames: sim.frames, templates: t, filters: Self.filters, options: opt)
        // ordered by blue S/N as desispec does
        XCTAssertEqual(models.fibers.sorted(), [0, 1, 2])
        let teff = models.metadata["TEFF"]!.data.doubles!, z = models.metadata["REDSHIFT"]!.data.doubles!
        for (k, fiber) in models.fibers.enumerated() {
            let s = stars[fiber]
            print("fiber \(fiber): TEFF \(teff[k]) (true \(t.teff[s.template])), z \(z[k]) (true \(s.redshift))")
            XCTAssertEqual(teff[k], t.teff[s.template], accuracy: 300, "star \(k) Teff")
            XCTAssertEqual(z[k], s.redshift, accuracy: 1e-4, "star \(k) redshift")
            // normalised to the r magnitude of the fibermap
            let m = try Self.filters.magnitude("RS", wave: models.wave, flux: models.model(k))
            XCTAssertEqual(m, s.rmag, accuracy: 0.01)
        }
        // write and read back
        let path = NSTemporaryDirectory() + "stdstars-test-\(ProcessInfo.processInfo.processIdentifier).fits"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try models.write(path)
        let back = try StdStarModels.read(path)
        XCTAssertEqual(back.fibers, models.fibers)
        XCTAssertEqual(back.flux[100], models.flux[100], accuracy: abs(models.flux[100]) * 1e-6)
        XCTAssertEqual(back.metadata["TEFF"]!.data.doubles!, teff)
    }

    func testErrorsOnBadInput() throws {
        let t = Self.templates
        let sim = try SimulatedExposure.make(templates: t, filters: Self.filters,
                                             stars: [.init(template: 10, redshift: 0, rmag: 17)], nscience: 1, noise: false, arms: [.b, .r])
        // no standard star
        var frames = sim.frames
        for i in 0..<frames.count { frames[i].fibermap!.table["DESI_TARGET"] = FITSColumn("DESI_TARGET", .int64([1, 1])) }
        XCTAssertThrowsError(try StdStarFitter.fit(frames: frames, templates: t, filters: Self.filters)) { e in
            XCTAssertTrue("\(e)".contains("no standard star"), "\(e)")
        }
        // different spectrographs
        frames = sim.frames
        frames[1].header.set("CAMERA", "r3")
        XCTAssertThrowsError(try StdStarFitter.fit(frames: frames, templates: t, filters: Self.filters)) { e in
            XCTAssertTrue("\(e)".contains("different spectrographs"), "\(e)")
        }
    }
}
