import DESICore
import XCTest

@testable import PSF

/// The arc line lists shipped with the PSF module: the measured one is the default of `desispec psf` (no silent
/// fallback to the built-in 46 lines) and the same file as the shared test data's.
final class ArcLineListTests: XCTestCase {
    func testTheMeasuredListIsShippedAndIsTheDefault() throws {
        let m = try ArcLamps.measured()
        XCTAssertEqual(m.count, 159)
        XCTAssertEqual(m.first?.wavelength ?? 0, 3611.5375, accuracy: 1e-9)
        XCTAssertTrue(m.contains { abs($0.wavelength - 7034.352) < 1e-6 })
        let d = try ArcLamps.resolve(nil)
        XCTAssertTrue(d.source.hasSuffix("arclines/arc-lines-average-in-vacuum.fits"), d.source)
        XCTAssertEqual(d.lines, m)
        if let shared = try? testDataPath(ArcLamps.measuredListPath) {
            XCTAssertEqual(FileManager.default.contents(atPath: shared), FileManager.default.contents(atPath: d.source))
        }
    }

    func testTheSpecexListAndFilesByName() throws {
        let s = try ArcLamps.resolve("specex")
        XCTAssertTrue(s.source.hasSuffix("specex_linelist.txt"))
        XCTAssertTrue(s.lines.contains { $0.wavelength == 5462.268 })
        XCTAssertGreaterThan(s.lines.count, 100)
        XCTAssertThrowsError(try ArcLamps.resolve("/nonexistent/list.fits")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/list.fits"), "\(e)")
        }
    }
}
