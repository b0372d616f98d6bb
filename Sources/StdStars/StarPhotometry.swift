import DESICore
import Foundation

/// The photometry of the standard stars as the fit uses it (desispec.scripts.stdstars.main): observed magnitudes
/// (Legacy Surveys AB from FLUX_G/R/Z nanomaggies, Gaia Vega magnitudes), the photometric system of each star
/// (PHOTSYS: "S" DECam, "N" BASS/MzLS, "G" Gaia, "" none) and its SFD reddening E(B-V) (EBV), and the magnitudes
/// corrected for Milky Way extinction that the colour preselection of the models compares with.
struct StarPhotometry {
    let photsys: [String]
    let ebv: [Double]
    let fibermap: Fibermap
    /// Observed magnitudes by band name (G, R, Z, GAIA-G, GAIA-BP, GAIA-RP), one per fibermap row (NaN if absent).
    private(set) var observed: [String: [Double]] = [:]
    /// Extinction-corrected magnitudes by band name.
    private(set) var dereddened: [String: [Double]] = [:]

    static let knownPhotsys: Set<String> = ["", "N", "S", "G"]

    /// - Parameters:
    ///   - rows: the rows whose PHOTSYS is checked (the standards).
    ///   - legacy: whether the standards use Legacy Surveys photometry (else Gaia).
    ///   - correctExtinction: false treats every EBV as 0 (for comparisons only).
    init(fibermap fm: Fibermap, rows: [Int], legacy: Bool, correctExtinction: Bool, cameras: String,
         warn: (String) -> Void) throws {
        let t = fm.table
        fibermap = fm
        let n = fm.count
        if case .string(let s)? = t["PHOTSYS"]?.data {
            photsys = s.map { $0.trimmingCharacters(in: .whitespaces) }
        } else {
            // desispec: old fibermaps without PHOTSYS are southern with no reddening
            warn("fibermap of \(cameras) has no PHOTSYS column: using PHOTSYS = 'S', EBV = 0")
            photsys = [String](repeating: "S", count: n)
        }
        for r in rows where !StarPhotometry.knownPhotsys.contains(photsys[r]) {
            let id = fm.targetIDs.isEmpty ? "" : " (TARGETID \(fm.targetIDs[r]))"
            throw DESIError.badFile(path: "fibermap of \(cameras)",
                                    problem: "unknown PHOTSYS '\(photsys[r])' of fiber \(fm.fibers[r])\(id); expected N, S, G or empty")
        }
        let e = t["PHOTSYS"] == nil ? nil : t["EBV"]?.data.doubles
        ebv = correctExtinction ? (e ?? [Double](repeating: 0, count: n)) : [Double](repeating: 0, count: n)
        for b in ["G", "R", "Z"] {
            guard let f = t["FLUX_" + b]?.data.doubles else { continue }
            observed[b] = f.map { 22.5 - 2.5 * log10($0) }
        }
        for b in ["G", "BP", "RP"] {
            guard let m = t["GAIA_PHOT_\(b)_MEAN_MAG"]?.data.doubles else { continue }
            observed["GAIA-" + b] = m
        }
        if legacy {
            for b in ["G", "R", "Z"] {
                guard let m = observed[b] else { continue }
                var d = m
                for r in rows {
                    guard photsys[r] == "N" || photsys[r] == "S" else {
                        throw DESIError.badFile(path: "fibermap of \(cameras)", problem: "standard of fiber \(fm.fibers[r]) has "
                                                + "Legacy Surveys photometry but PHOTSYS '\(photsys[r])' (N or S needed)")
                    }
                    d[r] = m[r] - (try GalacticExtinction.totalToSelectiveRatio(band: b, photsys: photsys[r])) * ebv[r]
                }
                dereddened[b] = d
            }
        }
        if let g = observed["GAIA-G"], let bp = observed["GAIA-BP"], let rp = observed["GAIA-RP"] {
            var dg = g, dbp = bp, drp = rp
            for r in rows {
                let a = GalacticExtinction.gaia(g: g[r], bp: bp[r], rp: rp[r], ebv: ebv[r])
                dg[r] -= a.g; dbp[r] -= a.bp; drp[r] -= a.rp
            }
            dereddened["GAIA-G"] = dg; dereddened["GAIA-BP"] = dbp; dereddened["GAIA-RP"] = drp
        }
    }

    /// Observed colour band1 - band2 of a row (what the METADATA DATA_<color> column records).
    func color(_ b1: String, _ b2: String, row: Int) -> Double { observed[b1]![row] - observed[b2]![row] }

    /// Extinction-corrected colour of a row.
    func dereddenedColor(_ b1: String, _ b2: String, row: Int) -> Double { dereddened[b1]![row] - dereddened[b2]![row] }
}
