import Foundation

/// A header keyword value, typed as FITS types it.
public enum FITSValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    /// A keyword present without value (FITS "undefined").
    case undefined

    public var description: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "T" : "F"
        case .undefined: return ""
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int(exactly: d)   // nil for fractions, NaN, infinities and out-of-range values
        case .string(let s): return Int(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "T" : "F"
        case .undefined: return nil
        }
    }
}

/// One header card: keyword, value and comment. COMMENT and HISTORY cards carry their text in `comment`.
public struct FITSCard: Sendable, Equatable {
    public var key: String
    public var value: FITSValue
    public var comment: String

    public init(_ key: String, _ value: FITSValue, comment: String = "") {
        self.key = key
        self.value = value
        self.comment = comment
    }

    public var isCommentary: Bool { key == "COMMENT" || key == "HISTORY" || key.isEmpty }
}

/// An ordered header. Structural keywords (SIMPLE, BITPIX, NAXISn, TTYPEn, ...) are left out when reading;
/// cfitsio writes them itself.
public struct FITSHeader: Sendable, Equatable {
    public private(set) var cards: [FITSCard] = []

    public init() {}
    public init(_ cards: [FITSCard]) { self.cards = cards }

    public var keys: [String] { cards.filter { !$0.isCommentary }.map(\.key) }

    public subscript(key: String) -> FITSValue? {
        get { cards.first { $0.key == key.uppercased() }?.value }
        set {
            let k = key.uppercased()
            if let v = newValue {
                if let i = cards.firstIndex(where: { $0.key == k }) { cards[i].value = v } else { cards.append(FITSCard(k, v)) }
            } else {
                cards.removeAll { $0.key == k }
            }
        }
    }

    public func comment(_ key: String) -> String? { cards.first { $0.key == key.uppercased() }?.comment }

    /// Sets a keyword (replacing an existing one in place) with an optional comment.
    public mutating func set(_ key: String, _ value: FITSValue, comment: String? = nil) {
        let k = key.uppercased()
        if let i = cards.firstIndex(where: { $0.key == k }) {
            cards[i].value = value
            if let comment { cards[i].comment = comment }
        } else {
            cards.append(FITSCard(k, value, comment: comment ?? ""))
        }
    }
    public mutating func set(_ key: String, _ value: String, comment: String? = nil) { set(key, .string(value), comment: comment) }
    public mutating func set(_ key: String, _ value: Int, comment: String? = nil) { set(key, .int(value), comment: comment) }
    public mutating func set(_ key: String, _ value: Double, comment: String? = nil) { set(key, .double(value), comment: comment) }
    public mutating func set(_ key: String, _ value: Bool, comment: String? = nil) { set(key, .bool(value), comment: comment) }

    public mutating func addComment(_ text: String) { cards.append(FITSCard("COMMENT", .undefined, comment: text)) }
    public mutating func addHistory(_ text: String) { cards.append(FITSCard("HISTORY", .undefined, comment: text)) }
    public mutating func remove(_ key: String) { self[key] = nil }
    public mutating func append(_ card: FITSCard) { cards.append(card) }

    /// Copies every non-structural card of `other` that this header lacks (or all, with `overwrite`).
    public mutating func merge(_ other: FITSHeader, overwrite: Bool = false) {
        for card in other.cards {
            if card.isCommentary { cards.append(card); continue }
            if overwrite || self[card.key] == nil { set(card.key, card.value, comment: card.comment) }
        }
    }

    public func string(_ key: String) -> String? { self[key]?.stringValue }
    public func double(_ key: String) -> Double? { self[key]?.doubleValue }
    public func int(_ key: String) -> Int? { self[key]?.intValue }
    public func bool(_ key: String) -> Bool? {
        if case .bool(let b)? = self[key] { return b }
        return nil
    }

    /// Keywords that cfitsio manages: never copied from one HDU to another.
    public static func isStructural(_ key: String) -> Bool {
        let k = key.uppercased()
        if ["SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "TFIELDS", "END",
            "BZERO", "BSCALE", "ZIMAGE", "ZBITPIX", "ZNAXIS", "ZTILE1", "ZTILE2", "ZCMPTYPE", "ZQUANTIZ",
            "ZDITHER0", "ZSIMPLE", "ZEXTEND", "ZTENSION", "ZPCOUNT", "ZGCOUNT", "ZHECKSUM", "ZDATASUM",
            "CHECKSUM", "DATASUM", "THEAP", "ZBLANK", "ZSCALE", "ZZERO", "LONGSTRN"].contains(k) { return true }
        for prefix in ["NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "TNULL", "TSCAL", "TZERO", "TDISP",
                       "ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "ZFORM", "ZCTYP", "TCOMM"] where k.hasPrefix(prefix) {
            let rest = k.dropFirst(prefix.count)
            if !rest.isEmpty && rest.allSatisfy(\.isNumber) { return true }
        }
        return false
    }
}
