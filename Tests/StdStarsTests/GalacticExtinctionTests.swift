import DESICore
import Foundation
import XCTest

@testable import StdStars

/// The Milky Way dust law, its coefficients and the shipped filter curves, against desiutil.dust and speclite.
final class GalacticExtinctionTests: XCTestCase {
    static let wave = [2500.0, 3600, 4000, 5000, 5500, 6500, 8000, 9800, 10000, 12000]

    func testFitzpatrickLawMatchesDesiutil() {
        // desiutil.dust.ext_fitzpatrick(wave) (desiutil in /work/refenv), A(lambda)/A(V) for R_V = 3.1
        let ref = [2.27590036, 1.54503265, 1.42325373, 1.12150099, 0.97779537, 0.77164321, 0.55333671, 0.39037452,
                   0.37687262, 0.27508041]
        let k = GalacticExtinction.fitzpatrick(Self.wave)
        for (a, b) in zip(k, ref) { XCTAssertEqual(a, b, accuracy: 1e-7) }
    }

    func testTransmissionMatchesDesiutil() {
        // desiutil.dust.dust_transmission(wave, 0.1)
        let ref = [0.56420691, 0.67804707, 0.69913313, 0.75425065, 0.78200666, 0.82361696, 0.87009674, 0.90649496,
                   0.90957811, 0.93316233]
        let t = GalacticExtinction.transmission(wave: Self.wave, ebv: 0.1)
        for (a, b) in zip(t, ref) { XCTAssertEqual(a, b, accuracy: 1e-7) }
        XCTAssertEqual(GalacticExtinction.transmission(wave: Self.wave, ebv: 0), [Double](repeating: 1, count: Self.wave.count))
    }

    func testGaiaExtinctionMatchesDesiutil() {
        // desiutil.dust.gaia_extinction(15.0, 15.5, 14.3, 0.15)
        let a = GalacticExtinction.gaia(g: 15.0, bp: 15.5, rp: 14.3, ebv: 0.15)
        XCTAssertEqual(a.g, 0.31965707, accuracy: 1e-7)
        XCTAssertEqual(a.bp, 0.41564165, accuracy: 1e-7)
        XCTAssertEqual(a.rp, 0.23423064, accuracy: 1e-7)
    }

    /// desiutil's R_X table is "consistent with the synthetic magnitudes and dust_transmission": the reddening of a
    /// 7000 K blackbody through each shipped curve divided by E(B-V) reproduces it (checks law, curves and table).
    func testTotalToSelectiveRatiosAgreeWithLawThroughShippedCurves() throws {
        let fs = try FilterSet.shipped()
        let w = stride(from: 2900.0, through: 11000, by: 2).map { $0 }
        let sed = w.map { 1 / pow($0 / 6000, 5) / (exp(143877687.0 / $0 / 7000) - 1) }
        let ebv = 0.1
        let dust = GalacticExtinction.transmission(wave: w, ebv: ebv)
        let red = zip(sed, dust).map(*)
        for ps in ["N", "S"] {
            for b in ["G", "R", "Z"] {
                let r = (try fs.magnitude(b + ps, wave: w, flux: red) - fs.magnitude(b + ps, wave: w, flux: sed)) / ebv
                let table = try GalacticExtinction.totalToSelectiveRatio(band: b, photsys: ps)
                XCTAssertEqual(r, table, accuracy: 0.03, "\(b) \(ps)")
            }
        }
        XCTAssertThrowsError(try GalacticExtinction.totalToSelectiveRatio(band: "G", photsys: "X"))
    }

    func testShippedCurvesNorthAndSouthDiffer() throws {
        let fs = try FilterSet.shipped()
        XCTAssertEqual(fs.filters["GN"]!.name, "BASS-g")
        XCTAssertEqual(fs.filters["ZN"]!.name, "MzLS-z")
        XCTAssertEqual(fs.filters["RS"]!.name, "decam2014-r")
        XCTAssertEqual(fs.filters["GAIA-BP"]!.name, "gaiadr2-BP")
        // a flat f_nu spectrum has the same AB magnitude in every band
        let w = stride(from: 3000.0, through: 11000, by: 0.5).map { $0 }
        let f = w.map { 3631e-23 * pow(10, -0.4 * 17.0) * 2.99792458e18 / ($0 * $0) / 1e-17 }
        for b in ["GN", "RN", "ZN", "GS", "RS", "ZS"] { XCTAssertEqual(try fs.magnitude(b, wave: w, flux: f), 17.0, accuracy: 1e-3) }
        // a red star's g - r differs between BASS and DECam by 0.04 (why PHOTSYS matters); speclite's values (the same
        // 2 A grid through speclite.filters.load_filter(...).get_ab_magnitude): BASS 0.89977, DECam 0.86129
        let cool = w.map { 1 / pow($0 / 6000, 5) / (exp(143877687.0 / $0 / 4500) - 1) }
        let grN = try fs.magnitude("GN", wave: w, flux: cool) - fs.magnitude("RN", wave: w, flux: cool)
        let grS = try fs.magnitude("GS", wave: w, flux: cool) - fs.magnitude("RS", wave: w, flux: cool)
        print("4500 K blackbody g-r: BASS \(grN), DECam \(grS)")
        XCTAssertEqual(grN, 0.89977, accuracy: 1e-3)
        XCTAssertEqual(grS, 0.86129, accuracy: 1e-3)
    }
}
