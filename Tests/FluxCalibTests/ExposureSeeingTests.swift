import DESICore
import FITS
import XCTest

@testable import FluxCalib

/// The exposure's seeing for the fiber-acceptance corrections: SEEING, else PMSEEING, else 1.1" with a warning
/// (desispec.scripts.qproc's order); an explicit value wins; unusable values (0, negative, NaN) are not seeing.
final class ExposureSeeingTests: XCTestCase {
    func testSeeingComesFromTheHeaderThenThePlatemakerThenTheDefault() {
        var h = FITSHeader()
        h.set("SEEING", 0.85); h.set("PMSEEING", 1.3)
        var s = ExposureSeeing.fwhm(header: h)
        XCTAssertEqual(s.fwhm, 0.85); XCTAssertEqual(s.source, "header SEEING"); XCTAssertNil(s.warning)
        h.set("SEEING", 0.0)
        s = ExposureSeeing.fwhm(header: h)
        XCTAssertEqual(s.fwhm, 1.3); XCTAssertEqual(s.source, "header PMSEEING"); XCTAssertNil(s.warning)
        h.set("SEEING", Double.nan); h.set("PMSEEING", -1.0)
        s = ExposureSeeing.fwhm(header: h)
        XCTAssertEqual(s.fwhm, 1.1); XCTAssertEqual(s.source, "default")
        XCTAssertTrue(s.warning?.contains("no seeing recorded") == true)
        s = ExposureSeeing.fwhm(header: FITSHeader())
        XCTAssertEqual(s.fwhm, ExposureSeeing.defaultFWHM); XCTAssertNotNil(s.warning)
        h.set("SEEING", 0.85)
        s = ExposureSeeing.fwhm(header: h, explicit: 1.6)
        XCTAssertEqual(s.fwhm, 1.6); XCTAssertEqual(s.source, "--seeing-fwhm"); XCTAssertNil(s.warning)
    }
}
