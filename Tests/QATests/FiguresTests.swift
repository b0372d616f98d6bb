import DESICore
import Foundation
import Plot
import XCTest

@testable import QA

final class FiguresTests: XCTestCase {
    func outputPath(_ name: String) -> String {
        if let dir = ProcessInfo.processInfo.environment["DESISPEC_TEST_OUT"] { return "\(dir)/\(name)" }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qa-fig-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    func testDiagnosisFigureShowsTheFeatureAndTheAffectedFibersCurve() throws {
        let frame = SyntheticFrames.sframe(nspec: 500, seed: 7) { f, w in
            (50..<100).contains(f) ? 0.6 * exp(-0.5 * pow((w - 6300) / 60, 2)) : 0
        }
        let d = FrameDiagnosis.analyze(frame)
        let path = outputPath("diagnosis.png")
        try Figures.diagnosis(d, frame: frame, title: "r0 test", path: path)
        let png = try PNGImage(path: path)
        XCTAssertEqual(png.width, 1200)
        XCTAssertEqual(png.height, 900)
        // The residual image fills its panel.
        XCTAssertGreaterThan(png.inkFraction(x0: 90, y0: 50, x1: 1070, y1: 460), 0.6)
        // The affected-fibers curve is drawn in red in the lower right panel.
        var red = 0
        for y in 540..<840 { for x in 650..<1130 { let p = png.pixel(x: x, y: y); if p.r > 0.7 && p.g < 0.35 && p.b < 0.35 { red += 1 } } }
        XCTAssertGreaterThan(red, 200)
    }

    func testFrameImageHasTheFrameShapeAndGreyLevels() throws {
        let frame = SyntheticFrames.sframe(nspec: 100, nwave: 400, seed: 2)
        let path = outputPath("frame.png")
        try Figures.frameImage(frame, rebinFactor: 2, title: "sframe r0", path: path)
        let png = try PNGImage(path: path)
        XCTAssertEqual(png.width, 1100)
        let inside = png.pixel(x: 500, y: 200)
        XCTAssertEqual(inside.r, inside.g, accuracy: 0.01, "grey scale")
        XCTAssertGreaterThan(png.inkFraction(x0: 90, y0: 50, x1: 1000, y1: 300), 0.5)
    }
}
