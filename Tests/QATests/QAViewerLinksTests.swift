import DESICore
import Foundation
import XCTest

@testable import QA

/// The QA pages link the viewer pages (`desispec view`) that exist beside them, and nothing when there are none.
final class QAViewerLinksTests: XCTestCase {
    func exposure() throws -> QAExposure {
        let qa: QAValue = .dict([("CAMERA", .string("b0")), ("EXPID", .int(4)), ("NIGHT", .string("20250101")),
                                 ("FLAVOR", .string("science")), ("WARNINGS", .list([]))])
        return try QAExposure(cameraQA: [("b0", qa)])
    }

    func testExposurePageLinksItsPetalsViewersAndOnlyThose() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-qa-view-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for name in ["view-0-00000004.html", "view-3-00000004.html", "view-0-00000005.html", "qa-00000004.html"] {
            FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data())
        }
        let pages = FileLayout.viewerExposurePages(in: dir.path, expid: 4)
        XCTAssertEqual(pages, ["view-0-00000004.html", "view-3-00000004.html"])
        XCTAssertEqual(FileLayout.viewerExposurePage(folder: dir.path, spectrograph: 3, expid: 4),
                       dir.appendingPathComponent("view-3-00000004.html").path)
        let html = HTMLIndex.exposurePage(try exposure(), figures: [], viewers: pages)
        XCTAssert(html.contains("<a class=\"viewer\" href=\"view-0-00000004.html\">"), html)
        XCTAssert(html.contains("<a class=\"viewer\" href=\"view-3-00000004.html\">"), html)
        XCTAssertFalse(html.contains("00000005"))
        XCTAssertFalse(HTMLIndex.exposurePage(try exposure(), figures: []).contains("Spectrum viewer"))
    }

    func testNightPageLinksCoaddAndExposureViewers() throws {
        let night = QANight(night: "20250101", exposures: [try exposure()])
        let html = HTMLIndex.nightPage(night, figures: [], exposurePages: [:], exposureFigures: [:],
                                       exposureViewers: [4: ["exposures/20250101/00000004/view-0-00000004.html"]],
                                       coaddViewers: ["tiles/cumulative/1000/20250101/view-coadd-0-1000-thru20250101.html"])
        XCTAssert(html.contains("href=\"exposures/20250101/00000004/view-0-00000004.html\""), html)
        XCTAssert(html.contains("href=\"tiles/cumulative/1000/20250101/view-coadd-0-1000-thru20250101.html\""), html)
    }

    /// qa-toplevel.html lists every night with a page, links it and its viewer pages, and every link resolves.
    func testProductionIndexLinksEachNightAndItsViewers() throws {
        let prod = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-qa-top-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: prod) }
        let qa = FileLayout.qaDir(specprod: prod)
        let files = ["qa-20250101.html", "qa-20250102.html", "qa-20250101.json", "qa-notanight.html",
                     "exposures/20250101/00000004/view-0-00000004.html", "exposures/20250101/00000004/qa-00000004.html",
                     "tiles/cumulative/1000/20250101/view-coadd-0-1000-thru20250101.html"]
        for f in files {
            try FileManager.default.createDirectory(atPath: ("\(qa)/\(f)" as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(qa)/\(f)", contents: Data())
        }
        let nights = QAProductionIndex.gather(specprod: prod)
        XCTAssertEqual(nights.map(\.night), ["20250101", "20250102"])
        XCTAssertEqual(nights[0].viewers, ["tiles/cumulative/1000/20250101/view-coadd-0-1000-thru20250101.html",
                                           "exposures/20250101/00000004/view-0-00000004.html"])
        XCTAssertEqual(nights[1].viewers, [])
        let path = try QAProductionIndex.write(specprod: prod)
        XCTAssertEqual(path, "\(qa)/qa-toplevel.html")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        let hrefs = html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(hrefs.count, 4)
        for h in hrefs { XCTAssertTrue(FileManager.default.fileExists(atPath: "\(qa)/\(h)"), h) }
    }
}
