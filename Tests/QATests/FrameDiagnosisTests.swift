import DESICore
import Foundation
import XCTest

@testable import QA

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

    /// Bright stars (steep continua, the Balmer jump, Balmer absorption lines of 30% depth) in neighbouring fibers of
    /// a blue-camera frame are objects, not residuals: the frame stays clean, and a sky defect across their block
    /// is still found in the other fibers.
    static func stars(_ f: Int, _ w: Double) -> Double {
        guard [20, 21, 23, 24, 26, 70, 72, 73].contains(f) else { return 0 }
        let amplitude = 10 + 5 * Double(f % 4)
        var flux = amplitude * pow(w / 4500, -2.5) * (w < 3646 ? 0.6 : 1)   // the Balmer jump
        for line in [3889.0, 3970, 4102, 4341, 4862] { flux *= 1 - 0.3 * exp(-0.5 * pow((w - line) / 8, 2)) }
        return flux
    }

    func testBrightStarsInNeighbouringFibersAreNotResiduals() {
        let frame = SyntheticFrames.sframe(nspec: 150, nwave: 2900, wave0: 3600, seed: 5, defect: Self.stars)
        let d = FrameDiagnosis.analyze(frame)
        XCTAssertFalse(d.flagged, d.features.map(\.summary).joined(separator: "\n"))
    }

    func testSkyDefectAcrossABlockWithBrightStarsIsFound() throws {
        let frame = SyntheticFrames.sframe(nspec: 500, nwave: 2900, wave0: 3600, seed: 6) { f, w in
            Self.stars(f, w) + ((50..<100).contains(f) ? -0.6 * exp(-0.5 * pow((w - 5000) / 60, 2)) : 0)
        }
        let d = FrameDiagnosis.analyze(frame)
        XCTAssertEqual(d.features.count, 1, d.features.map(\.summary).joined(separator: "\n"))
        let f = try XCTUnwrap(d.features.first)
        XCTAssertEqual(f.sign, -1)
        let found = Set(f.fibers)
        XCTAssertGreaterThanOrEqual(found.intersection(50..<100).count, 45, "most of the block's fibers are found")
        XCTAssertEqual(found.subtracting(50..<100).count, 0, "no fiber outside the block")
        XCTAssertLessThan(abs((f.waveMin + f.waveMax) / 2 - 5000), 40)
        XCTAssertEqual(f.alignment, "wavelength")
        XCTAssertTrue(f.groupsBy50)
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
