import DESICore
import FITS
import Foundation

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
