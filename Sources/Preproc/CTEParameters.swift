import DESICore
import FITS
import Foundation

/// An amplifier whose serial register has traps: its CCD section, and whether it is read out at the image's right
/// edge (desispec: the section ends at the last column; its columns are then reversed so that the readout is at 0).
public struct CTEAmplifier: Sendable, Equatable {
    public var name: String
    public var rows: Range<Int>
    public var cols: Range<Int>
    public var readoutAtRight: Bool
    public var traps: [CTETrap]
    public init(name: String, rows: Range<Int>, cols: Range<Int>, readoutAtRight: Bool, traps: [CTETrap]) {
        self.name = name; self.rows = rows; self.cols = cols; self.readoutAtRight = readoutAtRight; self.traps = traps
    }
}

/// Where the traps are and what they do, as desispec.correct_cte.get_cte_params:
/// - the calibration config's CTECOLS<amp> lists the sectors "START:STOP" (CCD columns, comma separated) of each
///   amplifier with a trap; an amplifier without the key has none (needs_ctecorr: any CTECOLS means a correction);
/// - the night's CTE parameter file (desi_fit_cte_night's ctecorr-NIGHT.yaml, a list of records NIGHT, CAMERA,
///   AMPLIFIER, SECTOR, FUNC, CHI2PDF and the function's parameters) gives each sector's transfer function: the first
///   record of the camera, amplifier and sector whose NIGHT is less than 14 nights away. A sector without one is an
///   error.
/// The trap of a sector sits at START (STOP for an amplifier read out at the right edge), counted from the readout.
public enum CTEParameters {
    public struct Sector: Sendable, Equatable {
        public var text: String
        public var start: Int
        public var stop: Int
    }

    /// The sectors of each amplifier that has CTECOLS<amp> (amplifier names in `ampIDs` order).
    public static func sectors(config: CalibrationConfig, ampIDs: [String]) throws -> [(amp: String, sectors: [Sector])] {
        var out: [(String, [Sector])] = []
        for amp in ampIDs {
            guard let value = config.string("CTECOLS\(amp)") else { continue }
            var list: [Sector] = []
            for part in value.split(separator: ",", omittingEmptySubsequences: true) {
                let text = part.trimmingCharacters(in: .whitespaces)
                let v = text.split(separator: ":", omittingEmptySubsequences: false)
                guard v.count == 2, let a = Int(v[0]), let b = Int(v[1]) else {
                    throw DESIError.badFile(path: config.path, problem: "cannot decode CTECOLS\(amp)=\(value)")
                }
                list.append(Sector(text: text, start: a, stop: b))
            }
            if !list.isEmpty { out.append((amp, list)) }
        }
        return out
    }

    /// The amplifiers to correct, with their traps' transfer functions from `parameterFile`.
    public static func amplifiers(config: CalibrationConfig, sections: [AmplifierSections], imageNx: Int,
                                  parameterFile: String, night: Int, camera: String) throws -> [CTEAmplifier] {
        let bySector = try sectors(config: config, ampIDs: sections.map(\.name))
        guard !bySector.isEmpty else { return [] }
        guard let text = try? String(contentsOfFile: parameterFile, encoding: .utf8) else {
            throw DESIError.badFile(path: parameterFile, problem: "CTE parameter file does not exist or cannot be read "
                                    + "(--cte-params FILE gives another, --no-cte-correction skips the correction)")
        }
        let records = try parseRecords(text, path: parameterFile)
        var out: [CTEAmplifier] = []
        for (amp, list) in bySector {
            let s = sections.first { $0.name == amp }!
            let right = s.ccd.cols.upperBound == imageNx
            let candidates = records.filter { r in
                guard let n = r["NIGHT"].flatMap({ Int($0) }), let d = nightsBetween(n, night) else { return false }
                return abs(d) < 14 && r["CAMERA"] == camera && r["AMPLIFIER"] == amp
            }
            guard !candidates.isEmpty else {
                throw DESIError.badFile(path: parameterFile,
                                        problem: "no CTE correction for night \(night) camera \(camera) amplifier \(amp)")
            }
            var traps: [CTETrap] = []
            for sector in list {
                guard let r = candidates.first(where: { $0["SECTOR"] == sector.text }) else {
                    throw DESIError.badFile(path: parameterFile, problem:
                        "no CTE correction for night \(night) camera \(camera) amplifier \(amp) sector \(sector.text)")
                }
                guard let fn = r["FUNC"] else { throw DESIError.badFile(path: parameterFile, problem: "a record has no FUNC") }
                var params: [String: Double] = [:]
                for (k, v) in r { if let d = Double(v) { params[k] = d } }
                // position from the readout: START from the left edge, or the columns from STOP to the right edge
                let location = right ? s.ccd.cols.upperBound - sector.stop : sector.start - s.ccd.cols.lowerBound
                traps.append(CTETrap(location: location, transfer: try CTETransfer.named(fn, parameters: params, source: parameterFile)))
            }
            out.append(CTEAmplifier(name: amp, rows: s.ccd.rows, cols: s.ccd.cols, readoutAtRight: right, traps: traps))
        }
        return out
    }

    /// The records of a ctecorr yaml file as yaml.safe_dump writes a list of flat dictionaries ("- KEY: value" opens a
    /// record, "  KEY: value" continues it; "[]" is the empty list); values as strings, quotes removed.
    public static func parseRecords(_ text: String, path: String) throws -> [[String: String]] {
        var out: [[String: String]] = []
        for (n, raw) in text.components(separatedBy: .newlines).enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed == "[]" || trimmed == "---" { continue }
            var body = trimmed
            if body.hasPrefix("- ") || body == "-" {
                out.append([:])
                body = String(body.dropFirst()).trimmingCharacters(in: .whitespaces)
                if body.isEmpty { continue }
            }
            guard !out.isEmpty, let colon = body.firstIndex(of: ":") else {
                throw DESIError.badFile(path: path, problem: "line \(n + 1): expected '- KEY: value' records")
            }
            let key = CalibrationConfig.unquote(String(body[..<colon])).uppercased()
            out[out.count - 1][key] = CalibrationConfig.unquote(String(body[body.index(after: colon)...]))
        }
        return out
    }

    /// Nights from `a` to `b` (YYYYMMDD), as desispec.util.difference_nights; nil for an invalid night.
    static func nightsBetween(_ a: Int, _ b: Int) -> Int? {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        func date(_ n: Int) -> Date? {
            let c = DateComponents(year: n / 10000, month: (n / 100) % 100, day: n % 100)
            guard c.isValidDate(in: cal) else { return nil }
            return cal.date(from: c)
        }
        guard let da = date(a), let db = date(b) else { return nil }
        return cal.dateComponents([.day], from: da, to: db).day
    }
}
