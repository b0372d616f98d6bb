import DESICore
import Foundation
import XCTest

@testable import Pipeline

/// The drivers pass each camera's average flux calibration of the calibration folder to fluxcalib (desispec finds it
/// in DESI_SPECTRO_CALIB), so a petal whose standards cannot be fitted gets the fallback instead of failing.
final class AverageFluxCalibrationTaskTests: XCTestCase {
    func testFluxCalibTasksGetTheAverageCalibrationOfTheirCameraWhenTheFolderHasIt() throws {
        let dir = NSTemporaryDirectory() + "calib-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // only r0 has one
        let r0 = "\(dir)/\(FileLayout.averageFluxCalibrationFileName(camera: "r0"))"
        XCTAssertEqual((r0 as NSString).lastPathComponent, "fluxcalib-r0.fits")
        FileManager.default.createFile(atPath: r0, contents: Data())
        let cams = TaskGraphTests.cams
        let exposures = [
            ExposureInfo(night: "20250101", expid: 1, flavor: "arc", cameras: cams, tile: nil),
            ExposureInfo(night: "20250101", expid: 2, flavor: "flat", cameras: cams, tile: nil),
            ExposureInfo(night: "20250101", expid: 3, flavor: "science", cameras: cams, tile: 1000),
        ]
        let g = try TaskGraph.night("20250101", exposures: exposures, layout: TaskGraphTests.layout,
                                    options: NightOptions(inputPSFDir: dir))
        let fluxcalib = g.tasks.filter { $0.type == .fluxcalib }
        XCTAssertEqual(fluxcalib.count, 3)
        for t in fluxcalib {
            if t.unit == "r0" {
                XCTAssertEqual(Array(t.arguments.suffix(2)), ["--average-fluxcalib", r0])
                XCTAssertTrue(t.inputs.contains(r0))
            } else {
                XCTAssertFalse(t.arguments.contains("--average-fluxcalib"), t.name)
            }
        }
        // a calibration folder without average calibrations: no fallback input
        let empty = NSTemporaryDirectory() + "calib-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let bare = try TaskGraph.night("20250101", exposures: exposures, layout: TaskGraphTests.layout,
                                       options: NightOptions(inputPSFDir: empty))
        XCTAssertFalse(bare.tasks.contains { $0.arguments.contains("--average-fluxcalib") })
    }
}
