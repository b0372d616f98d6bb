import DESICore
import FITS
import Foundation

/// The simulator's stars without the template file.
extension StellarTemplates {
    /// The simulator's synthetic grid: blackbodies of 5000-7500 K with Balmer absorption lines whose depth peaks
    /// near 7500 K (solar metallicity, log g 4). The standard-star fit has its own richer grid (`synthetic`).
    public static func simulatorGrid() -> StellarTemplates {
        let wave = stride(from: 3000.0, through: 11000.0, by: 1.0).map { $0 }
        let balmer = [6564.61, 4862.68, 4341.68, 4102.89, 3971.20, 3890.17]
        var flux: [Double] = [], teff: [Double] = [], logg: [Double] = [], feh: [Double] = []
        for t in stride(from: 5000.0, through: 7500.0, by: 500.0) {
            var f = FallbackSpectra.blackbody(temperature: t, wave: wave)
            let depth = 0.5 * exp(-0.5 * pow((t - 7500) / 1500, 2))
            for (k, w) in wave.enumerated() {
                var absorb = 1.0
                for (j, c) in balmer.enumerated() {
                    let width = 8.0 + 2.0 * Double(j)
                    absorb *= 1 - depth * exp(-0.5 * pow((w - c) / width, 2))
                }
                f[k] *= absorb
            }
            flux += f; teff.append(t); logg.append(4.0); feh.append(0)
        }
        return StellarTemplates(wave: wave, flux: flux, templateID: Array(teff.indices), teff: teff, logg: logg, feh: feh,
                                source: "synthetic")
    }
}

/// The spectral inputs of a simulation: sky, extinction, arc lines, flat lamp, stellar templates, filters.
public struct SpectralInputs: Sendable {
    /// Night sky in 1e-17 erg/s/cm2/A/arcsec2.
    public var sky: SpectrumModel
    /// Zenith extinction, magnitudes per airmass.
    public var extinction: SpectrumModel
    /// Arc lamp lines (vacuum), flux in electrons per line for `arcReferenceExptime` seconds through an average fiber.
    public var arcLines: [SpectralLine]
    /// Flat lamp in 1e-17 erg/s/cm2/A/arcsec2.
    public var flatLamp: SpectrumModel
    public var stars: StellarTemplates
    /// DECam g, r, z.
    public var filters: [FilterCurve]
    /// Where each input came from ("file path" or "builtin").
    public var sources: [String: String]

    /// Exposure time to which the arc line electron counts refer.
    public static let arcReferenceExptime = 5.0

    /// Only the built-in spectra.
    public static func builtin() -> SpectralInputs {
        SpectralInputs(sky: FallbackSpectra.sky(), extinction: FallbackSpectra.extinction(), arcLines: FallbackSpectra.arcLines(),
                       flatLamp: FallbackSpectra.flatLamp(), stars: .simulatorGrid(), filters: FilterCurve.builtinDECam(),
                       sources: ["sky": "builtin", "extinction": "builtin", "arc": "shipped measured arc line list", "flat": "builtin",
                                 "stars": "synthetic", "filters": "builtin"])
    }

    /// Loads what exists under `dataDirectory` (layout of ../shared/data: spectra/, templates/, filters/) and
    /// falls back to the built-in spectrum for each file that is absent. A file that exists but cannot be read is
    /// an error (it names the file).
    public static func load(dataDirectory: String?) throws -> SpectralInputs {
        var s = builtin()
        guard let dir = dataDirectory else { return s }
        let fm = FileManager.default
        func path(_ rel: String) -> String? {
            let p = (dir as NSString).appendingPathComponent(rel)
            return fm.fileExists(atPath: p) ? p : nil
        }
        if let p = path("spectra/sky-uves.fits") {
            let t = try readTable(p, hdu: 1)
            s.sky = SpectrumModel(wave: try column(t, "wavelength", p), flux: try column(t, "flux", p).map { max($0, 0) })
            s.sources["sky"] = p
        }
        if let p = path("spectra/ZenExtinct-KPNO.fits") {
            let t = try readTable(p, hdu: 1)
            s.extinction = SpectrumModel(wave: try column(t, "WAVELENGTH", p), flux: try column(t, "EXTINCTION", p))
            s.sources["extinction"] = p
        }
        if let p = path("spectra/arc-lines-average-in-vacuum.fits") {
            let t = try readTable(p, hdu: 1)
            let w = try column(t, "VACUUM_WAVE", p), e = try column(t, "ELECTRONS", p)
            s.arcLines = zip(w, e).filter { $0.1 > 0 }.map { SpectralLine(wavelength: $0.0, flux: $0.1) }
            s.sources["arc"] = p
        }
        if let p = path("spectra/flat-3100K-quartz-iodine.fits") {
            let f = try FITSFile.open(p)
            defer { try? f.close() }
            let img = try f.readImage(as: Double.self)
            guard let crval = img.header.double("CRVAL1"), let cdelt = img.header.double("CDELT1") else {
                throw DESIError.badFile(path: p, problem: "primary HDU lacks CRVAL1/CDELT1")
            }
            let crpix = img.header.double("CRPIX1") ?? 1
            let wave = (0..<img.data.count).map { crval + (Double($0) + 1 - crpix) * cdelt }
            s.flatLamp = SpectrumModel(wave: wave, flux: img.data)
            s.sources["flat"] = p
        }
        if let p = path("templates/star_templates_v2.0-lite.fits") {
            s.stars = try StellarTemplates.read(p)
            s.sources["stars"] = p
        }
        var filters: [FilterCurve] = []
        for band in ["g", "r", "z"] {
            if let p = path("filters/decam2014-\(band).ecsv") { filters.append(try FilterCurve.readECSV(p, name: band)) }
        }
        if filters.count == 3 { s.filters = filters; s.sources["filters"] = (dir as NSString).appendingPathComponent("filters") }
        return s
    }

    static func readTable(_ path: String, hdu: Int) throws -> FITSTable {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: hdu)
        return try f.readTable()
    }

    static func column(_ t: FITSTable, _ name: String, _ path: String) throws -> [Double] {
        guard let c = t[name]?.data.doubles else { throw DESIError.badFile(path: path, problem: "no numeric column \(name)") }
        return c
    }
}
