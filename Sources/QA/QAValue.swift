import Foundation

/// A QA metric value: what desispec's qadict holds (numbers, strings, lists, nested dictionaries), written as JSON
/// or YAML.
public indirect enum QAValue: Sendable, Equatable {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case list([QAValue])
    case dict([(String, QAValue)])

    public static func == (a: QAValue, b: QAValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.string(let x), .string(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.dict(let x), .dict(let y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: return false
        }
    }

    public static func doubles(_ values: [Double]) -> QAValue { .list(values.map { .double($0) }) }
    public static func ints(_ values: [Int]) -> QAValue { .list(values.map { .int($0) }) }

    public subscript(key: String) -> QAValue? {
        if case .dict(let items) = self { return items.first { $0.0 == key }?.1 }
        return nil
    }
    public var double: Double? {
        switch self { case .double(let d): return d; case .int(let i): return Double(i); default: return nil }
    }
    public var int: Int? { if case .int(let i) = self { return i }; return nil }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var list: [QAValue]? { if case .list(let l) = self { return l }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }

    // MARK: serialisation

    public func json(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1), end = String(repeating: "  ", count: indent)
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? QAValue.number(d) : "null"
        case .string(let s): return QAValue.quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .list(let l):
            if l.allSatisfy({ if case .dict = $0 { return false }; if case .list = $0 { return false }; return true }) {
                return "[" + l.map { $0.json() }.joined(separator: ", ") + "]"
            }
            return "[\n" + l.map { pad + $0.json(indent: indent + 1) }.joined(separator: ",\n") + "\n\(end)]"
        case .dict(let items):
            if items.isEmpty { return "{}" }
            let body = items.map { pad + QAValue.quote($0.0) + ": " + $0.1.json(indent: indent + 1) }.joined(separator: ",\n")
            return "{\n" + body + "\n\(end)}"
        }
    }

    public func yaml(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        switch self {
        case .dict(let items):
            return items.map { key, value in
                switch value {
                case .dict(let sub) where !sub.isEmpty: return "\(pad)\(key):\n" + value.yaml(indent: indent + 1)
                default: return "\(pad)\(key): \(value.yamlScalar)\n"
                }
            }.joined()
        default: return pad + yamlScalar + "\n"
        }
    }

    var yamlScalar: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? QAValue.number(d) : ".nan"
        case .string(let s): return QAValue.quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .list(let l): return "[" + l.map(\.yamlScalar).joined(separator: ", ") + "]"
        case .dict(let items): return "{" + items.map { "\($0.0): \($0.1.yamlScalar)" }.joined(separator: ", ") + "}"
        }
    }

    static func number(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(format: "%.1f", d) }
        return String(format: "%.8g", d)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    /// Writes JSON (or YAML when the path ends in .yaml/.yml) through a temporary file and a rename.
    public func write(to path: String) throws {
        let text = path.hasSuffix(".yaml") || path.hasSuffix(".yml") ? yaml() : json() + "\n"
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}
