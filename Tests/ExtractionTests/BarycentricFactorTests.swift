import DESICore
import FITS
import Foundation
import XCTest
@testable import Extraction

final class BarycentricFactorTests: XCTestCase {
    private func image(_ header: FITSHeader) -> Image {
        Image(ny: 1, nx: 1, pix: [0], ivar: [1], mask: [0], readnoise: [1], header: header)
    }

    /// As desispec: the image header when it has RA or TARGTRA, else the FIBERMAP header (early commissioning).
    func testImageHeaderFirstThenTheFibermapHeader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bary-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fibermapPath = dir.appendingPathComponent("fibermap.fits").path
        var fibermapHeader = FITSHeader()
        fibermapHeader.set("TARGTRA", 200.0); fibermapHeader.set("TARGTDEC", 10.0); fibermapHeader.set("MJD-OBS", 59_500.3)
        try Fibermap(table: FITSTable(columns: [FITSColumn("FIBER", .int32([0, 1]))])).write(to: fibermapPath, header: fibermapHeader)

        var own = FITSHeader()
        own.set("RA", 20.0); own.set("DEC", -10.0); own.set("MJD-OBS", 59_600.1); own.set("EXPTIME", 600.0)
        let fromImage = try ExtractionWavelengths.barycentricFactor(image: image(own), imagePath: "img", fibermapPath: fibermapPath)
        XCTAssertEqual(fromImage, BarycentricCorrection.factor(ra: 20, dec: -10, mjd: 59_600.1 + 300.0 / 86_400))

        var timeOnly = FITSHeader()
        timeOnly.set("MJD-OBS", 59_600.1)
        let fromFibermap = try ExtractionWavelengths.barycentricFactor(image: image(timeOnly), imagePath: "img",
                                                                      fibermapPath: fibermapPath)
        XCTAssertEqual(fromFibermap, BarycentricCorrection.factor(ra: 200, dec: 10, mjd: 59_500.3))

        XCTAssertThrowsError(try ExtractionWavelengths.barycentricFactor(image: image(timeOnly), imagePath: "img",
                                                                         fibermapPath: nil)) { e in
            XCTAssertTrue("\(e)".contains("RA or TARGTRA"), "\(e)")
        }
    }
}
