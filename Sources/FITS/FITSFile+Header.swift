internal import CFITSIO
import Foundation

extension FITSFile {
    /// Reads the current HDU's header, less the structural keywords cfitsio manages.
    public func readHeader() throws -> FITSHeader {
        let f = try handle()
        var status: Int32 = 0
        var nkeys: Int32 = 0, more: Int32 = 0
        ffghsp(f, &nkeys, &more, &status)
        try check(status, "reading header size")
        var header = FITSHeader()
        var name = [CChar](repeating: 0, count: Int(FLEN_KEYWORD) + 1)
        var value = [CChar](repeating: 0, count: Int(FLEN_VALUE) + 1)
        var comment = [CChar](repeating: 0, count: Int(FLEN_COMMENT) + 1)
        for i in 1...max(Int32(1), nkeys) where nkeys > 0 {
            ffgkyn(f, i, &name, &value, &comment, &status)
            try check(status, "reading header card \(i)")
            let key = stringFromCBuffer(name).trimmingCharacters(in: .whitespaces)
            let raw = stringFromCBuffer(value).trimmingCharacters(in: .whitespaces)
            let comm = stringFromCBuffer(comment).trimmingCharacters(in: .whitespaces)
            if key == "CONTINUE" { continue }
            if key == "COMMENT" || key == "HISTORY" || key.isEmpty {
                // For commentary cards cfitsio returns the text as the comment (or the value).
                header.append(FITSCard(key, .undefined, comment: comm.isEmpty ? raw : comm))
                continue
            }
            if FITSHeader.isStructural(key) { continue }
            header.append(FITSCard(key, try parseValue(raw, key: key, file: f), comment: comm))
        }
        return header
    }

    private func parseValue(_ raw: String, key: String, file f: UnsafeMutablePointer<fitsfile>) throws -> FITSValue {
        if raw.isEmpty { return .undefined }
        if raw.hasPrefix("'") {
            var text = String(raw.dropFirst())
            if text.hasSuffix("'") { text.removeLast() }
            text = text.replacingOccurrences(of: "''", with: "'")
            // Trailing spaces are not significant in FITS strings; leading ones are.
            while text.hasSuffix(" ") { text.removeLast() }
            if text.hasSuffix("&") {
                // Long string (CONTINUE convention): let cfitsio assemble it.
                var status: Int32 = 0
                var ptr: UnsafeMutablePointer<CChar>?
                var ckey = Array(key.utf8CString)
                ffgkls(f, &ckey, &ptr, nil, &status)
                if status == 0, let ptr {
                    let long = String(cString: ptr)
                    fffree(ptr, &status)
                    return .string(long)
                }
                ffcmsg()
            }
            return .string(text)
        }
        if raw == "T" { return .bool(true) }
        if raw == "F" { return .bool(false) }
        if let i = Int(raw) { return .int(i) }
        if let d = Double(raw.replacingOccurrences(of: "D", with: "E")) { return .double(d) }
        return .string(raw)
    }

    /// Writes (updating in place where present) every non-structural card of `header` into the current HDU.
    public func writeHeader(_ header: FITSHeader) throws {
        for card in header.cards { try writeCard(card) }
    }

    public func writeCard(_ card: FITSCard) throws {
        let f = try handle()
        var status: Int32 = 0
        var key = Array(card.key.utf8CString)
        var comment = Array(card.comment.utf8CString)
        switch card.key {
        case "COMMENT":
            var text = Array(card.comment.utf8CString)
            ffpcom(f, &text, &status)
            try check(status, "writing COMMENT")
            return
        case "HISTORY":
            var text = Array(card.comment.utf8CString)
            ffphis(f, &text, &status)
            try check(status, "writing HISTORY")
            return
        case "":
            // Blank-keyword commentary card: eight spaces then the text (cfitsio has no dedicated writer).
            let line = String(("        " + card.comment).prefix(80))
            var text = Array(line.utf8CString)
            ffprec(f, &text, &status)
            try check(status, "writing a blank-keyword card")
            return
        default: break
        }
        if FITSHeader.isStructural(card.key) { return }
        let commentPtr: UnsafeMutablePointer<CChar>? = nil
        _ = commentPtr
        switch card.value {
        case .string(let s):
            var value = Array(s.utf8CString)
            // Quotes are doubled on the card: past 68 characters the CONTINUE convention keeps the whole string.
            if s.utf8.count + s.filter({ $0 == "'" }).count > 68 {
                ffukls(f, &key, &value, &comment, &status)
            } else {
                ffukys(f, &key, &value, &comment, &status)
            }
        case .int(let i):
            ffukyj(f, &key, Int64(i), &comment, &status)
        case .double(let d):
            if d.isFinite {
                ffukyg(f, &key, d, 15, &comment, &status)
                // Use the shortest representation that reads back identically.
                if status == 0 { try rewriteDouble(key: card.key, d, comment: card.comment) }
            } else {
                // FITS has no NaN literal: store as undefined.
                ffukyu(f, &key, &comment, &status)
            }
        case .bool(let b):
            ffukyl(f, &key, b ? 1 : 0, &comment, &status)
        case .undefined:
            ffukyu(f, &key, &comment, &status)
        }
        try check(status, "writing keyword \(card.key)")
    }

    /// Writes a double with Swift's shortest round-trip text (cfitsio's %g formats lose or pad digits).
    private func rewriteDouble(key: String, _ d: Double, comment: String) throws {
        var text = "\(d)".uppercased()
        if !text.contains(".") && !text.contains("E") { text += ".0" }
        if text.contains("E") && !text.contains(".") { text = text.replacingOccurrences(of: "E", with: ".0E") }
        guard text.count <= 20 else { return }
        let padded = String(repeating: " ", count: max(0, 20 - text.count)) + text
        var card = key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + padded
        if !comment.isEmpty { card += " / " + comment }
        if card.count > 80 { card = String(card.prefix(80)) }
        var status: Int32 = 0
        var ckey = Array(key.utf8CString)
        var ccard = Array(card.utf8CString)
        ffucrd(fptr, &ckey, &ccard, &status)
        try check(status, "writing keyword \(key)")
    }
}
