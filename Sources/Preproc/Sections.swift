import DESICore
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

/// The amplifiers of a raw camera header: names and sections.
public struct AmplifierSections: Sendable, Equatable {
    public var name: String
    public var ccd: CCDRegion
    public var data: CCDRegion
    public var bias: CCDRegion
    public var overscanRows: CCDRegion?
}

/// Amplifier names present in a header, as desispec.preproc.get_amp_ids: those X in A,B,C,D,1,2,3,4 with BIASSECX.
public func amplifierIDs(_ header: FITSHeader) -> [String] {
    ["A", "B", "C", "D", "1", "2", "3", "4"].filter { header["BIASSEC\($0)"] != nil }
}

/// Reads and checks the sections of every amplifier; `path` names the file in errors.
public func amplifierSections(_ header: FITSHeader, rawNy: Int, rawNx: Int, path: String) throws -> [AmplifierSections] {
    let ids = amplifierIDs(header)
    guard !ids.isEmpty else {
        throw DESIError.badFile(path: path, problem: "no keyword BIASSECX with X in A,B,C,D,1,2,3,4 in the camera header")
    }
    var missing: [String] = []
    for a in ids { for p in ["CCDSEC", "BIASSEC", "DATASEC"] where header["\(p)\(a)"] == nil { missing.append("\(p)\(a)") } }
    if !missing.isEmpty {
        throw DESIError.badFile(path: path, problem: "missing keywords \(missing.joined(separator: " ")) in the camera header")
    }
    func region(_ key: String, raw: Bool) throws -> CCDRegion {
        guard let text = header.string(key), let r = CCDRegion(section: text) else {
            throw DESIError.badFile(path: path, problem: "cannot parse \(key) = '\(header.string(key) ?? "")' as [x1:x2,y1:y2]")
        }
        if raw && !r.fits(ny: rawNy, nx: rawNx) {
            throw DESIError.badFile(path: path, problem: "\(key) = \(r) lies outside the raw image of \(rawNy) x \(rawNx)")
        }
        return r
    }
    return try ids.map { a in
        let ccd = try region("CCDSEC\(a)", raw: false)
        let data = try region("DATASEC\(a)", raw: true)
        let bias = try region("BIASSEC\(a)", raw: true)
        let orsec = header["ORSEC\(a)"] != nil ? try region("ORSEC\(a)", raw: true) : nil
        guard ccd.rows.count == data.rows.count, ccd.cols.count == data.cols.count else {
            throw DESIError.badFile(path: path, problem: "CCDSEC\(a) \(ccd) and DATASEC\(a) \(data) differ in size")
        }
        return AmplifierSections(name: a, ccd: ccd, data: data, bias: bias, overscanRows: orsec)
    }
}
