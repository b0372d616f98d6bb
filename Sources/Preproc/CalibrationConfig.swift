import DESICore
import FITS
import Foundation

/// One camera's entry of a DESI_SPECTRO_CALIB yaml file (e.g. spec/sm1/sm1-r.yaml), selected for an exposure as
/// desispec.calibfinder.CalibFinder selects it: DATE-OBS-BEGIN <= night <= DATE-OBS-END (or "None"), same DETECTOR,
/// and same CCDCFG / CCDTMING when the entry names them. Exactly one version must match.
public struct CalibrationConfig: Sendable {
    /// Keys and values of the selected version (values as strings; `[value, 'comment']` keeps the value).
    public var values: [String: String]
    /// Name of the selected version (e.g. "V20231216") and the yaml file.
    public var version: String
    public var path: String
    /// Directory that relative file names (BIAS, DARK, ...) are relative to ($DESI_SPECTRO_CALIB).
    public var directory: String

    public func has(_ key: String) -> Bool { values[key.uppercased()] != nil }
    public func string(_ key: String) -> String? { values[key.uppercased()] }
    public func double(_ key: String) -> Double? { values[key.uppercased()].flatMap { Double($0) } }
    public func bool(_ key: String) -> Bool? {
        guard let v = values[key.uppercased()]?.lowercased() else { return nil }
        return ["true", "yes", "1", "t"].contains(v) ? true : (["false", "no", "0", "f"].contains(v) ? false : nil)
    }
    /// Absolute path of a calibration file named under `key` (BIAS, DARK, PIXFLAT, MASK, PSF, ...).
    public func file(_ key: String) -> String? {
        guard let rel = string(key) else { return nil }
        return rel.hasPrefix("/") ? rel : (directory as NSString).appendingPathComponent(rel)
    }

    /// Parses the yaml subset these files use: `camera:` / `  version:` / `    KEY: value` blocks.
    public static func parse(_ text: String, path: String) throws -> [String: [String: [String: String]]] {
        var out: [String: [String: [String: String]]] = [:]
        var camera: String?, version: String?
        for (n, rawLine) in text.components(separatedBy: .newlines).enumerated() {
            var line = rawLine
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if let hash = line.range(of: " #") { line = String(line[..<hash.lowerBound]) }
            let indent = line.prefix { $0 == " " }.count
            let body = line.trimmingCharacters(in: .whitespaces)
            guard let colon = body.firstIndex(of: ":") else {
                throw DESIError.badFile(path: path, problem: "line \(n + 1): expected 'KEY: value'")
            }
            let key = unquote(String(body[..<colon]))
            let value = unquote(String(body[body.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
            if indent == 0 {
                camera = key; version = nil; out[key] = out[key] ?? [:]
            } else if value.isEmpty {
                guard let c = camera else { throw DESIError.badFile(path: path, problem: "line \(n + 1): version outside a camera block") }
                version = key; out[c]![key] = [:]
            } else {
                guard let c = camera, let v = version else {
                    throw DESIError.badFile(path: path, problem: "line \(n + 1): key outside a version block")
                }
                out[c]![v]![key.uppercased()] = value
            }
        }
        return out
    }

    static func unquote(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("[") && t.hasSuffix("]") {   // [value, 'comment']
            t = String(t.dropFirst().dropLast().split(separator: ",", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces)
        }
        if t.count >= 2, (t.hasPrefix("'") && t.hasSuffix("'")) || (t.hasPrefix("\"") && t.hasSuffix("\"")) {
            t = String(t.dropFirst().dropLast())
        }
        return t
    }

    /// Selects the version of `yamlPath` that applies to an exposure with these (camera, primary) headers.
    /// The camera entry is "sm{SPECID}-{arm}" when SPECID is known and the night >= 20191211, else the camera name;
    /// a file holding a single camera entry is used whatever its name.
    public static func select(yamlPath: String, headers: [FITSHeader], directory: String? = nil) throws -> CalibrationConfig {
        guard let text = try? String(contentsOfFile: yamlPath, encoding: .utf8) else {
            throw DESIError.badFile(path: yamlPath, problem: "cannot read calibration yaml")
        }
        let all = try parse(text, path: yamlPath)
        func value(_ k: String) -> FITSValue? { headers.lazy.compactMap { $0[k] }.first }
        guard let camera = value("CAMERA")?.stringValue?.trimmingCharacters(in: .whitespaces).lowercased() else {
            throw DESIError.badFile(path: yamlPath, problem: "no CAMERA keyword in the headers to select a calibration entry")
        }
        guard let night = nightOf(headers) else {
            throw DESIError.badFile(path: yamlPath, problem: "neither NIGHT nor DATE-OBS in the headers to select a calibration entry")
        }
        let detector = value("DETECTOR")?.stringValue?.trimmingCharacters(in: .whitespaces) ?? ""
        let ccdcfg = value("CCDCFG")?.stringValue?.trimmingCharacters(in: .whitespaces)
        let ccdtming = value("CCDTMING")?.stringValue?.trimmingCharacters(in: .whitespaces)
        var cameraID = camera
        if let specid = value("SPECID")?.intValue, night >= 20191211, detector != "SIM" { cameraID = "sm\(specid)-\(camera.prefix(1))" }
        let entry: [String: [String: String]]
        if let e = all[cameraID] { entry = e }
        else if all.count == 1, let e = all.values.first { entry = e }
        else { throw DESIError.badFile(path: yamlPath, problem: "no entry for camera \(cameraID)") }
        var matches: [(String, [String: String])] = []
        for (name, v) in entry {
            guard let begin = v["DATE-OBS-BEGIN"].flatMap({ Int($0) }), night >= begin else { continue }
            if let end = v["DATE-OBS-END"], end.lowercased() != "none" {
                guard let e = Int(end) else {
                    throw DESIError.badFile(path: yamlPath, problem: "\(name): DATE-OBS-END '\(end)' is not a night")
                }
                if night > e { continue }
            }
            if (v["DETECTOR"] ?? "") != detector { continue }
            if let c = v["CCDCFG"], c != ccdcfg { continue }
            if let c = v["CCDTMING"], c != ccdtming { continue }
            matches.append((name, v))
        }
        guard matches.count == 1 else {
            throw DESIError.badFile(path: yamlPath, problem: matches.isEmpty
                ? "no version of \(cameraID) matches night \(night), DETECTOR '\(detector)'"
                : "several versions of \(cameraID) match (\(matches.map(\.0).sorted().joined(separator: ", ")))")
        }
        let dir = directory ?? ProcessInfo.processInfo.environment["DESI_SPECTRO_CALIB"] ?? (yamlPath as NSString).deletingLastPathComponent
        return CalibrationConfig(values: matches[0].1, version: matches[0].0, path: yamlPath, directory: dir)
    }

    /// NIGHT (YYYYMMDD) of the headers, or from DATE-OBS (KPNO: the night starts at local noon, UTC-7).
    public static func nightOf(_ headers: [FITSHeader]) -> Int? {
        for h in headers { if let n = h["NIGHT"]?.intValue, n > 19000000 { return n } }
        for h in headers {
            guard let d = h.string("DATE-OBS") else { continue }
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC")
            for fmt in ["yyyy-MM-dd'T'HH:mm:ss.SSS", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"] {
                f.dateFormat = fmt
                if let date = f.date(from: d) {
                    let shifted = date.addingTimeInterval(-(7 + 12) * 3600)
                    var cal = Calendar(identifier: .gregorian); cal.timeZone = TimeZone(identifier: "UTC")!
                    let c = cal.dateComponents([.year, .month, .day], from: shifted)
                    return c.year! * 10000 + c.month! * 100 + c.day!
                }
            }
        }
        return nil
    }
}
