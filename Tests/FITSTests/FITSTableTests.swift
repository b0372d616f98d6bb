import FITS
import Foundation
import XCTest

/// Binary tables: every column type, vector columns, TDIM 2-D cells, strings, units and the table header.
final class FITSTableTests: XCTestCase {
    func sampleTable() -> FITSTable {
        var h = FITSHeader()
        h.set("SURVEY", "main", comment: "survey name")
        h.set("NSPEC", 3)
        return FITSTable(columns: [
            FITSColumn("FLAG", .bool([true, false, true])),
            FITSColumn("FA_TYPE", .uint8([0, 255, 7])),
            FITSColumn("PETAL_LOC", .int16([Int16.min, 0, Int16.max])),
            FITSColumn("FIBER", .int32([Int32.min, 500, Int32.max])),
            FITSColumn("TARGETID", .int64([Int64.min, 39627788554078208, Int64.max])),
            FITSColumn("FLUX_G", .float([1.5, -0.0, .greatestFiniteMagnitude]), unit: "nanomaggy"),
            FITSColumn("TARGET_RA", .double([0.1, 359.99999999999, 1e-300]), unit: "deg"),
            FITSColumn("OBJTYPE", .string(["TGT", "SKY", ""]), stringWidth: 3),
            FITSColumn("NOTE", .string(["it's", "  lead", "a longer text here"])),
            FITSColumn("VEC", .double((0..<12).map { Double($0) / 3 }), cellShape: [4]),
            FITSColumn("IVEC", .int32((0..<6).map { Int32($0) * -7 }), cellShape: [2]),
            FITSColumn("CELL", .float((0..<18).map { Float($0) }), cellShape: [2, 3]),
        ], header: h)
    }

    func testEveryColumnTypeRoundTrips() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("table.fits").path
        let t = sampleTable()
        try FITSFile.writeAtomically(path) { f in
            try f.writeEmptyHDU()
            try f.writeTable(t, name: "FIBERMAP")
        }
        let back = try FITSFile.open(path).readTable("FIBERMAP")
        XCTAssertEqual(back.rowCount, 3)
        XCTAssertEqual(back.columnNames, t.columnNames)
        for col in t.columns {
            guard let b = back[col.name] else { XCTFail("missing column \(col.name)"); continue }
            XCTAssertEqual(b.data, col.data, col.name)
            XCTAssertEqual(b.cellShape, col.cellShape, col.name)
            XCTAssertEqual(b.unit, col.unit, col.name)
        }
        XCTAssertEqual(back["OBJTYPE"]?.stringWidth, 3)
        XCTAssertEqual(back.header.string("SURVEY"), "main")
        XCTAssertEqual(back.header.comment("SURVEY"), "survey name")
        XCTAssertEqual(back.header.int("NSPEC"), 3)
        XCTAssertNil(back.header["TTYPE1"], "structural keywords stay out of the header")
        // TDIM cell [2, 3]: row 1, cell element [1, 2] is value 6 + 1*3 + 2 = 11.
        if case .float(let cell)? = back["CELL"]?.data { XCTAssertEqual(cell[6 + 1 * 3 + 2], 11) } else { XCTFail("CELL not float") }
    }

    func testColumnLengthMismatchNamesTheColumn() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("bad.fits").path
        let t = FITSTable(columns: [FITSColumn("A", .int32([1, 2])), FITSColumn("B", .int32([1, 2, 3]))])
        XCTAssertThrowsError(try FITSFile.writeAtomically(path) { f in try f.writeTable(t, name: "T") }) { e in
            XCTAssertTrue("\(e)".contains("column B has 3 rows"), "\(e)")
        }
    }

    func testEmptyTable() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("empty.fits").path
        let t = FITSTable(columns: [FITSColumn("A", .int32([])), FITSColumn("S", .string([]), stringWidth: 4)])
        try FITSFile.writeAtomically(path) { f in try f.writeEmptyHDU(); try f.writeTable(t, name: "T") }
        let back = try FITSFile.open(path).readTable("T")
        XCTAssertEqual(back.rowCount, 0)
        XCTAssertEqual(back.columnNames, ["A", "S"])
    }

    func testReadingAnImageAsATableIsAClearError() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("img.fits").path
        try FITSFile.writeAtomically(path) { f in try f.writeImage([Float](repeating: 1, count: 4), shape: [2, 2], name: "IMG") }
        XCTAssertThrowsError(try FITSFile.open(path).readTable("IMG")) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("not a table"), "\(e)")
        }
    }
}

/// Tables our writer cannot make, built card by card: X (bit) columns and variable-length arrays.
final class FITSHandMadeTableTests: XCTestCase {
    func card(_ text: String) -> String { text.padding(toLength: 80, withPad: " ", startingAt: 0) }
    func block(_ cards: [String]) -> Data {
        var s = cards.map(card).joined() + card("END")
        while s.count % 2880 != 0 { s += " " }
        return Data(s.utf8)
    }
    func padded(_ d: Data) -> Data {
        var d = d
        while d.count % 2880 != 0 { d.append(0) }
        return d
    }
    func primary() -> Data {
        block(["SIMPLE  =                    T", "BITPIX  =                    8", "NAXIS   =                    0",
               "EXTEND  =                    T"])
    }

    func testBitColumnReadsAsLogicalValues() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("bits.fits").path
        var file = primary()
        file.append(block(["XTENSION= 'BINTABLE'", "BITPIX  =                    8", "NAXIS   =                    2",
                           "NAXIS1  =                    2", "NAXIS2  =                    2", "PCOUNT  =                    0",
                           "GCOUNT  =                    1", "TFIELDS =                    1",
                           "TTYPE1  = 'FLAGS   '", "TFORM1  = '10X     '",
                           "EXTNAME = 'BITS    '"]))
        // Row 1: bits 1000000001 -> 0x80 0x40; row 2: 0110000000 -> 0x60 0x00 (most significant bit first).
        file.append(padded(Data([0x80, 0x40, 0x60, 0x00])))
        try file.write(to: URL(fileURLWithPath: path))
        let t = try FITSFile.open(path).readTable("BITS")
        XCTAssertEqual(t.rowCount, 2)
        XCTAssertEqual(t["FLAGS"]?.cellShape, [10])
        let expected: [Bool] = [true, false, false, false, false, false, false, false, false, true,
                                false, true, true, false, false, false, false, false, false, false]
        XCTAssertEqual(t["FLAGS"]?.data, .bool(expected))
    }

    func testVariableLengthColumnIsAClearError() throws {
        let path = makeTemporaryDirectory(self).appendingPathComponent("vla.fits").path
        var file = primary()
        file.append(block(["XTENSION= 'BINTABLE'", "BITPIX  =                    8", "NAXIS   =                    2",
                           "NAXIS1  =                    8", "NAXIS2  =                    1", "PCOUNT  =                    8",
                           "GCOUNT  =                    1", "TFIELDS =                    1",
                           "TTYPE1  = 'ARR     '", "TFORM1  = 'PJ(2)   '",
                           "EXTNAME = 'VLA     '"]))
        // Descriptor (count 2, offset 0) then the heap: two big-endian int32.
        file.append(padded(Data([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 7])))
        try file.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try FITSFile.open(path).readTable("VLA")) { e in
            XCTAssertTrue("\(e)".contains("ARR") && "\(e)".contains("variable-length") && "\(e)".contains(path), "\(e)")
        }
    }
}
