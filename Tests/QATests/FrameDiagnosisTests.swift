import DESICore
import Foundation
@testable import QA
import XCTest

final class FrameDiagnosisTests: XCTestCase {
    func testCleanFrameIsNotFlagged() {
        for seed in [1, 2, 3] as [UInt64] {
            let d = FrameDiagnosis.analyze(SyntheticFrames.sframe(nspec: 500, seed: seed))
            XCTAssertFalse(d.flagged, "seed \(seed): \(d.features.map(\.summary))")
        }
    }

    /// The data-QA case: a sky model with a broad dip in one group of fibers leaves a broad excess at fixed
    /// wavelength in exactly those fibers' sframes.
    func testBroadSkyDefectInABlockOfFibersIsFoundWithItsFibersAndWavelengths() throws {
        let frame = SyntheticFrames.sframe(nspec: 500, seed: 7) { f, w in
            (50..<100).contains(f) ? 0.6 * exp(-0.5 * pow((w - 6300) / 60, 2)) : 0
        }
        let d = FrameDiagnosis.analyze(frame)
        XCTAssertEqual(d.features.count, 1, d.features.map(\.summary).joined(separator: "\n"))
        let f = try XCTUnwrap(d.features.first)
        XCTAssertEqual(f.sign, 1)
        let found = Set(f.fibers)
        XCTAssertGreaterThanOrEqual(found.intersection(50..<100).count, 45, "most of the 50 fibers are found")
        XCTAssertEqual(found.subtracting(50..<100).count, 0, "no fiber outside the block")
        XCTAssertLessThan(abs((f.waveMin + f.waveMax) / 2 - 6300), 40)
        XCTAssertGreaterThan(f.waveMax - f.waveMin, 100)
        XCTAssertLessThan(f.waveMax - f.waveMin, 400)
        XCTAssertEqual(f.alignment, "wavelength")
        XCTAssertTrue(f.groupsBy50)
        XCTAssertEqual(f.blocks, [1])
        XCTAssertEqual(f.focalPlaneClustered, true)
        XCTAssertTrue(f.summary.contains("sky-model or calibration problem"), f.summary)
        XCTAssertEqual(d.qaValue["FLAGGED"]?.bool, true)
    }

    /// A CCD-level feature sits at fixed CCD rows; with curved traces it moves in wavelength from fiber to fiber.
    func testFeatureAlongCCDRowsIsToldApartFromAWavelengthFeature() throws {
        // Toy traces: row = (w - 5760) / 0.6 + 0.04 (i - 75)^2.
        let row: (Int, Double) -> Double = { i, w in (w - 5760) / 0.6 + 0.04 * pow(Double(i - 260), 2) }
        let frame = SyntheticFrames.sframe(nspec: 500, seed: 11) { i, w in
            (215..<335).contains(i) && abs(row(i, w) - 900) < 60 ? -0.7 : 0
        }
        let d = FrameDiagnosis.analyze(frame, ccdRow: row)
        let f = try XCTUnwrap(d.features.first, "the feature is found")
        XCTAssertEqual(f.sign, -1)
        XCTAssertEqual(f.alignment, "ccd-rows", f.summary)
        XCTAssertFalse(f.groupsBy50)
        XCTAssertLessThan(f.centroidSpreadRows ?? 99, 15)
        XCTAssertGreaterThan(f.centroidSpreadWave, 20, "the feature moves in wavelength across fibers")
    }
}
