import DESICore
import Foundation
import LinearAlgebra

/// The filters the standard-star fit uses, by desispec's names: "G","R","Z" + photsys ("GS", "RN", ...) and
/// "GAIA-G", "GAIA-BP", "GAIA-RP".
public struct FilterSet: Sendable {
    public var filters: [String: FilterCurve]

    public init(filters: [String: FilterCurve]) { self.filters = filters }

    /// Gaia Vega minus AB zero points (desispec.scripts.stdstars.get_gaia_ab_correction), added to AB magnitudes.
    public static let gaiaABCorrection: [String: Double] = [
        "GAIA-G": 25.6914396869 - 25.7915509947,
        "GAIA-BP": 25.3488107670 - 25.3861560855,
        "GAIA-RP": 24.7626744847 - 25.1161664528,
    ]

    /// The curves shipped with the project: DECam g r z for PHOTSYS S, BASS g r and MzLS z for PHOTSYS N, Gaia DR2
    /// G BP RP (desispec's load_legacy_survey_filter and load_gaia_filter), so the right curve is used per star.
    public static func shipped() throws -> FilterSet {
        var f: [String: FilterCurve] = [:]
        for b in ["G", "R", "Z"] {
            for ps in ["N", "S"] { f[b + ps] = try FilterCurve.shipped(FilterCurve.legacySurveyName(band: b, photsys: ps)) }
        }
        for b in ["G", "BP", "RP"] { f["GAIA-" + b] = try FilterCurve.shipped("gaiadr2-\(b)") }
        return FilterSet(filters: f)
    }

    /// Curves from a folder of speclite ECSV files (an explicit override of the shipped ones): decam2014-{g,r,z}
    /// (PHOTSYS S) and gaiadr2-{G,BP,RP} are required; BASS-{g,r} and MzLS-z (PHOTSYS N) are loaded when present,
    /// else stars with northern photometry are an error of the fit.
    public static func load(directory: String) throws -> FilterSet {
        var f: [String: FilterCurve] = [:]
        for b in ["G", "R", "Z"] {
            for ps in ["S", "N"] {
                let name = try FilterCurve.legacySurveyName(band: b, photsys: ps)
                let path = "\(directory)/\(name).ecsv"
                if ps == "N" && !FileManager.default.fileExists(atPath: path) { continue }
                f[b + ps] = try FilterCurve.readECSV(path, name: name)
            }
        }
        for b in ["G", "BP", "RP"] {
            f["GAIA-" + b] = try FilterCurve.readECSV("\(directory)/gaiadr2-\(b).ecsv", name: "gaiadr2-\(b)")
        }
        return FilterSet(filters: f)
    }

    /// Analytic stand-ins with cosine edges (the same curve for N and S), only for tests and for nights simulated
    /// with the simulator's analytic curves: g 4000-5500,
    /// r 5600-7200, z 8300-10000 A; Gaia G 3500-10000, BP 3500-6500, RP 6300-10000 A.
    public static func builtin() -> FilterSet {
        func curve(_ name: String, _ lo: Double, _ hi: Double, edge: Double = 150) -> FilterCurve {
            var w: [Double] = [], r: [Double] = []
            var x = lo - edge
            while x <= hi + edge {
                w.append(x)
                let v: Double
                if x < lo { v = 0.5 * (1 - cos(Double.pi * (x - lo + edge) / edge)) }
                else if x > hi { v = 0.5 * (1 + cos(Double.pi * (x - hi) / edge)) }
                else { v = 1 }
                r.append(0.9 * v)
                x += 5
            }
            r[0] = 0; r[r.count - 1] = 0
            return FilterCurve(name: name, wave: w, response: r)
        }
        var f: [String: FilterCurve] = [:]
        for (b, lo, hi) in [("G", 4000.0, 5500.0), ("R", 5600.0, 7200.0), ("Z", 8300.0, 10000.0)] {
            let c = curve("builtin-\(b.lowercased())", lo, hi)
            f[b + "S"] = c; f[b + "N"] = c
        }
        f["GAIA-G"] = curve("builtin-gaia-G", 3500, 10000)
        f["GAIA-BP"] = curve("builtin-gaia-BP", 3500, 6500)
        f["GAIA-RP"] = curve("builtin-gaia-RP", 6300, 10000)
        return FilterSet(filters: f)
    }

    /// Magnitude of a model in 1e-17 erg/s/cm2/A through filter `name`, Vega for Gaia bands as desispec
    /// (desispec.scripts.stdstars.get_magnitude).
    public func magnitude(_ name: String, wave: [Double], flux: [Double]) throws -> Double {
        guard let c = filters[name] else {
            throw DESIError.invalidArgument("filter \(name) is not loaded (have: \(filters.keys.sorted().joined(separator: ", ")))")
        }
        return c.abMagnitude(wave: wave, flux: flux) + (FilterSet.gaiaABCorrection[name] ?? 0)
    }
}
