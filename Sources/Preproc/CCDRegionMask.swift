import DESICore
import FITS
import Foundation

/// Regions of a CCD to flag BAD in one exposure, as desispec.calibfinder.ccdregionmask: the rows of
/// $DESI_SPECTRO_CALIB/ccd/ccd-region-mask.csv (columns NIGHT, EXPID, CAMERA, XMIN, XMAX, YMIN, YMAX) whose NIGHT,
/// EXPID and CAMERA are the exposure's; desispec.preproc then sets mask[YMIN:YMAX, XMIN:XMAX] |= BAD (numpy slices:
/// 0-based, end excluded, negative values count from the end) right after reading the bad-pixel mask.
public struct CCDRegionMask: Sendable, Equatable {
    public var xmin: Int, xmax: Int, ymin: Int, ymax: Int

    public init(xmin: Int, xmax: Int, ymin: Int, ymax: Int) {
        self.xmin = xmin; self.xmax = xmax; self.ymin = ymin; self.ymax = ymax
    }

    /// The table's place in a calibration folder.
    public static func tablePath(calibrationDirectory dir: String) -> String {
        (dir as NSString).appendingPathComponent("ccd/ccd-region-mask.csv")
    }

    /// The regions listed in `path` for this exposure. The headers give NIGHT, EXPID and CAMERA (the first header
    /// holding each wins, as desispec); a table without those columns or with a non-integer bound is an error.
    public static func regions(table path: String, headers: [FITSHeader]) throws -> [CCDRegionMask] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DESIError.badFile(path: path, problem: "cannot read the CCD region mask table")
        }
        func value(_ key: String) -> FITSValue? { headers.lazy.compactMap { $0[key] }.first }
        guard let night = value("NIGHT")?.intValue, let expid = value("EXPID")?.intValue,
              let camera = value("CAMERA")?.stringValue?.trimmingCharacters(in: .whitespaces) else {
            throw DESIError.badFile(path: path, problem: "the exposure's headers lack NIGHT, EXPID or CAMERA to select CCD regions")
        }
        let lines = text.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard let head = lines.first else { return [] }
        let names = head.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).uppercased()
        }
        let wanted = ["NIGHT", "EXPID", "CAMERA", "XMIN", "XMAX", "YMIN", "YMAX"]
        var column: [String: Int] = [:]
        for w in wanted {
            guard let i = names.firstIndex(of: w) else { throw DESIError.badFile(path: path, problem: "no column \(w)") }
            column[w] = i
        }
        var out: [CCDRegionMask] = []
        for (n, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == names.count else {
                throw DESIError.badFile(path: path, problem: "line \(n + 2) has \(f.count) fields, the header \(names.count)")
            }
            func int(_ k: String) throws -> Int {
                guard let v = Int(f[column[k]!]) else {
                    throw DESIError.badFile(path: path, problem: "line \(n + 2): \(k) '\(f[column[k]!])' is not an integer")
                }
                return v
            }
            guard try int("NIGHT") == night, try int("EXPID") == expid, f[column["CAMERA"]!] == camera else { continue }
            out.append(CCDRegionMask(xmin: try int("XMIN"), xmax: try int("XMAX"), ymin: try int("YMIN"), ymax: try int("YMAX")))
        }
        return out
    }

    /// numpy's slice a:b of an axis of length n.
    static func slice(_ a: Int, _ b: Int, _ n: Int) -> Range<Int> {
        func clamp(_ v: Int) -> Int { min(n, max(0, v < 0 ? n + v : v)) }
        let lo = clamp(a), hi = clamp(b)
        return lo..<max(lo, hi)
    }

    /// The rows and columns this region covers on an image of ny x nx.
    public func covered(ny: Int, nx: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        (Self.slice(ymin, ymax, ny), Self.slice(xmin, xmax, nx))
    }

    /// A calibration mask (nil: none) with the BAD bit set on `regions`; nil when both are empty.
    static func merged(_ mask: CalibrationPlane?, regions: [CCDRegionMask], ny: Int, nx: Int) -> CalibrationPlane? {
        guard !regions.isEmpty else { return mask }
        var bits = [Float](repeating: 0, count: ny * nx)
        if let m = mask { for i in bits.indices { bits[i] = Float(m.bits(i)) } }
        for r in regions {
            let c = r.covered(ny: ny, nx: nx)
            for row in c.rows { for col in c.cols { bits[row * nx + col] = Float(UInt32(bits[row * nx + col]) | CCDMask.bad) } }
        }
        return CalibrationPlane(bits)
    }
}
