import DESICore
import FITS
import Foundation
import Simulation
import XCTest

@testable import Preproc

/// The calibration keys GOODBIASSEC<amp> (overscan columns to use instead of BIASSEC) and READNOISEPERROW (read
/// noise kept per row where a row's overscan is a 4-sigma outlier), as desispec.preproc.preproc.
final class OverscanCalibrationTests: XCTestCase {
    func config(_ values: [String: String]) -> CalibrationConfig {
        CalibrationConfig(values: values, version: "VTEST", path: "test.yaml", directory: "/")
    }

    func testGoodBiasSecAvoidsDamagedOverscanColumns() throws {
        let cam = SimulatedCamera.make(ny: 200, nx: 220, seed: 5)
        var damaged = cam.rawImage
        let biassec = try XCTUnwrap(CCDRegion(section: try XCTUnwrap(damaged.header.string("BIASSECA"))))
        // the first half of amp A's overscan columns read 300 ADU high
        let half = biassec.cols.lowerBound + biassec.cols.count / 2
        for r in biassec.rows { for c in biassec.cols.lowerBound..<half { damaged.data[r * damaged.nx + c] += 300 } }
        var o = PreprocOptions()
        o.nocosmic = true
        let clean = try Preprocessor.run(cam.rawImage, options: o).image
        let bad = try Preprocessor.run(damaged, options: o).image
        let good = CCDRegion(rows: biassec.rows, cols: half..<biassec.cols.upperBound)
        o.calibration = config(["GOODBIASSECA": good.description])
        let fixed = try Preprocessor.run(damaged, options: o)
        let ccd = try XCTUnwrap(CCDRegion(section: try XCTUnwrap(damaged.header.string("CCDSECA"))))
        var worstBad = 0.0, worstFixed = 0.0
        for r in ccd.rows { for c in ccd.cols {
            let i = r * clean.nx + c
            worstBad = max(worstBad, abs(Double(bad.pix[i] - clean.pix[i])))
            worstFixed = max(worstFixed, abs(Double(fixed.image.pix[i] - clean.pix[i])))
        } }
        XCTAssertGreaterThan(worstBad, 50, "the damaged columns move the overscan level")
        // the level from half the columns differs from the clean one by its noise only (about 3 ADU / sqrt(n) x gain)
        XCTAssertLessThan(worstFixed, 1.0)
        XCTAssertEqual(fixed.image.header.string("OMETHA"), "AVERAGE")
        o.calibration = config(["GOODBIASSECA": "[1:2]"])
        XCTAssertThrowsError(try Preprocessor.run(damaged, options: o))
    }

    func testReadnoisePerRowKeepsNoisyRows() throws {
        let cam = SimulatedCamera.make(ny: 200, nx: 220, seed: 6)
        var raw = cam.rawImage
        let biassec = try XCTUnwrap(CCDRegion(section: try XCTUnwrap(raw.header.string("BIASSECA"))))
        let ccd = try XCTUnwrap(CCDRegion(section: try XCTUnwrap(raw.header.string("CCDSECA"))))
        var rng = SimulationRandom(seed: 99)
        let noisyRows = [biassec.rows.lowerBound + 20, biassec.rows.lowerBound + 21]
        for r in noisyRows { for c in biassec.cols { raw.data[r * raw.nx + c] += Float(40 * rng.gaussian()) } }
        var o = PreprocOptions()
        o.nocosmic = true
        o.calibration = config(["READNOISEPERROW": "A"])
        let image = try Preprocessor.run(raw, options: o).image
        XCTAssertEqual(image.header.string("RMETHA"), "PER_ROW")
        XCTAssertEqual(image.header.string("RMETHB"), "AVERAGE")
        let gain = try XCTUnwrap(image.header.double("GAINA"))
        let col = ccd.cols.lowerBound + 3
        let quiet = Double(image.readnoise[(ccd.rows.lowerBound + 60) * image.nx + col])
        XCTAssertEqual(quiet, try XCTUnwrap(image.header.double("OBSRDNA")), accuracy: 1e-4)
        for r in noisyRows {
            let rn = Double(image.readnoise[(ccd.rows.lowerBound + r - biassec.rows.lowerBound) * image.nx + col])
            XCTAssertGreaterThan(rn, 20 * gain, "row \(r) keeps its own, larger read noise")
        }
        o.calibration = config(["READNOISEPERROW": "A,E"])
        XCTAssertThrowsError(try Preprocessor.run(raw, options: o))
    }
}
