import Foundation
import XCTest

@testable import Plot

final class PlotTests: XCTestCase {
    func tmp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plot-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    func testLinePlotDrawsTheCurveWhereTheScaleSaysAndLabels() throws {
        let canvas = Canvas(width: 640, height: 400)
        let axes = Axes(canvas: canvas)
        let x = (0...100).map { Double($0) }
        axes.setLimits(x: (0, 100), y: (-1, 1))
        axes.plot(x: x, y: x.map { _ in 0.5 }, color: .red, lineWidth: 3, label: "flat at 0.5")
        axes.decorate(xLabel: "Wavelength [A]", yLabel: "Flux", title: "test")
        let path = tmp("line.png")
        try canvas.writePNG(path)
        let png = try PNGImage(path: path)
        XCTAssertEqual(png.width, 640)
        XCTAssertEqual(png.height, 400)
        // The red line at y = 0.5 sits 1/4 of the way down the data area.
        let yLine = Int(axes.py(0.5).rounded())
        let mid = png.pixel(x: Int(axes.px(30)), y: yLine)
        XCTAssertGreaterThan(mid.r, 0.7); XCTAssertLessThan(mid.g, 0.4)
        XCTAssertLessThan(png.pixel(x: Int(axes.px(30)), y: Int(axes.py(-0.5))).r + 0.0, 1.01)
        XCTAssertEqual(png.pixel(x: Int(axes.px(30)), y: Int(axes.py(-0.5))), .white)
        // Labels put ink below and left of the data area.
        XCTAssertGreaterThan(png.inkFraction(x0: Int(axes.left), y0: Int(axes.top + axes.height + 2),
                                             x1: Int(axes.left + axes.width), y1: 400), 0.005)
        XCTAssertGreaterThan(png.inkFraction(x0: 0, y0: Int(axes.top), x1: Int(axes.left) - 2, y1: Int(axes.top + axes.height)), 0.005)
    }

    func testImageUsesTheColormapAndRowZeroAtTheBottom() throws {
        let canvas = Canvas(width: 300, height: 300)
        let axes = Axes(canvas: canvas, left: 50, top: 20, width: 200, height: 200)
        // 2 rows: bottom row (row 0) low values, top row high.
        let values: [Float] = [0, 0, 10, 10]
        axes.image(values, rows: 2, columns: 2, extent: (0, 2, 0, 2), range: (0, 10), colormap: .gray)
        let path = tmp("image.png")
        try canvas.writePNG(path)
        let png = try PNGImage(path: path)
        XCTAssertEqual(png.pixel(x: 100, y: 200), .black)   // bottom half
        XCTAssertEqual(png.pixel(x: 100, y: 50), .white)    // top half
    }

    func testTicksAreNiceNumbersInsideTheRange() {
        XCTAssertEqual(Axes.ticks((5760, 7620)), [6000, 6500, 7000, 7500])
        XCTAssertEqual(Axes.ticks((0, 1)), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        XCTAssertEqual(Axes.ticks((0.013, 0.047)), [0.02, 0.03, 0.04])
        XCTAssertEqual(Axes.ticks((-3, 3)), [-2, 0, 2])
    }

    func testZScaleIgnoresOutliersLikeDS9() {
        // Gaussian-ish background around 100 with sigma ~5, plus a few very bright pixels.
        var values = [Float]()
        var state: UInt64 = 12345
        for i in 0..<20000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Double(state >> 11) / Double(1 << 53)
            values.append(Float(100 + 5 * (u - 0.5) * 3.46))   // uniform with sigma 5
            if i % 997 == 0 { values.append(50000) }
        }
        values.append(.nan)
        let (lo, hi) = ZScale.limits(values)
        XCTAssertGreaterThan(lo, 85); XCTAssertLessThan(lo, 100)
        XCTAssertGreaterThan(hi, 100); XCTAssertLessThan(hi, 115)
    }

    func testUnwritablePathIsAClearError() {
        let canvas = Canvas(width: 10, height: 10)
        XCTAssertThrowsError(try canvas.writePNG("/proc/nope/x.png")) { e in
            XCTAssertTrue("\(e)".contains("/proc/nope/x.png"), "\(e)")
        }
    }
}
