import Foundation
import LinearAlgebra

/// A broadband filter response curve: wavelength [Angstrom] and dimensionless (photon-counting) response, read from
/// speclite ECSV files. Used by the standard-star fit (magnitudes of models) and by the simulator (target fluxes).
public struct FilterCurve: Sendable {
    public var name: String
    public var wave: [Double]
    public var response: [Double]

    public init(name: String, wave: [Double], response: [Double]) {
        precondition(wave.count == response.count && wave.count >= 2, "filter \(name): wave and response must match")
        self.name = name; self.wave = wave; self.response = response
    }

    /// Writes the curve as an ECSV table (wavelength in Angstrom, response) that `readECSV` and speclite read.
    public func writeECSV(_ path: String) throws {
        var text = "# %ECSV 0.9\n# ---\n# datatype:\n# - {name: wavelength, unit: Angstrom, datatype: float64}\n"
        text += "# - {name: response, datatype: float64}\n# meta: {name: \(name)}\nwavelength response\n"
        for (w, r) in zip(wave, response) { text += "\(w) \(r)\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)   // through a temporary file and a rename
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

    /// Names of the filter curves shipped with the project (speclite's ECSV files, BSD licence): DECam g r z
    /// (PHOTSYS S), BASS g r and MzLS z (PHOTSYS N), Gaia DR2 G BP RP.
    public static let shippedNames = ["decam2014-g", "decam2014-r", "decam2014-z", "BASS-g", "BASS-r", "MzLS-z",
                                      "gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP"]

    /// One of the filter curves shipped as a package resource (`shippedNames`).
    public static func shipped(_ name: String) throws -> FilterCurve {
        guard shippedNames.contains(name) else {
            throw DESIError.invalidArgument("no shipped filter curve \(name) (have: \(shippedNames.joined(separator: ", ")))")
        }
        guard let url = Bundle.module.url(forResource: name, withExtension: "ecsv", subdirectory: "filters") else {
            throw DESIError.badFile(path: "\(Bundle.module.bundlePath)/filters/\(name).ecsv",
                                    problem: "the shipped filter curve is missing from the package resources")
        }
        return try readECSV(url.path, name: name)
    }

    /// The Legacy Surveys curve of band g, r or z for PHOTSYS "N" (BASS g, r; MzLS z) or "S" (DECam), as
    /// desispec's load_legacy_survey_filter.
    public static func legacySurveyName(band: String, photsys: String) throws -> String {
        let b = band.lowercased()
        guard ["g", "r", "z"].contains(b) else { throw DESIError.invalidArgument("no Legacy Surveys band \(band)") }
        switch photsys {
        case "N": return b == "z" ? "MzLS-z" : "BASS-\(b)"
        case "S": return "decam2014-\(b)"
        default: throw DESIError.invalidArgument("no Legacy Surveys filters for PHOTSYS '\(photsys)' (N or S)")
        }
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
        let rin = Interpolation.linear(x: wave, y: response, at: inside.map { sw[$0] }, left: 0, right: 0)
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
            let fx = Interpolation.linear(x: sw, y: flux, at: extra.map(\.0), left: 0, right: 0)
            for (k, e) in extra.enumerated() { qx.append(e.0); qy.append(fx[k] * e.1 * e.0) }
        }
        qx.append(fmax); qy.append(0)
        let order = qx.indices.sorted { qx[$0] < qx[$1] }
        let num = Integration.trapz(order.map { qy[$0] }, order.map { qx[$0] }) * fluxUnit
        let zp = Integration.trapz(zip(wave, response).map { FilterCurve.abConstant / ($0 * $0) * $1 * $0 }, wave)
        return zp > 0 ? num / zp : 0
    }

    /// AB magnitude of a flux in nanomaggies (22.5 - 2.5 log10), floored at 1e-30 nanomaggies.
    public static func magnitude(nanomaggies: Double) -> Double { 22.5 - 2.5 * log10(max(nanomaggies, 1e-30)) }

    /// AB magnitude (-2.5 log10 maggies); +inf for a non-positive flux.
    public func abMagnitude(wave: [Double], flux: [Double], fluxUnit: Double = 1e-17) -> Double {
        let m = abMaggies(wave: wave, flux: flux, fluxUnit: fluxUnit)
        return m > 0 ? -2.5 * log10(m) : .infinity
    }
}
