import DESICore
import FITS
import Foundation
import Viewer
import XCTest

/// The viewer's page holds exactly the values of the files it was given: every float of every target, packed as
/// float32 base64 and decoded here as the page's script decodes it; the sky overlay in flux units; the quality grade
/// only where the fibermap has it; the redshift and the model where given; clear errors for bad inputs.
final class ViewerPageTests: XCTestCase {

    func decodeFloats(_ b64: String) throws -> [Float] {
        let data = try XCTUnwrap(Data(base64Encoded: b64))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func decodeDoubles(_ b64: String) throws -> [Double] {
        let data = try XCTUnwrap(Data(base64Encoded: b64))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    /// The text of <script id="ID" ...>...</script> in the page.
    func scriptText(_ html: String, id: String) throws -> String {
        let start = try XCTUnwrap(html.range(of: "<script id=\"\(id)\""), "no script \(id)")
        let open = try XCTUnwrap(html[start.upperBound...].range(of: ">"))
        let close = try XCTUnwrap(html[open.upperBound...].range(of: "</script>"))
        return String(html[open.upperBound..<close.lowerBound])
    }

    func meta(_ html: String) throws -> [String: Any] {
        let text = try scriptText(html, id: "viewer-meta")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func page(_ inputs: ViewerInputs) throws -> (doc: ViewerDocument, html: String) {
        let doc = try inputs.document(title: "test page", links: [(text: "QA", href: "qa-00000004.html")])
        return (doc, try ViewerPage.html(doc, resources: try ViewerResources.load()))
    }

    func testCframesWithSkyAndCalibrationPackEveryValueExactly() throws {
        let dir = try ViewerFixtures.temporaryDirectory(self)
        let p = try ViewerFixtures.writeExposure(dir)
        let files = ["cframe-b0", "cframe-r0", "sky-b0", "sky-r0", "fluxcalib-b0", "fluxcalib-r0"].map { p[$0]! }
        let (doc, html) = try page(ViewerInputs(files: files))
        XCTAssertEqual(doc.grids.map(\.name), ["b0", "r0"])
        XCTAssertEqual(doc.targets.count, ViewerFixtures.nspec)
        let m = try meta(html)
        let grids = try XCTUnwrap(m["grids"] as? [[String: Any]])
        XCTAssertEqual(try decodeDoubles(try XCTUnwrap(grids[0]["wave"] as? String)), ViewerFixtures.waveB)
        XCTAssertEqual(try decodeDoubles(try XCTUnwrap(grids[1]["wave"] as? String)), ViewerFixtures.waveR)
        let targets = try XCTUnwrap(m["targets"] as? [[String: Any]])
        for fiber in 0..<ViewerFixtures.nspec {
            XCTAssertEqual(targets[fiber]["targetid"] as? String, String(39_600_000_000_000 + fiber))
            XCTAssertEqual(targets[fiber]["fiber"] as? Int, fiber)
            // the chunk: per camera flux, ivar, sky (in flux units: sky / calibration, NaN where it is zero)
            let values = try decodeFloats(try scriptText(html, id: "chunk-\(fiber)"))
            var expected: [Float] = []
            for (camera, wave) in [("b0", ViewerFixtures.waveB), ("r0", ViewerFixtures.waveR)] {
                expected += wave.indices.map { ViewerFixtures.fluxValue(fiber, $0, camera: camera) }
                expected += wave.indices.map { ViewerFixtures.ivarValue(fiber, $0) }
                expected += wave.indices.map { j in
                    let c = ViewerFixtures.calibValue(fiber, j)
                    return c == 0 ? .nan : Float(ViewerFixtures.skyValue(fiber, j)) / c
                }
            }
            XCTAssertEqual(values.count, expected.count)
            for (a, b) in zip(values, expected) {
                XCTAssert(a == b || (a.isNaN && b.isNaN), "fiber \(fiber): packed \(a), file \(b)")
            }
            // the quality grade and reasons of the fibermap (grade = fiber % 6)
            XCTAssertEqual(targets[fiber]["grade"] as? Int, fiber % 6)
            XCTAssertEqual(targets[fiber]["reasons"] as? String, fiber % 6 < 3 ? "low S/N; sky residual" : "")
        }
        let row = try XCTUnwrap(targets[2]["row"] as? [[String]])
        XCTAssert(row.contains(["OBJTYPE", "SKY"]), "\(row)")
        XCTAssert(row.contains(["FIBER_X", "3"]), "\(row)")
        let links = try XCTUnwrap(m["links"] as? [[String: String]])
        XCTAssertEqual(links, [["text": "QA", "href": "qa-00000004.html"]])
    }

    func testNoQualityColumnsNoGrade() throws {
        let dir = try ViewerFixtures.temporaryDirectory(self)
        let p = try ViewerFixtures.writeExposure(dir, quality: false)
        let (_, html) = try page(ViewerInputs(files: [p["cframe-b0"]!]))
        let targets = try XCTUnwrap(try meta(html)["targets"] as? [[String: Any]])
        XCTAssertEqual(targets.count, ViewerFixtures.nspec)
        XCTAssert(targets.allSatisfy { $0["grade"] == nil && $0["reasons"] == nil })
        // no sky file: flux and ivar only
        XCTAssertEqual(try decodeFloats(try scriptText(html, id: "chunk-0")).count, 2 * ViewerFixtures.waveB.count)
    }

    func testCoaddWithModelAndRedrock() throws {
        let dir = try ViewerFixtures.temporaryDirectory(self)
        let coadd = dir.appendingPathComponent("coadd-0-1000-thru20250101.fits").path
        let model = dir.appendingPathComponent("model.fits").path
        let redrock = dir.appendingPathComponent("redrock-0-1000-thru20250101.fits").path
        try ViewerFixtures.writeSpectra(coadd, quality: true)
        try ViewerFixtures.writeSpectra(model, scale: 2)
        try ViewerFixtures.writeRedrock(redrock)
        let (doc, html) = try page(ViewerInputs(files: [coadd], redrock: redrock, model: model))
        XCTAssertEqual(doc.grids.map(\.name), ["b", "r"])
        let targets = try XCTUnwrap(try meta(html)["targets"] as? [[String: Any]])
        for fiber in 0..<ViewerFixtures.nspec {
            XCTAssertEqual(try XCTUnwrap(targets[fiber]["z"] as? Double), 0.1 * Double(fiber + 1), accuracy: 1e-12)
            XCTAssertEqual(targets[fiber]["spectype"] as? String, fiber == 1 ? "QSO" : "GALAXY")
            let values = try decodeFloats(try scriptText(html, id: "chunk-\(fiber)"))
            var expected: [Float] = []
            for (band, wave) in [("b", ViewerFixtures.waveB), ("r", ViewerFixtures.waveR)] {
                let f = wave.indices.map { ViewerFixtures.fluxValue(fiber, $0, camera: band) }
                expected += f + wave.indices.map { ViewerFixtures.ivarValue(fiber, $0) } + f.map { 2 * $0 }
            }
            XCTAssertEqual(values, expected, "fiber \(fiber)")
        }
    }

    func testBadInputsNameTheFileAndWriteNothing() throws {
        let dir = try ViewerFixtures.temporaryDirectory(self)
        let p = try ViewerFixtures.writeExposure(dir)
        func message(_ inputs: ViewerInputs) -> String {
            do { _ = try inputs.document(title: "x"); return "" } catch { return "\(error)" }
        }
        let orphan = message(ViewerInputs(files: [p["cframe-b0"]!, p["sky-r0"]!]))
        XCTAssert(orphan.contains(p["sky-r0"]!) && orphan.contains("no frame of that camera"), orphan)
        let noCalib = message(ViewerInputs(files: [p["cframe-b0"]!, p["sky-b0"]!]))
        XCTAssert(noCalib.contains(p["sky-b0"]!) && noCalib.contains("fluxcalib"), noCalib)
        let missing = dir.appendingPathComponent("nothere.fits").path
        XCTAssert(message(ViewerInputs(files: [missing])).contains("\(missing): no such file"))
        let onlyCalib = message(ViewerInputs(files: [p["fluxcalib-b0"]!]))
        XCTAssert(onlyCalib.contains("no spectra"), onlyCalib)
    }

    func testPageEmbedsDygraphsWithoutSourceMapAndOneScriptPerChunk() throws {
        let dir = try ViewerFixtures.temporaryDirectory(self)
        let p = try ViewerFixtures.writeExposure(dir)
        let (_, html) = try page(ViewerInputs(files: [p["cframe-b0"]!, p["cframe-r0"]!]))
        XCTAssert(html.contains("@license https://github.com/danvk/dygraphs/blob/v2.2.1/LICENSE.txt (MIT)"))
        XCTAssertFalse(html.contains("sourceMappingURL"))
        for remote in ["src=\"http", "href=\"http", "url(http"] {
            XCTAssertFalse(html.contains(remote), "the page must load nothing from elsewhere (\(remote))")
        }
        // dygraphs, the metadata, one chunk per target, the viewer's script
        XCTAssertEqual(html.components(separatedBy: "</script>").count - 1, 3 + ViewerFixtures.nspec)
    }

    /// An executable with no resources beside it (a copy of it elsewhere) finds them in the source tree it was built
    /// from; DESISPEC_VIEWER_RESOURCES comes first; a folder without them is no candidate.
    func testResourcesFoundFromACopiedExecutable() throws {
        let empty = try ViewerFixtures.temporaryDirectory(self)
        let found = try ViewerResources.folder(environment: [:], executableFolders: [empty])
        XCTAssertTrue(found.hasSuffix("Sources/Viewer/Resources"), found)
        let loaded = try ViewerResources.load(from: found)
        XCTAssertTrue(loaded.dygraphsJS.contains("Dygraph"))
        XCTAssertFalse(loaded.viewerBody.isEmpty)
        let chosen = try ViewerResources.folder(environment: ["DESISPEC_VIEWER_RESOURCES": found], executableFolders: [empty])
        XCTAssertEqual(chosen, found)
        let elsewhere = try ViewerResources.folder(environment: ["DESISPEC_VIEWER_RESOURCES": empty.path], executableFolders: [empty])
        XCTAssertEqual(elsewhere, found)
    }
}
