import DESICore
import FITS
import Foundation
import XCTest

/// `desispec view`: the page of a frame holds one data chunk per fiber and the fibermap's TARGETIDs; bad inputs
/// give one line naming the file, a non-zero exit and no page.
final class ViewCommandTests: XCTestCase {
    func testViewOfAFrameWritesOnePageWithEveryFiber() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(sframe, nspec: 30, nwave: 200, seed: 7)
        let out = dir.appendingPathComponent("view.html").path
        let r = try CLIRunner.run(["view", sframe, "--qa-link", "qa-00000042.html", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "type=\"application/octet-stream\"").count - 1, 30)
        let frame = try Frame.read(sframe, skipResolution: true)
        for tid in try XCTUnwrap(frame.fibermap?.targetIDs) { XCTAssert(html.contains("\"targetid\":\"\(tid)\""), "TARGETID \(tid)") }
        XCTAssert(html.contains("qa-00000042.html"))
        XCTAssertEqual(CLIRunner.files(in: dir), ["sframe-r0-00000042.fits", "view.html"])
    }

    func testBadInputsGiveOneLineAndNoPage() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let missing = dir.appendingPathComponent("cframe-b0-00000001.fits").path
        let out = dir.appendingPathComponent("view.html").path
        let r = try CLIRunner.run(["view", missing, "-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssert(r.stderr.contains(missing) && r.stderr.contains("no such file"), r.stderr)

        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(sframe, nspec: 5, nwave: 50)
        let txt = try CLIRunner.run(["view", sframe, "-o", dir.appendingPathComponent("view.txt").path])
        XCTAssertNotEqual(txt.status, 0)
        XCTAssert(txt.stderr.contains("must end in .html"), txt.stderr)
        XCTAssertEqual(CLIRunner.files(in: dir), ["sframe-r0-00000042.fits"])
    }
}
