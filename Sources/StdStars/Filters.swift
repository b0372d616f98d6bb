import Foundation
import DESICore
import LinearAlgebra

/// A filter response curve: wavelength [Angstrom] and dimensionless response.
public struct FilterCurve: Sendable {
    public var name: String
    public var wave: [Double]
    public var response: [Double]

    public init(name: String, wave: [Double], response: [Double]) {
        precondition(wave.count == response.count && wave.count >= 2, "filter \(name): wave and response must match")
        self.name = name; self.wave = wave; self.response = response
    }

    /// Reads an ECSV filter file as speclite writes them (columns wavelength [nm or Angstrom] and response).
    public static func readECSV(_ path: String, name: String? = nil) throws -> FilterCurve {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DESIError.badFile(path: path, problem: "cannot read filter curve")
        }
        var scale = 1.0
        var header: [String]? = nil
        var wave: [Double] = [], resp: [Double] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                if line.contains("name: wavelength") && line.contains("unit: nm") { scale = 10 }
                if line.contains("name: wavelength") && line.contains("unit: um") { scale = 1e4 }
                continue
            }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
            if header == nil { header = fields; continue }
            guard let h = header, let iw = h.firstIndex(of: "wavelength"), let ir = h.firstIndex(of: "response"),
                  fields.count > max(iw, ir), let w = Double(fields[iw]), let r = Double(fields[ir]) else {
                throw DESIError.badFile(path: path, problem: "bad filter table line '\(line)' (expected columns wavelength response)")
            }
            wave.append(w * scale); resp.append(r)
        }
        guard wave.count >= 2 else { throw DESIError.badFile(path: path, problem: "filter curve has fewer than 2 rows") }
        let nm = name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return FilterCurve(name: nm, wave: wave, response: resp)
    }

    /// AB flux density constant 3631 Jy * c in erg/s/cm2/A * A^2.
    static let abConstant = 3631e-23 * 2.99792458e18

    /// AB maggies of a spectrum in units of `fluxUnit` erg/s/cm2/A (default 1e-17), photon-counting convention
    /// as speclite's FilterResponse.get_ab_maggies: integral of f R lambda dlambda over that of the AB reference,
    /// with the quadrature on the spectrum grid inside the filter, filter nodes added where the spectrum
    /// undersamples the response, and the spectrum taken as zero where it does not cover the filter.
    public func abMaggies(wave sw: [Double], flux: [Double], fluxUnit: Double = 1e-17) -> Double {
        let fmin = wave[0], fmax = wave[wave.count - 1]
        var qx: [Double] = [fmin], qy: [Double] = [0]
        // spectrum points strictly inside the filter
        var inside: [Int] = []
        for (i, w) in sw.enumerated() where w > fmin && w < fmax { inside.append(i) }
        let rin = FluxCalibMath.interp(inside.map { sw[$0] }, wave, response, left: 0, right: 0)
        for (k, i) in inside.enumerated() { qx.append(sw[i]); qy.append(flux[i] * rin[k] * sw[i]) }
        // filter nodes that fall two or more between consecutive spectrum points
        func searchsorted(_ v: Double) -> Int {
            var lo = 0, hi = sw.count
            while lo < hi { let m = (lo + hi) / 2; if sw[m] < v { lo = m + 1 } else { hi = m } }
            return lo
        }
        var extra: [(Double, Double)] = []
        if wave.count > 2 {
            var prev = searchsorted(wave[1])
            for j in 2..<wave.count {
                let cur = searchsorted(wave[j])
                if cur == prev && j < wave.count - 1 { extra.append((wave[j], response[j])) }
                prev = cur
            }
        }
        if !extra.isEmpty {
            let fx = FluxCalibMath.interp(extra.map(\.0), sw, flux, left: 0, right: 0)
            for (k, e) in extra.enumerated() { qx.append(e.0); qy.append(fx[k] * e.1 * e.0) }
        }
        qx.append(fmax); qy.append(0)
        let order = qx.indices.sorted { qx[$0] < qx[$1] }
        let num = FluxCalibMath.trapz(order.map { qy[$0] }, order.map { qx[$0] }) * fluxUnit
        let zp = FluxCalibMath.trapz(zip(wave, response).map { FilterCurve.abConstant / ($0 * $0) * $1 * $0 }, wave)
        return zp > 0 ? num / zp : 0
    }

    /// AB magnitude (-2.5 log10 maggies); +inf for a non-positive flux.
    public func abMagnitude(wave: [Double], flux: [Double], fluxUnit: Double = 1e-17) -> Double {
        let m = abMaggies(wave: wave, flux: flux, fluxUnit: fluxUnit)
        return m > 0 ? -2.5 * log10(m) : .infinity
    }
}

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

    /// Loads DECam g r z (used for PHOTSYS S, and for N as a stand-in for BASS/MzLS, which are not shipped)
    /// and Gaia DR2 G BP RP from a folder of speclite ECSV files.
    public static func load(directory: String) throws -> FilterSet {
        var f: [String: FilterCurve] = [:]
        for b in ["g", "r", "z"] {
            let c = try FilterCurve.readECSV("\(directory)/decam2014-\(b).ecsv", name: "decam2014-\(b)")
            f[b.uppercased() + "S"] = c
            f[b.uppercased() + "N"] = c
        }
        for b in ["G", "BP", "RP"] {
            f["GAIA-" + b] = try FilterCurve.readECSV("\(directory)/gaiadr2-\(b).ecsv", name: "gaiadr2-\(b)")
        }
        return FilterSet(filters: f)
    }

    /// Analytic stand-ins with cosine edges, for tests and demos without the filter files: g 4000-5500,
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
