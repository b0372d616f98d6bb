import Foundation
import DESICore
import FITS

/// A grid of stellar model spectra (desispec.io.read_stdstar_templates): flux [nmodel, nwave] row-major in
/// erg/s/cm2/A (arbitrary normalisation), wavelength [Angstrom], and the parameters of each model.
public struct StellarTemplates: Sendable {
    public var wave: [Double]
    public var flux: [Double]
    public var templateID: [Int]
    public var teff: [Double]
    public var logg: [Double]
    public var feh: [Double]

    public init(wave: [Double], flux: [Double], templateID: [Int], teff: [Double], logg: [Double], feh: [Double]) {
        precondition(flux.count == wave.count * teff.count, "template flux must be [nmodel, nwave]")
        self.wave = wave; self.flux = flux; self.templateID = templateID; self.teff = teff; self.logg = logg; self.feh = feh
    }

    public var count: Int { teff.count }
    public var nwave: Int { wave.count }
    public func spectrum(_ i: Int) -> [Double] { Array(flux[(i * nwave)..<((i + 1) * nwave)]) }

    /// Templates restricted to the given model indices.
    public func selecting(_ idx: [Int]) -> StellarTemplates {
        StellarTemplates(wave: wave, flux: idx.flatMap { spectrum($0) }, templateID: idx.map { templateID[$0] },
                         teff: idx.map { teff[$0] }, logg: idx.map { logg[$0] }, feh: idx.map { feh[$0] })
    }

    /// Reads star_templates_v2.x files: HDU 0 flux, HDU 1 METADATA (TEMPLATEID, TEFF, LOGG, FEH), HDU 2
    /// wavelength; older files give the wavelength by CRVAL1/CDELT1/CRPIX1 (LOGLAM) in HDU 0.
    public static func read(_ path: String) throws -> StellarTemplates {
        let f = try FITSFile.open(path)
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
        return StellarTemplates(wave: wave, flux: img.data, templateID: ids, teff: te, logg: lg, feh: fe)
    }

    /// A small synthetic grid for tests and demos: a blackbody continuum times absorption lines whose depths
    /// follow temperature, gravity and metallicity (Balmer lines deepen with Teff and narrow with gravity,
    /// metal lines weaken with Teff and grow with [Fe/H]). Vacuum wavelengths 3000-11000 A, log-spaced.
    public static func synthetic(teffs: [Double] = [5000, 5500, 6000, 6500, 7000],
                                 loggs: [Double] = [4.0, 4.5], fehs: [Double] = [-1.5, -1.0, -0.5]) -> StellarTemplates {
        let dlog = 4e-5
        let n = Int((log10(11000.0) - log10(3000.0)) / dlog) + 1
        let wave = (0..<n).map { pow(10, log10(3000.0) + dlog * Double($0)) }
        let balmer = [6564.61, 4862.68, 4341.68, 4102.89, 3971.20, 3890.16]
        let metals: [(Double, Double)] = [(3934.78, 1.0), (3969.59, 0.8), (4227.92, 0.5), (4384.77, 0.3), (4045.8, 0.3),
                                          (4306.0, 0.6), (5168.76, 0.4), (5174.13, 0.5), (5185.05, 0.5), (5271.0, 0.3),
                                          (5329.0, 0.25), (5891.58, 0.6), (5897.56, 0.5), (6496.9, 0.2), (8500.36, 0.4),
                                          (8544.44, 0.6), (8664.52, 0.5), (4924.0, 0.2), (5018.4, 0.2), (6141.7, 0.2)]
        var flux: [Double] = [], te: [Double] = [], lg: [Double] = [], fe: [Double] = [], ids: [Int] = []
        for t in teffs { for g in loggs { for z in fehs {
            let x = (t - 4500) / 3000
            let dB = min(0.8, 0.15 + 0.55 * x)
            let sB = 2.5 + 6 * x + 2.5 * (4.5 - g)
            let dM = min(0.85, 0.75 * pow(10, 0.4 * z) * max(0.05, 1.1 - 0.9 * x))
            let sM = 1.2 + 0.6 * (4.5 - g)
            for w in wave {
                // blackbody in f_lambda, scaled
                let hckT = 1.4387769e8 / t     // hc/k in A K
                var f = 1e20 / pow(w, 5) / (exp(hckT / w) - 1)
                var tau = 0.0
                for l in balmer { let d = (w - l) / sB; if abs(d) < 8 { tau += dB * exp(-0.5 * d * d) } }
                for (l, s) in metals { let d = (w - l) / sM; if abs(d) < 8 { tau += dM * s * exp(-0.5 * d * d) } }
                f *= max(0.05, 1 - tau)
                flux.append(f)
            }
            te.append(t); lg.append(g); fe.append(z); ids.append(ids.count)
        } } }
        return StellarTemplates(wave: wave, flux: flux, templateID: ids, teff: te, logg: lg, feh: fe)
    }
}
