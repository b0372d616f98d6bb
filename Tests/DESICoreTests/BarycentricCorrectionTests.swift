import DESICore
import FITS
import Foundation
import XCTest

final class BarycentricCorrectionTests: XCTestCase {
    /// astropy's radial_velocity_correction (scripts/make_barycentric_table.py) at 240 (ra, dec, mjd) points over
    /// 2020-2030 and the whole sky, from Kitt Peak as desispec.heliocentric places it: within 1 m/s everywhere.
    func testAgreesWithAstropyWithinOneMetrePerSecond() throws {
        let rows = barycentricAstropyTable.split(separator: "\n").map { $0.split(separator: ",").compactMap { Double($0) } }
        XCTAssertGreaterThanOrEqual(rows.count, 200)
        var worst = 0.0, worstRow: [Double] = []
        for row in rows {
            XCTAssertEqual(row.count, 4)
            let ours = BarycentricCorrection.velocity(ra: row[0], dec: row[1], mjd: row[2])
            let difference = abs(ours - row[3])
            if difference > worst { worst = difference; worstRow = row }
            XCTAssertLessThan(difference, 1.0, "ra \(row[0]) dec \(row[1]) mjd \(row[2]): ours \(ours) astropy \(row[3]) m/s")
        }
        print(String(format: "barycentric correction: max |ours - astropy| = %.4f m/s over %d points (at %@)",
                     worst, rows.count, worstRow.map { String($0) }.joined(separator: ", ")))
    }

    /// The factor is 1 + v/c, and v is of the size of Earth's orbital velocity.
    func testFactorIsOnePlusVelocityOverC() {
        let v = BarycentricCorrection.velocity(ra: 150, dec: 2, mjd: 59_300.2)
        let f = BarycentricCorrection.factor(ra: 150, dec: 2, mjd: 59_300.2)
        XCTAssertEqual(f, 1 + v / 299_792_458, accuracy: 1e-15)
        XCTAssertLessThan(abs(v), 31_000)
    }

    /// desispec's keyword order: TARGTRA before SKYRA, TELRA, RA; MJD-OBS before MJD; mid-exposure from EXPTIME.
    func testHeaderPointingFollowsDesispecOrder() throws {
        var h = FITSHeader()
        h.set("RA", 10.0); h.set("DEC", -5.0); h.set("MJD", 59_000.0)
        var p = try BarycentricCorrection.pointing(h, source: "h")
        XCTAssertEqual(p.ra, 10); XCTAssertEqual(p.dec, -5); XCTAssertEqual(p.mjd, 59_000)
        h.set("TELRA", 11.0); h.set("TELDEC", -6.0)
        h.set("SKYRA", 12.0); h.set("SKYDEC", -7.0)
        h.set("TARGTRA", 13.0); h.set("TARGTDEC", -8.0)
        h.set("MJD-OBS", 59_001.0); h.set("EXPTIME", 1200.0)
        p = try BarycentricCorrection.pointing(h, source: "h")
        XCTAssertEqual(p.ra, 13); XCTAssertEqual(p.dec, -8)
        XCTAssertEqual(p.mjd, 59_001 + 600.0 / 86_400, accuracy: 1e-12)
        XCTAssertEqual(try BarycentricCorrection.factor(header: h, source: "h"),
                       BarycentricCorrection.factor(ra: 13, dec: -8, mjd: p.mjd))
    }

    func testMissingHeaderKeywordsAreNamed() {
        var h = FITSHeader()
        h.set("RA", 10.0); h.set("DEC", -5.0)
        XCTAssertThrowsError(try BarycentricCorrection.pointing(h, source: "img.fits")) { e in
            XCTAssertTrue("\(e)".contains("img.fits") && "\(e)".contains("MJD-OBS, MJD"), "\(e)")
        }
        h.set("MJD", "soon")
        XCTAssertThrowsError(try BarycentricCorrection.pointing(h, source: "img.fits")) { e in
            XCTAssertTrue("\(e)".contains("MJD is not a number"), "\(e)")
        }
    }
}
