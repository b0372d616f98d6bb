internal import CFITSIO
import Foundation

extension FITSFile {
    /// Reads the whole current binary table.
    public func readTable() throws -> FITSTable {
        let f = try handle()
        guard currentHDUType == .binaryTable || currentHDUType == .asciiTable else {
            throw FITSError(path: path, hdu: currentHDULabel(), message: "HDU is an image, not a table")
        }
        try checkTableStructure()
        var status: Int32 = 0
        var nrows: Int64 = 0, ncols: Int32 = 0
        ffgnrwll(f, &nrows, &status)
        ffgncl(f, &ncols, &status)
        try check(status, "reading table size")
        var header = try readHeader()
        var columns: [FITSColumn] = []
        for c in 1...max(1, ncols) where ncols > 0 {
            let name = try header.string("TTYPE\(c)") ?? readString("TTYPE\(c)") ?? "COL\(c)"
            let unit = (try readString("TUNIT\(c)")) ?? ""
            var type: Int32 = 0, repeatCount: Int64 = 0, width: Int64 = 0
            ffeqtyll(f, c, &type, &repeatCount, &width, &status)
            try check(status, "reading type of column \(name)")
            var dims = [Int64](repeating: 0, count: 8), ndim: Int32 = 0
            ffgtdmll(f, c, 8, &ndim, &dims, &status)
            if status != 0 { status = 0; ffcmsg(); ndim = 1; dims[0] = repeatCount }
            guard type > 0 else {
                throw FITSError(path: path, hdu: currentHDULabel(),
                                message: "column \(name) holds variable-length arrays, which this reader does not support")
            }
            // bounded by the checked structure: NAXIS1 x NAXIS2 bytes are in the file
            guard let n = exact(Int(nrows).multipliedReportingOverflow(by: Int(max(repeatCount, 0)))) else {
                throw damaged("column \(name): \(nrows) rows of \(repeatCount) values overflow")
            }
            let data: FITSColumnData
            switch type {
            case TBIT:
                // X columns: repeatCount bits per row, read as logical values.
                var bits = [Int8](repeating: 0, count: n)
                if repeatCount > 0 {
                    for r in 0..<Int(nrows) {
                        bits.withUnsafeMutableBufferPointer { b in
                            _ = ffgcx(f, c, Int64(r + 1), 1, repeatCount, b.baseAddress! + r * Int(repeatCount), &status)
                        }
                        try check(status, "reading bit column \(name)")
                    }
                }
                data = .bool(bits.map { $0 != 0 })
            case TSTRING:
                let w = Int(max(width, 1))
                let width = Int(repeatCount) > w ? Int(repeatCount) : w
                data = .string(try readStrings(f, column: c, rows: Int(nrows), width: width, name: name))
            case TLOGICAL:
                let raw: [Int8] = try readColumnValues(f, column: c, count: n, type: TLOGICAL, name: name)
                data = .bool(raw.map { $0 != 0 })
            case TBYTE:
                data = .uint8(try readColumnValues(f, column: c, count: n, type: TBYTE, name: name))
            case TSBYTE, TSHORT:
                data = .int16(try readColumnValues(f, column: c, count: n, type: TSHORT, name: name))
            case TUSHORT, TINT, TLONG:
                data = .int32(try readColumnValues(f, column: c, count: n, type: TINT, name: name))
            case TUINT, TULONG, TLONGLONG, TULONGLONG:
                data = .int64(try readColumnValues(f, column: c, count: n, type: TLONGLONG, name: name))
            case TFLOAT:
                data = .float(try readColumnValues(f, column: c, count: n, type: TFLOAT, name: name))
            default:
                data = .double(try readColumnValues(f, column: c, count: n, type: TDOUBLE, name: name))
            }
            var cellShape: [Int] = []
            if type != TSTRING && repeatCount != 1 {
                cellShape = dims.prefix(Int(max(0, min(ndim, 8)))).reversed().map { Int($0) }
                if FITSFile.product(cellShape) != Int(repeatCount) { cellShape = [Int(repeatCount)] }
            }
            columns.append(FITSColumn(name, data, cellShape: cellShape, unit: unit,
                                      stringWidth: type == TSTRING ? Int(repeatCount) : 0))
        }
        header.remove("EXTNAME")
        header = FITSHeader(header.cards.filter { !FITSHeader.isStructural($0.key) })
        return FITSTable(columns: columns, header: header)
    }

    /// Reads the table of the HDU named `name`.
    public func readTable(_ name: String) throws -> FITSTable {
        try moveTo(name: name)
        return try readTable()
    }

    private func readColumnValues<T: Numeric>(_ f: UnsafeMutablePointer<fitsfile>, column: Int32, count: Int,
                                              type: Int32, name: String) throws -> [T] {
        var values = [T](repeating: 0, count: count)
        guard count > 0 else { return values }
        var status: Int32 = 0, anynul: Int32 = 0
        values.withUnsafeMutableBytes { buf in
            _ = ffgcv(f, type, column, 1, 1, Int64(count), nil, buf.baseAddress, &anynul, &status)
        }
        try check(status, "reading column \(name)")
        return values
    }

    private func readStrings(_ f: UnsafeMutablePointer<fitsfile>, column: Int32, rows: Int, width: Int, name: String) throws -> [String] {
        guard rows > 0 else { return [] }
        var buffers = (0..<rows).map { _ in UnsafeMutablePointer<CChar>.allocate(capacity: width + 1) }
        defer { for b in buffers { b.deallocate() } }
        var status: Int32 = 0, anynul: Int32 = 0
        var empty = Array("".utf8CString)
        buffers.withUnsafeMutableBufferPointer { ptrs in
            _ = ffgcv(f, TSTRING, column, 1, 1, Int64(rows), &empty, ptrs.baseAddress, &anynul, &status)
        }
        try check(status, "reading string column \(name)")
        // FITS pads strings with trailing blanks (not significant); leading blanks are part of the value.
        return buffers.map { ptr in
            var s = String(cString: ptr)
            while s.last == " " { s.removeLast() }
            return s
        }
    }

    /// Appends a binary-table HDU named `name`.
    public func writeTable(_ table: FITSTable, name: String) throws {
        let f = try handle()
        let nrows = table.rowCount
        for col in table.columns where col.rowCount != nrows {
            throw FITSError(path: path, hdu: name, message: "column \(col.name) has \(col.rowCount) rows, expected \(nrows)")
        }
        var forms: [String] = []
        for col in table.columns {
            let per = col.valuesPerRow
            switch col.data {
            case .string(let s):
                let w = max(1, col.stringWidth, s.map { $0.utf8.count }.max() ?? 1)
                forms.append("\(w)A")
            case .bool: forms.append("\(per)L")
            case .uint8: forms.append("\(per)B")
            case .int16: forms.append("\(per)I")
            case .int32: forms.append("\(per)J")
            case .int64: forms.append("\(per)K")
            case .float: forms.append("\(per)E")
            case .double: forms.append("\(per)D")
            }
        }
        var status: Int32 = 0
        let ttype = table.columns.map { strdup($0.name) }
        let tform = forms.map { strdup($0) }
        let tunit = table.columns.map { strdup($0.unit) }
        defer { for p in ttype + tform + tunit { free(p) } }
        var ttypeP = ttype, tformP = tform, tunitP = tunit
        ffcrtb(f, BINARY_TBL, Int64(nrows), Int32(table.columns.count), &ttypeP, &tformP, &tunitP, name, &status)
        try check(status, "creating table", hdu: name)
        for (i, col) in table.columns.enumerated() {
            let c = Int32(i + 1)
            if col.cellShape.count > 1 {
                var dims = col.cellShape.reversed().map { Int64($0) }
                ffptdmll(f, c, Int32(dims.count), &dims, &status)
                try check(status, "writing TDIM of \(col.name)", hdu: name)
            }
            guard nrows > 0 else { continue }
            switch col.data {
            case .string(let values):
                var ptrs = values.map { strdup($0) }
                defer { for p in ptrs { free(p) } }
                ffpcl(f, TSTRING, c, 1, 1, Int64(values.count), &ptrs, &status)
            case .bool(let v): var a = v.map { Int8($0 ? 1 : 0) }; ffpcl(f, TLOGICAL, c, 1, 1, Int64(a.count), &a, &status)
            case .uint8(var a): ffpcl(f, TBYTE, c, 1, 1, Int64(a.count), &a, &status)
            case .int16(var a): ffpcl(f, TSHORT, c, 1, 1, Int64(a.count), &a, &status)
            case .int32(var a): ffpcl(f, TINT, c, 1, 1, Int64(a.count), &a, &status)
            case .int64(var a): ffpcl(f, TLONGLONG, c, 1, 1, Int64(a.count), &a, &status)
            case .float(var a): ffpcl(f, TFLOAT, c, 1, 1, Int64(a.count), &a, &status)
            case .double(var a): ffpcl(f, TDOUBLE, c, 1, 1, Int64(a.count), &a, &status)
            }
            try check(status, "writing column \(col.name)", hdu: name)
        }
        try writeHeader(table.header)
    }
}
