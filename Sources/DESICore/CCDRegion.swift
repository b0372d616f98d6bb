import FITS
import Foundation

/// A rectangular CCD region as 0-based half-open row and column ranges (numpy order).
public struct CCDRegion: Sendable, Equatable, CustomStringConvertible {
    public var rows: Range<Int>
    public var cols: Range<Int>
    public init(rows: Range<Int>, cols: Range<Int>) { self.rows = rows; self.cols = cols }

    public var count: Int { rows.count * cols.count }
    /// FITS notation "[x1:x2,y1:y2]", 1-indexed and inclusive.
    public var description: String { "[\(cols.lowerBound + 1):\(cols.upperBound),\(rows.lowerBound + 1):\(rows.upperBound)]" }

    /// Parses a FITS section keyword such as BIASSECB = '[7:56,51:4146]' (FITS [x,y], 1-indexed, inclusive) into
    /// rows 50..<4146 and columns 6..<56, as desispec.preproc.parse_sec_keyword. Returns nil if malformed.
    public init?(section: String) {
        let s = section.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("["), s.hasSuffix("]") else { return nil }
        let parts = s.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        func range(_ t: Substring) -> Range<Int>? {
            let ab = t.split(separator: ":", omittingEmptySubsequences: false)
            guard ab.count == 2, let a = Int(ab[0].trimmingCharacters(in: .whitespaces)),
                  let b = Int(ab[1].trimmingCharacters(in: .whitespaces)), a >= 1, b >= a else { return nil }
            return (a - 1)..<b
        }
        guard let x = range(parts[0]), let y = range(parts[1]) else { return nil }
        self.init(rows: y, cols: x)
    }

    /// Copies this region of a row-major image of width `width`.
    public func extract<T>(_ image: [T], width: Int) -> [T] {
        var out: [T] = []
        out.reserveCapacity(count)
        for r in rows { out.append(contentsOf: image[(r * width + cols.lowerBound)..<(r * width + cols.upperBound)]) }
        return out
    }

    /// Whether the region lies inside an image of `ny` x `nx`.
    public func fits(ny: Int, nx: Int) -> Bool {
        rows.lowerBound >= 0 && cols.lowerBound >= 0 && rows.upperBound <= ny && cols.upperBound <= nx
    }
}

extension CCDRegion {
    /// The amplifiers of an image's header by their CCDSECX keywords (X in A, B, C, D, 1, 2, 3, 4, the ids of
    /// desispec.preproc.get_amp_ids), each clipped to an image of `ny` x `nx`; amplifiers whose section cannot be
    /// parsed or lies outside the image are left out.
    public static func amplifiers(of header: FITSHeader, ny: Int, nx: Int) -> [(name: String, region: CCDRegion)] {
        ["A", "B", "C", "D", "1", "2", "3", "4"].compactMap { a in
            guard let text = header.string("CCDSEC\(a)"), let r = CCDRegion(section: text) else { return nil }
            let rows = max(0, r.rows.lowerBound)..<min(ny, r.rows.upperBound)
            let cols = max(0, r.cols.lowerBound)..<min(nx, r.cols.upperBound)
            guard !rows.isEmpty, !cols.isEmpty else { return nil }
            return (a, CCDRegion(rows: rows, cols: cols))
        }
    }
}
