import Foundation

/// Reading QA files back (the per-camera JSON that `qa-frame` writes, to combine them per exposure and per night).
/// Keys keep their order; `null` reads as NaN (what `json()` writes for a non-finite number).
extension QAValue {
    public static func parseJSON(_ text: String, path: String = "<json>") throws -> QAValue {
        var p = JSONScanner(bytes: Array(text.utf8), path: path)
        p.skipSpace()
        let v = try p.value()
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.error("unexpected text after the JSON value") }
        return v
    }

    /// Reads a QA JSON file written by `write(to:)`.
    public static func read(_ path: String) throws -> QAValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw QAFileError(path: path, message: "no such file or not readable")
        }
        return try parseJSON(String(decoding: data, as: UTF8.self), path: path)
    }

    /// A value found by a dotted path ("SKYSUB.MED_RESID"); list elements by index ("MAX_ZP_OFF.0").
    public func lookup(_ dotted: String) -> QAValue? {
        var cur: QAValue? = self
        for part in dotted.split(separator: ".").map(String.init) {
            if let l = cur?.list, let i = Int(part) { cur = i >= 0 && i < l.count ? l[i] : nil } else { cur = cur?[part] }
        }
        return cur
    }

    /// Keys of a dictionary, in order (empty otherwise).
    public var keys: [String] { if case .dict(let items) = self { return items.map(\.0) }; return [] }
}

/// A QA file that cannot be read or parsed: names the file and the problem.
public struct QAFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

private struct JSONScanner {
    let bytes: [UInt8]
    let path: String
    var i = 0

    init(bytes: [UInt8], path: String) { self.bytes = bytes; self.path = path }

    func error(_ m: String) -> QAFileError { QAFileError(path: path, message: "invalid JSON at byte \(i): \(m)") }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
    }

    mutating func expect(_ literal: String) throws {
        let l = Array(literal.utf8)
        guard i + l.count <= bytes.count, Array(bytes[i..<(i + l.count)]) == l else { throw error("expected \(literal)") }
        i += l.count
    }

    mutating func value() throws -> QAValue {
        guard i < bytes.count else { throw error("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var items: [(String, QAValue)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(items) }
            while true {
                skipSpace()
                guard case .string(let key) = try value() else { throw error("object key must be a string") }
                skipSpace()
                try expect(":")
                skipSpace()
                items.append((key, try value()))
                skipSpace()
                guard i < bytes.count else { throw error("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                try expect("}")
                return .dict(items)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [QAValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
            while true {
                skipSpace()
                items.append(try value())
                skipSpace()
                guard i < bytes.count else { throw error("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                try expect("]")
                return .list(items)
            }
        case UInt8(ascii: "\""):
            i += 1
            var out = [UInt8]()
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                    i += 1
                    switch bytes[i] {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "u"):
                        guard i + 4 < bytes.count, let code = UInt32(String(decoding: bytes[(i + 1)...(i + 4)], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(code) else { throw error("bad \\u escape") }
                        out += Array(String(Character(scalar)).utf8)
                        i += 4
                    default: out.append(bytes[i])
                    }
                } else {
                    out.append(bytes[i])
                }
                i += 1
            }
            try expect("\"")
            return .string(String(decoding: out, as: UTF8.self))
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .double(.nan)
        default:
            let start = i
            var isDouble = false
            while i < bytes.count, let c = Optional(bytes[i]),
                  (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
                    || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { isDouble = true }
                i += 1
            }
            let s = String(decoding: bytes[start..<i], as: UTF8.self)
            if !isDouble, let n = Int(s) { return .int(n) }
            guard let d = Double(s) else { throw error("expected a value, found '\(s.isEmpty ? String(UnicodeScalar(bytes[start])) : s)'") }
            return .double(d)
        }
    }
}
