import Foundation
import XCTest

@testable import DESICore

final class ProgressLineTests: XCTestCase {
    func testTextGivesTheFractionAndTheTimeLeftFromTheMeanRate() {
        XCTAssertEqual(ProgressLine.text(label: "extraction", done: 0, total: 500, elapsed: 1), "extraction: 0% (0/500)")
        // 125 of 500 in 10 s: 375 more at 0.08 s each
        XCTAssertEqual(ProgressLine.text(label: "extraction", done: 125, total: 500, elapsed: 10),
                       "extraction: 25% (125/500), 30 s left")
        XCTAssertEqual(ProgressLine.text(label: "night", done: 10, total: 110, elapsed: 60), "night: 9% (10/110), 10 min left")
        XCTAssertEqual(ProgressLine.text(label: "x", done: 4, total: 4, elapsed: 3), "x: 100% (4/4), 0 s left")
    }

    func testNothingIsShownWhenNotAsked() {
        let p = ProgressLine("trace shifts", total: 10, show: false)
        XCTAssertFalse(p.isShown)
        p.advance(by: 3); p.finish()   // no output, no crash
        XCTAssertFalse(ProgressLine("empty", total: 0, show: true).isShown)
    }
}
