import FITS
import Foundation

/// A grid of stellar model spectra (desispec.io.read_stdstar_templates): flux [nmodel, nwave] row-major in
/// erg/s/cm2/A (arbitrary normalisation), wavelength [Angstrom], and the parameters of each model. The standard-star
/// fit matches them to the data; the simulator draws its stars from them. Each has its own synthetic grid for runs
/// without the template file (StdStars: `synthetic`, Simulation: `simulatorGrid`).
public struct StellarTemplates: Sendable {
    public var wave: [Double]
    public var flux: [Double]
    public var templateID: [Int]
    public var teff: [Double]
    public var logg: [Double]
    public var feh: [Double]
    /// Where the grid came from: the file path, or the name of a synthetic grid.
    public var source: String

    public init(wave: [Double], flux: [Double], templateID: [Int], teff: [Double], logg: [Double], feh: [Double],
                source: String = "") {
        precondition(flux.count == wave.count * teff.count, "template flux must be [nmodel, nwave]")
        self.wave = wave; self.flux = flux; self.templateID = templateID; self.teff = teff; self.logg = logg; self.feh = feh
        self.source = source
    }

    public var count: Int { teff.count }
    public var nwave: Int { wave.count }
    public func spectrum(_ i: Int) -> [Double] { Array(flux[(i * nwave)..<((i + 1) * nwave)]) }

    /// Templates restricted to the given model indices.
    public func selecting(_ idx: [Int]) -> StellarTemplates {
        StellarTemplates(wave: wave, flux: idx.flatMap { spectrum($0) }, templateID: idx.map { templateID[$0] },
                         teff: idx.map { teff[$0] }, logg: idx.map { logg[$0] }, feh: idx.map { feh[$0] }, source: source)
    }

    /// Reads star_templates_v2.x files: HDU 0 flux, HDU 1 METADATA (TEMPLATEID, TEFF, LOGG, FEH), HDU 2
    /// wavelength; older files give the wavelength by CRVAL1/CDELT1/CRPIX1 (LOGLAM) in HDU 0.
    public static func read(_ path: String) throws -> StellarTemplates {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: 0)
        let img = try f.readImage(as: Double.self)
        guard img.shape.count == 2 else {
            throw DESIError.badFile(path: path, problem: "HDU 0 should be a 2-D flux image [nmodel, nwave], got shape \(img.shape)")
        }
        let nmodel = img.shape[0], nwave = img.shape[1]
        var wave: [Double]
        if f.hduCount >= 3 {
            try f.moveTo(index: 2)
            wave = try f.readImage(as: Double.self).data
        } else {
            let h = img.header
            guard let crval = h.double("CRVAL1"), let cdelt = h.double("CDELT1") else {
                throw DESIError.badFile(path: path, problem: "no wavelength HDU and no CRVAL1/CDELT1 in HDU 0")
            }
            let crpix = h.double("CRPIX1") ?? 1
            if h.int("LOGLAM") == 1 {
                wave = (0..<nwave).map { pow(10, crval + cdelt * Double($0)) }
            } else {
                wave = (0..<nwave).map { cdelt * Double($0) + crval - cdelt * (crpix - 1) }
            }
        }
        guard wave.count == nwave else {
            throw DESIError.badFile(path: path, problem: "wavelength has \(wave.count) values, flux has \(nwave) columns")
        }
        try f.moveTo(index: 1)
        let t = try f.readTable()
        guard let te = t["TEFF"]?.data.doubles, let lg = t["LOGG"]?.data.doubles, let fe = t["FEH"]?.data.doubles,
              te.count == nmodel else {
            throw DESIError.badFile(path: path, problem: "HDU 1 must be a table with TEFF, LOGG, FEH for \(nmodel) models")
        }
        let ids = t["TEMPLATEID"]?.data.ints ?? Array(0..<nmodel)
        return StellarTemplates(wave: wave, flux: img.data, templateID: ids, teff: te, logg: lg, feh: fe, source: path)
    }

    /// Writes the grid in the star_templates_v2.x layout that `read` (and desispec.io.read_stdstar_templates) reads:
    /// HDU 0 flux [nmodel, nwave], HDU 1 METADATA table, HDU 2 WAVELENGTH.
    public func write(_ path: String) throws {
        try FITSFile.writeAtomically(path) { f in
            var h = FITSHeader()
            h.set("SOURCE", source, comment: "Where the grid came from")
            try f.writeImage(flux, shape: [count, nwave], header: h)
            try f.writeTable(FITSTable(columns: [
                FITSColumn("TEMPLATEID", .int64(templateID.map(Int64.init))),
                FITSColumn("TEFF", .double(teff), unit: "K"),
                FITSColumn("LOGG", .double(logg)),
                FITSColumn("FEH", .double(feh)),
            ]), name: "METADATA")
            try f.writeImage(wave, shape: [nwave], name: "WAVELENGTH")
        }
    }
}
