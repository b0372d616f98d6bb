import Foundation
import Plot
import XCTest

/// `desispec plot-fiber` on the demo's production (NightPipelineTests' night), and the fiber pages of the nightly run
/// linked from qa-exposure's page.
extension NightPipelineTests {
    /// The science exposures of the demo (those with cframes) and their folders.
    func scienceExposures(_ prod: String) -> [(expid: Int, dir: String)] {
        let night = "\(prod)/exposures/\(Self.night)"
        let ids = ((try? FileManager.default.contentsOfDirectory(atPath: night)) ?? []).compactMap(Int.init).sorted()
        return ids.map { ($0, "\(night)/" + String(format: "%08d", $0)) }.filter { e in
            ((try? FileManager.default.contentsOfDirectory(atPath: e.dir)) ?? []).contains { $0.hasPrefix("cframe-") }
        }
    }

    /// Every exposure's qa page has the "Fibers to look at" section from the nightly plot-fiber task, and every link of
    /// every QA page resolves to a file.
    func testQAPagesLinkFiberPagesAndEveryLinkResolves() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let qa = root.appendingPathComponent("redux/demo/QA/exposures/\(Self.night)").path
        let expids = try FileManager.default.contentsOfDirectory(atPath: qa).sorted()
        XCTAssertFalse(expids.isEmpty)
        for e in expids {
            let dir = "\(qa)/\(e)"
            let html = try String(contentsOfFile: "\(dir)/qa-\(e).html", encoding: .utf8)
            XCTAssertTrue(html.contains("<h2>Fibers to look at</h2>"), "qa-\(e).html")
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/fibers/fibers-\(e).json"), "exposure \(e)")
            let links = html.components(separatedBy: "href=\"").dropFirst().compactMap { $0.split(separator: "\"").first }
            for l in links where !l.hasPrefix("http") {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/\(l)"), "qa-\(e).html links \(l)")
            }
        }
    }

    /// By hand (the three cframes of a science exposure) and in the production (--night --expid), one PNG per fiber
    /// with every panel drawn; bad requests fail with one line and write nothing.
    func testPlotFiberByHandAndInProduction() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let prod = root.appendingPathComponent("redux/demo").path
        let exposure = try XCTUnwrap(scienceExposures(prod).first)
        let out = try CLIRunner.temporaryDirectory(self).path
        let cframes = Self.cameras.map { "\(exposure.dir)/cframe-\($0)-" + String(format: "%08d", exposure.expid) + ".fits" }
        let byHand = try run(["plot-fiber"] + cframes.flatMap { ["--frame", $0] } + ["--fiber", "3", "-o", "\(out)/hand"])
        XCTAssertEqual(byHand.status, 0, byHand.stderr)
        let page = "\(out)/hand/fiber-3-" + String(format: "%08d", exposure.expid) + ".png"
        let png = try PNGImage(path: page)
        XCTAssertEqual(png.width, 1500)
        // every panel has ink: the cut-out strips, the four line panels, the calibrated spectrum
        let panels = [(80, 80, 1460, 320), (80, 380, 720, 580), (800, 380, 1440, 580), (80, 650, 720, 850),
                      (800, 650, 1440, 850), (80, 920, 1460, 1070)]
        for (k, p) in panels.enumerated() {
            XCTAssertGreaterThan(png.inkFraction(x0: p.0, y0: p.1, x1: p.2, y1: p.3), 0.01, "panel \(k + 1)")
        }
        let inProd = try run(["plot-fiber", "--prod-root", prod, "--night", Self.night, "--expid", String(exposure.expid),
                              "--fiber", "3,5", "-o", "\(out)/prod"])
        XCTAssertEqual(inProd.status, 0, inProd.stderr)
        XCTAssertEqual(CLIRunner.files(in: URL(fileURLWithPath: "\(out)/prod")).filter { $0.hasSuffix(".png") }.count, 2)
        // the same fiber drawn by hand and in the production: the same page
        let again = try PNGImage(path: "\(out)/prod/fiber-3-" + String(format: "%08d", exposure.expid) + ".png")
        XCTAssertEqual(again.pixels, png.pixels)

        let absent = try run(["plot-fiber", "--prod-root", prod, "--night", Self.night, "--expid", String(exposure.expid),
                              "--fiber", "499", "-o", "\(out)/absent"])
        XCTAssertEqual(absent.status, 1)
        XCTAssertTrue(absent.stderr.contains("fiber 499 is in none of the frames"), absent.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/absent"))
        let nothing = try run(["plot-fiber", "--fiber", "3"])
        XCTAssertEqual(nothing.status, 1)
        XCTAssertTrue(nothing.stderr.contains("give --frame"), nothing.stderr)
    }
}
