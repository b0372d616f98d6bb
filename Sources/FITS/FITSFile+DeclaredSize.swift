internal import CFITSIO
import Foundation

/// Checks of the sizes an HDU's header declares, made before anything is allocated from them: a damaged or truncated
/// file is reported as such (file, HDU, what is wrong) instead of trapping or asking for terabytes of memory.
/// Only header keywords are read (and the heap descriptors of variable-length columns), never the pixels.
extension FITSFile {
    /// Largest data unit (in bytes, as held in memory) that a reader accepts: the machine's memory.
    static var memoryLimit: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

    /// Shape (numpy order) and BITPIX of the current image HDU, checked: valid BITPIX, axes >= 0, a pixel count and
    /// byte count that do not overflow, data that the file holds (plain images) or tiles that the table holds
    /// (tile-compressed images). Plain BITPIX, also for compressed images (cfitsio reports ZBITPIX).
    func checkedImageDimensions() throws -> (bitpix: Int, shape: [Int]) {
        let f = try handle()
        var status: Int32 = 0
        var bitpix: Int32 = 0, naxis: Int32 = 0
        var naxes = [Int64](repeating: 0, count: 999)
        ffgiprll(f, 999, &bitpix, &naxis, &naxes, &status)
        try check(status, "reading image dimensions")
        guard [8, 16, 32, 64, -32, -64].contains(bitpix) else { throw damaged("BITPIX = \(bitpix) is not a FITS pixel type") }
        guard (0...999).contains(naxis) else { throw damaged("NAXIS = \(naxis) is not between 0 and 999") }
        let axes = Array(naxes.prefix(Int(naxis)))
        if let bad = axes.firstIndex(where: { $0 < 0 }) { throw damaged("NAXIS\(bad + 1) = \(axes[bad]) is negative") }
        let shape = axes.reversed().map { Int($0) }
        guard let pixels = FITSFile.product(shape),
              let bytes = exact(pixels.multipliedReportingOverflow(by: Int(abs(bitpix)) / 8)) else {
            throw damaged("image axes \(axes) overflow a 64-bit pixel count")
        }
        if isCompressedImage {
            try checkCompressedTiles(axes: axes, bytes: bytes)
        } else {
            // an image extension: GCOUNT groups of PCOUNT parameters and the pixels (GCOUNT 1, PCOUNT 0 in practice)
            let gcount = try keyword("GCOUNT") ?? 1, pcount = try keyword("PCOUNT") ?? 0
            guard gcount >= 1, pcount >= 0 else { throw damaged("GCOUNT = \(gcount), PCOUNT = \(pcount) in an image HDU") }
            guard let withParameters = exact(pixels.addingReportingOverflow(pcount)),
                  let values = exact(withParameters.multipliedReportingOverflow(by: gcount)),
                  let declared = exact(values.multipliedReportingOverflow(by: Int(abs(bitpix)) / 8)) else {
                throw damaged("GCOUNT x (PCOUNT + pixels) = \(gcount) x (\(pcount) + \(pixels)) overflows")
            }
            try checkDataFits(declared: declared)
        }
        return (Int(bitpix), shape)
    }

    /// The table HDU's structure: NAXIS1 (row width) equal to the sum of the TFORMn widths, rows and heap held by the
    /// file, THEAP inside the data, and every variable-length descriptor inside the heap.
    func checkTableStructure() throws {
        let naxis1 = try requiredKeyword("NAXIS1"), rows = try requiredKeyword("NAXIS2")
        let pcount = try keyword("PCOUNT") ?? 0, gcount = try keyword("GCOUNT") ?? 1
        let tfields = try requiredKeyword("TFIELDS")
        guard naxis1 >= 0 else { throw damaged("NAXIS1 = \(naxis1) (row width) is negative") }
        guard rows >= 0 else { throw damaged("NAXIS2 = \(rows) (row count) is negative") }
        guard pcount >= 0 else { throw damaged("PCOUNT = \(pcount) (heap size) is negative") }
        guard gcount == 1 else { throw damaged("GCOUNT = \(gcount) in a table (must be 1)") }
        guard (0...999).contains(tfields) else { throw damaged("TFIELDS = \(tfields) is not between 0 and 999") }
        guard let main = exact(naxis1.multipliedReportingOverflow(by: rows)),
              let total = exact(main.addingReportingOverflow(pcount)) else {
            throw damaged("NAXIS1 x NAXIS2 + PCOUNT = \(naxis1) x \(rows) + \(pcount) overflows")
        }
        try checkDataFits(declared: total)
        guard currentHDUType != .asciiTable else { return }   // a compressed image's table reports as an image
        var rowWidth = 0
        var descriptorColumns: [(column: Int32, elementBits: Int)] = []
        for c in 0..<tfields {
            let key = "TFORM\(c + 1)"
            guard let form = try readString(key) else { throw damaged("\(key) is missing (TFIELDS = \(tfields))") }
            guard let parsed = BinaryTableForm(form) else { throw damaged("\(key) = '\(form)' is not a binary-table format") }
            guard let sum = exact(rowWidth.addingReportingOverflow(parsed.bytes)) else {
                throw damaged("the column widths overflow at \(key) = '\(form)'")
            }
            rowWidth = sum
            if let element = parsed.heapElementBits { descriptorColumns.append((Int32(c + 1), element)) }
        }
        guard rowWidth == naxis1 else {
            throw damaged("the TFORMn columns take \(rowWidth) bytes a row, NAXIS1 declares \(naxis1)")
        }
        let theap = try keyword("THEAP") ?? main
        guard theap >= main, theap <= total else {
            throw damaged("THEAP = \(theap) is outside the data unit (table \(main) bytes, with heap \(total))")
        }
        let heapSize = total - theap
        for (column, element) in descriptorColumns where rows > 0 {
            try checkDescriptors(column: column, rows: rows, elementBits: element, heapSize: heapSize)
        }
    }

    /// Every descriptor (length, offset) of a variable-length column points inside the heap of `heapSize` bytes.
    private func checkDescriptors(column: Int32, rows: Int, elementBits: Int, heapSize: Int) throws {
        var lengths = [Int64](repeating: 0, count: rows), offsets = [Int64](repeating: 0, count: rows)
        var status: Int32 = 0
        ffgdessll(try handle(), column, 1, Int64(rows), &lengths, &offsets, &status)
        try check(status, "reading the heap descriptors of column \(column)")
        for r in 0..<rows {
            let length = Int(lengths[r]), offset = Int(offsets[r])
            guard length >= 0, offset >= 0,
                  let bits = exact(length.multipliedReportingOverflow(by: elementBits)),
                  let end = exact(offset.addingReportingOverflow(bits / 8 + (bits % 8 == 0 ? 0 : 1))), end <= heapSize else {
                throw damaged("row \(r + 1) of column \(column) points outside the heap "
                              + "(\(length) elements at offset \(offset), heap \(heapSize) bytes)")
            }
        }
    }

    /// A tile-compressed image: sane ZTILEn, as many table rows as tiles, heap descriptors inside the heap, and an
    /// uncompressed size that fits in memory.
    private func checkCompressedTiles(axes: [Int64], bytes: Int) throws {
        guard !axes.isEmpty else { throw damaged("compressed image with ZNAXIS = 0") }
        var tiles = 1
        for (i, n) in axes.enumerated() {
            let tile = try keyword("ZTILE\(i + 1)") ?? (i == 0 ? Int(n) : 1)
            guard n > 0 else { throw damaged("ZNAXIS\(i + 1) = \(n) in a compressed image") }
            guard tile > 0 else { throw damaged("ZTILE\(i + 1) = \(tile) is not positive") }
            let count = (Int(n) + min(tile, Int(n)) - 1) / min(tile, Int(n))
            guard let product = exact(tiles.multipliedReportingOverflow(by: count)) else {
                throw damaged("ZNAXISn / ZTILEn give more tiles than can be counted")
            }
            tiles = product
        }
        let rows = try requiredKeyword("NAXIS2")
        guard rows == tiles else { throw damaged("ZNAXISn / ZTILEn give \(tiles) tiles, the table has \(rows) rows") }
        guard bytes <= FITSFile.memoryLimit else {
            throw damaged("declares an image of \(bytes) bytes once decompressed, more than this machine's memory")
        }
        try checkTableStructure()
    }

    /// The data unit of `declared` bytes is inside the file: cfitsio's logical file size, which is the size once
    /// decompressed for a gzipped file. Checked for files opened read-only (a file being written may still have its
    /// data in cfitsio's buffers).
    private func checkDataFits(declared: Int) throws {
        guard !writable else { return }
        let f = try handle()
        var head: Int64 = 0, start: Int64 = 0, end: Int64 = 0, status: Int32 = 0
        ffghadll(f, &head, &start, &end, &status)
        try check(status, "locating the data unit")
        guard let file = f.pointee.Fptr else { return }
        let available = max(0, Int(file.pointee.logfilesize) - Int(start))
        guard declared <= available else {
            throw damaged("declares \(declared) bytes of data, the file has \(available) after the header: truncated or damaged")
        }
    }

    /// An integer keyword of the current HDU, nil when absent; a value that is not an integer is a damaged header.
    private func keyword(_ key: String) throws -> Int? {
        var value: Int64 = 0, status: Int32 = 0
        var ckey = Array(key.utf8CString)
        ffgkyjj(try handle(), &ckey, &value, nil, &status)
        if status == KEY_NO_EXIST { ffcmsg(); return nil }
        if status != 0 { ffcmsg(); throw damaged("\(key) is not an integer") }
        return Int(value)
    }

    private func requiredKeyword(_ key: String) throws -> Int {
        guard let value = try keyword(key) else { throw damaged("\(key) is missing") }
        return value
    }

    /// An error about the current HDU's structure, labelled with its number and name.
    func damaged(_ problem: String) -> FITSError {
        let index = currentHDUIndex
        let name = (try? readString("EXTNAME")) ?? nil
        return FITSError(path: path, hdu: name.map { "\(index) '\($0)'" } ?? String(index), message: problem)
    }

    /// The product of `values`, nil when it overflows or a value is negative.
    static func product(_ values: [Int]) -> Int? {
        var result = 1
        for v in values {
            guard v >= 0, let p = exact(result.multipliedReportingOverflow(by: v)) else { return nil }
            result = p
        }
        return result
    }
}

/// One TFORMn of a binary table, "rT" or "rPt(max)" / "rQt(max)": bytes a row, and for variable-length columns the
/// bits of one heap element.
struct BinaryTableForm {
    let bytes: Int
    let heapElementBits: Int?

    /// Bytes of one element of each binary-table type code (FITS standard, table 18).
    private static let elementBytes: [Character: Int] = ["L": 1, "B": 1, "A": 1, "I": 2, "J": 4, "K": 8, "E": 4, "D": 8,
                                                         "C": 8, "M": 16]

    init?(_ form: String) {
        let text = form.trimmingCharacters(in: .whitespaces).uppercased()
        let digits = text.prefix(while: \.isNumber)
        guard digits.count <= 18 else { return nil }
        let repeatCount = digits.isEmpty ? 1 : Int(digits) ?? -1
        guard repeatCount >= 0, let code = text.dropFirst(digits.count).first else { return nil }
        switch code {
        case "X":
            bytes = repeatCount / 8 + (repeatCount % 8 == 0 ? 0 : 1); heapElementBits = nil
        case "P", "Q":
            guard let element = text.dropFirst(digits.count + 1).first,
                  let bits = element == "X" ? 1 : BinaryTableForm.elementBytes[element].map({ $0 * 8 }) else { return nil }
            guard let b = exact(repeatCount.multipliedReportingOverflow(by: code == "P" ? 8 : 16)) else { return nil }
            bytes = b; heapElementBits = bits
        default:
            guard let size = BinaryTableForm.elementBytes[code],
                  let b = exact(repeatCount.multipliedReportingOverflow(by: size)) else { return nil }
            bytes = b; heapElementBits = nil
        }
    }
}

/// The value of an arithmetic operation that reports overflow, nil when it overflowed.
func exact(_ result: (partialValue: Int, overflow: Bool)) -> Int? { result.overflow ? nil : result.partialValue }
