import FITS
import Foundation
import XCTest

/// Header cards of every kind survive a write and a read, doubles exactly.
final class FITSHeaderTests: XCTestCase {
    func testHeaderRoundTrip() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("hdr.fits").path
        let long = String(repeating: "abcdefghij", count: 9) + " /end with 'quote'"   // > 68 characters
        var h = FITSHeader()
        h.set("CAMERA", "r0", comment: "Spectrograph Camera")
        h.set("QUOTED", "it's a 'test'")
        h.set("LEADSP", "  two spaces")
        h.set("EMPTY", "")
        h.set("LONGSTR", long)
        h.set("EXPID", 51060)
        h.set("BIGINT", 9_007_199_254_740_993)
        h.set("NEGINT", -42)
        h.set("TENTH", 0.1)
        h.set("TINY", 1e-30)
        h.set("AVOGADRO", 6.02214076e23)
        h.set("ONE", 1.0)
        h.set("NEGPI", -Double.pi)
        h.set("MJD", 58000.123456789012)
        h.set("FLAG", true)
        h.set("NOFLAG", false)
        h.set("UNDEF", .undefined, comment: "no value")
        h.set("MANYQ", String(repeating: "'", count: 40))
        h.append(FITSCard("", .undefined, comment: "a blank-keyword card"))
        h.addComment("a comment line")
        h.addHistory("desispec-swift 0.1 test")
        try FITSFile.writeAtomically(path) { f in try f.writeImage([Float](repeating: 0, count: 6), shape: [2, 3], header: h) }
        let back = try { () throws -> FITSHeader in let f = try FITSFile.open(path); return try f.readHeader() }()
        XCTAssertEqual(back.string("CAMERA"), "r0")
        XCTAssertEqual(back.comment("CAMERA"), "Spectrograph Camera")
        XCTAssertEqual(back.string("QUOTED"), "it's a 'test'")
        XCTAssertEqual(back.string("LEADSP"), "  two spaces")
        XCTAssertEqual(back.string("EMPTY"), "")
        XCTAssertEqual(back.string("LONGSTR"), long)
        XCTAssertEqual(back["EXPID"], .int(51060))
        XCTAssertEqual(back["BIGINT"], .int(9_007_199_254_740_993))
        XCTAssertEqual(back["NEGINT"], .int(-42))
        XCTAssertEqual(back["TENTH"], .double(0.1))
        XCTAssertEqual(back["TINY"], .double(1e-30))
        XCTAssertEqual(back["AVOGADRO"], .double(6.02214076e23))
        XCTAssertEqual(back["ONE"], .double(1.0))
        XCTAssertEqual(back["NEGPI"], .double(-Double.pi))
        XCTAssertEqual(back["MJD"], .double(58000.123456789012))
        XCTAssertEqual(back.bool("FLAG"), true)
        XCTAssertEqual(back.bool("NOFLAG"), false)
        XCTAssertEqual(back["UNDEF"], .undefined)
        XCTAssertEqual(back.comment("UNDEF"), "no value")
        XCTAssertTrue(back.cards.contains { $0.key == "COMMENT" && $0.comment == "a comment line" })
        XCTAssertEqual(back.string("MANYQ"), String(repeating: "'", count: 40))
        XCTAssertTrue(back.cards.contains { $0.key == "" && $0.comment == "a blank-keyword card" },
                      "\(back.cards.filter { $0.key.isEmpty })")
        XCTAssertTrue(back.cards.contains { $0.key == "HISTORY" && $0.comment == "desispec-swift 0.1 test" })
        XCTAssertFalse(back.keys.contains("CONTINUE"))
        XCTAssertFalse(back.keys.contains("BITPIX"))
    }

    func testUpdatingAKeywordReplacesItInPlace() throws {
        var h = FITSHeader()
        h.set("A", 1); h.set("B", "x"); h.set("a", 2)
        XCTAssertEqual(h.keys, ["A", "B"])
        XCTAssertEqual(h.int("A"), 2)
        h["B"] = nil
        XCTAssertEqual(h.keys, ["A"])
    }

    func testNonFiniteDoubleIsWrittenAsUndefined() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("nan.fits").path
        var h = FITSHeader(); h.set("BAD", Double.nan)
        try FITSFile.writeAtomically(path) { f in try f.writeEmptyHDU(header: h) }
        XCTAssertEqual(try FITSFile.open(path).readHeader()["BAD"], .undefined)
    }
}
