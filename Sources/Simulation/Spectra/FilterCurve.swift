import DESICore
import Foundation
import LinearAlgebra

/// A broadband filter response (photon-counting, dimensionless) versus wavelength in Angstrom.
public struct FilterCurve: Sendable {
    public var band: String
    public var wave: [Double]
    public var response: [Double]

    public init(band: String, wave: [Double], response: [Double]) {
        self.band = band; self.wave = wave; self.response = response
    }

    /// Reads a speclite ECSV filter file (columns wavelength [nm or Angstrom, from the header] and response).
    public static func loadECSV(path: String, band: String) throws -> FilterCurve {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DESIError.badFile(path: path, problem: "cannot read filter file")
        }
        var inNm = false, headerSeen = false
        var w: [Double] = [], r: [Double] = []
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") {
                if line.contains("name: wavelength") && line.contains("unit: nm") { inNm = true }
                continue
            }
            if !headerSeen { headerSeen = true; continue } // column names
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "," })
            guard parts.count >= 2, let a = Double(parts[0]), let b = Double(parts[1]) else {
                throw DESIError.badFile(path: path, problem: "bad data line '\(line)'")
            }
            w.append(inNm ? a * 10 : a); r.append(b)
        }
        guard w.count >= 2 else { throw DESIError.badFile(path: path, problem: "no filter response rows") }
        return FilterCurve(band: band, wave: w, response: r)
    }

    /// Approximate DECam g, r, z (smooth-edged top hats with the real cut-on/cut-off wavelengths and peak ~0.8),
    /// used when the ECSV files are absent.
    public static func builtinDECam() -> [FilterCurve] {
        func curve(_ band: String, _ lo: Double, _ hi: Double, _ peak: Double) -> FilterCurve {
            let w = stride(from: lo - 300, through: hi + 300, by: 5.0).map { $0 }
            let r = w.map { x in peak / ((1 + exp(-(x - lo) / 40)) * (1 + exp((x - hi) / 40))) }
            return FilterCurve(band: band, wave: w, response: r)
        }
        return [curve("g", 4000, 5500, 0.75), curve("r", 5650, 7100, 0.8), curve("z", 8500, 10000, 0.5)]
    }

    /// AB flux in nanomaggies of a spectrum given in 1e-17 erg/s/cm2/A: the photon-weighted mean f_nu,
    /// ∫ f_λ R λ dλ / ∫ R c/λ dλ, over 3631 Jy, times 1e9 (speclite's convention, which desispec's
    /// fluxcalibration uses for the standard-star magnitudes). Integrated on a 1 A grid over the filter.
    public func nanomaggies(of spectrum: SpectrumModel) -> Double {
        guard let lo = wave.first, let hi = wave.last else { return 0 }
        let grid = stride(from: lo, through: hi, by: 1.0).map { $0 }
        let edges = Interpolation.edges(centers: grid)
        let m = spectrum.binMoments(edges: edges)
        let r = Interpolation.linear(x: wave, y: response, at: grid, left: 0, right: 0)
        let c = 2.99792458e18 // Angstrom/s
        var num = 0.0, den = 0.0
        for k in grid.indices {
            num += r[k] * grid[k] * m.integral[k] * 1e-17
            den += r[k] * c / grid[k] * (edges[k + 1] - edges[k])
        }
        guard den > 0 else { return 0 }
        return num / den / 3631e-23 * 1e9
    }

    /// AB magnitude of a flux in nanomaggies.
    public static func magnitude(nanomaggies: Double) -> Double { 22.5 - 2.5 * log10(max(nanomaggies, 1e-30)) }
}
