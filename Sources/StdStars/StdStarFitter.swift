import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Options of the standard-star fit (desi_fit_stdstars defaults).
public struct StdStarOptions: Sendable {
    public var zMax = 0.008
    public var zRes = 2e-5
    public var templateError = 0.1
    public var deltaColor = 0.2
    public var maxStdStars = 30
    public var minBlueSNR = 4.0
    /// "G-R", "R-Z", "GAIA-BP-RP", "GAIA-G-RP"; nil: G-R for Legacy photometry, GAIA-BP-RP for Gaia.
    public var color: String? = nil
    /// TARGETIDs that override the targeting bits.
    public var stdTargetIDs: [Int64]? = nil
    /// Milky Way extinction from the fibermap's EBV (desispec always applies it); false treats EBV as 0, only to
    /// measure what the correction is worth.
    public var correctExtinction = true
    public init() {}
}

/// Fit of the standard stars of one spectrograph jointly across cameras and exposures
/// (desispec.scripts.stdstars.main).
public enum StdStarFitter {

    /// Fits the standard stars of `frames` (sframes: flat-fielded and sky-subtracted, of one spectrograph, each
    /// with resolution and fibermap; one per camera and exposure) and normalises each model to the star's
    /// r-band (Legacy, through its PHOTSYS's curve) or Gaia G photometry. Frames of several exposures are coadded
    /// per camera first (weights ivar times the relative median flux of the standards, as desispec), so each star
    /// gets one model. The models are reddened by the star's EBV (`GalacticExtinction`) before they are compared
    /// with the photometry; the colour preselection uses extinction-corrected colours. `warn` receives warnings.
    public static func fit(frames: [Frame], templates: StellarTemplates, filters: FilterSet,
                           options: StdStarOptions = StdStarOptions(), header: FITSHeader = FITSHeader(),
                           warn: (String) -> Void = { _ in }) throws -> StdStarModels {
        guard !frames.isEmpty else { throw DESIError.invalidArgument("stdstars: no input frame") }
        // consistency: one spectrograph, same fibers, one frame per camera and exposure
        var cams: [Camera] = []
        for (i, f) in frames.enumerated() {
            guard let c = f.camera else { throw DESIError.badFile(path: "frame #\(i)", problem: "no CAMERA keyword in the header") }
            guard f.resolution != nil else { throw DESIError.badFile(path: "frame \(c)", problem: "no RESOLUTION") }
            guard f.fibermap != nil else { throw DESIError.badFile(path: "frame \(c)", problem: "no FIBERMAP") }
            cams.append(c)
        }
        let sp = cams[0].spectrograph
        if let other = cams.first(where: { $0.spectrograph != sp }) {
            throw DESIError.mismatch("stdstars: frames of different spectrographs (\(cams[0]) and \(other)); "
                                     + "give the cameras of one spectrograph")
        }
        let expids = frames.map { $0.header.int("EXPID") ?? -1 }
        var seen = Set<String>()
        for (c, e) in zip(cams, expids) where !seen.insert("\(c.name)-\(e)").inserted {
            throw DESIError.mismatch("stdstars: more than one frame of camera \(c.name) for exposure \(e)")
        }
        let fm0 = frames[0].fibermap!
        for (f, c) in zip(frames, cams) where f.fibermap!.fibers != fm0.fibers || f.nspec != frames[0].nspec {
            throw DESIError.mismatch("stdstars: fibermap of \(c) differs from that of \(cams[0])")
        }
        let camList = Array(Set(cams.map(\.name))).sorted().joined(separator: ",")
        // standards
        var isStd: [Bool]
        if let ids = options.stdTargetIDs { let s = Set(ids); isStd = fm0.targetIDs.map { s.contains($0) } }
        else { isStd = StdStarSelection.isStdStar(fm0) }
        var stdRows = isStd.indices.filter { isStd[$0] }
        guard !stdRows.isEmpty else {
            throw DESIError.failed("stdstars: no standard star in the fibermap of \(camList)")
        }
        // fiber status: OR over the cameras of each exposure (desispec), applied to that exposure's frames
        var statusByExp: [Int: [UInt32]] = [:]
        for (f, e) in zip(frames, expids) {
            var st = statusByExp[e] ?? [UInt32](repeating: 0, count: fm0.count)
            for (i, s) in f.fibermap!.fiberStatus.enumerated() { st[i] |= s }
            statusByExp[e] = st
        }
        // photometry
        let t = fm0.table
        func col(_ n: String) -> [Double]? { t[n]?.data.doubles }
        var keepLegacy = [Bool](repeating: false, count: fm0.count)
        if let g = col("FLUX_G"), let r = col("FLUX_R"), let z = col("FLUX_Z") {
            for i in 0..<fm0.count { keepLegacy[i] = [g[i], r[i], z[i]].allSatisfy { $0 > 1e-3 && $0 < 1e9 } }
        }
        var keepGaia = [Bool](repeating: false, count: fm0.count)
        if let g = col("GAIA_PHOT_G_MEAN_MAG"), let b = col("GAIA_PHOT_BP_MEAN_MAG"), let r = col("GAIA_PHOT_RP_MEAN_MAG") {
            for i in 0..<fm0.count { keepGaia[i] = [g[i], b[i], r[i]].allSatisfy { $0 > 10 && $0 < 20 } }
        }
        let nLegacy = stdRows.filter { keepLegacy[$0] }.count
        let gaiaStd = nLegacy == 0
        let color = options.color ?? (gaiaStd ? "GAIA-BP-RP" : "G-R")
        guard ["G-R", "R-Z", "GAIA-BP-RP", "GAIA-G-RP"].contains(color) else { throw DESIError.invalidArgument("unknown color \(color)") }
        if gaiaStd != color.hasPrefix("GAIA") {
            throw DESIError.invalidArgument("color \(color) needs \(gaiaStd ? "Legacy" : "Gaia") photometry, which the standards lack")
        }
        stdRows = stdRows.filter { gaiaStd ? keepGaia[$0] : keepLegacy[$0] }
        guard !stdRows.isEmpty else { throw DESIError.failed("stdstars: no standard star with valid photometry") }
        let phot = try StarPhotometry(fibermap: fm0, rows: stdRows, legacy: !gaiaStd, correctExtinction: options.correctExtinction,
                                      cameras: camList, warn: warn)
        let photsys = phot.photsys

        // per-frame spectra of the standards (ivar = 0 on masked pixels and bad fibers), coadded per camera
        var perArm: [Camera.Arm: [[CameraSpectrum]]] = [:]   // arm -> frames -> stars
        for ((f, c), e) in zip(zip(frames, cams), expids) {
            let bad = StdStarSelection.badStatusMask(arm: c.arm)
            let status = statusByExp[e]!
            perArm[c.arm, default: []].append(stdRows.map { row in
                StdStarCoadd.spectrum(of: row, in: f, camera: c, fiberBad: status[row] & bad != 0)
            })
        }
        let arms = perArm.keys.sorted { $0.rawValue < $1.rawValue }
        var coadded: [Camera.Arm: [CameraSpectrum]] = [:]
        for a in arms {
            if perArm[a]!.contains(where: { $0[0].wave != perArm[a]![0][0].wave }) {
                throw DESIError.mismatch("stdstars: frames of arm \(a.rawValue) have different wavelength grids; "
                                         + "extract the exposures on one grid")
            }
            let (spectra, weights) = StdStarCoadd.coadd(perArm[a]!)
            if perArm[a]!.count > 1 {
                warn("coadding \(perArm[a]!.count) exposures of arm \(a.rawValue), weights "
                     + weights.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
            coadded[a] = spectra
        }
        // S/N per sqrt(A) per camera (desispec: median over wavelength of flux sqrt(ivar) / sqrt(dlambda))
        var snr: [Camera.Arm: [Double]] = [:]
        for a in arms {
            snr[a] = coadded[a]!.map { s in
                let grad = Interpolation.gradient(s.wave)
                return max(0, Statistics.median((0..<s.wave.count).map { s.flux[$0] * s.ivar[$0].squareRoot() / grad[$0].squareRoot() }))
            }
        }
        // the throughput dip 4300-4500 A is not fitted (desispec)
        var perStar: [[CameraSpectrum]] = stdRows.map { _ in [] }
        for a in arms {
            for (k, var s) in coadded[a]!.enumerated() {
                for j in 0..<s.wave.count where s.wave[j] >= 4300 && s.wave[j] <= 4500 { s.ivar[j] = 0 }
                perStar[k].append(s)
            }
        }
        func snrOf(_ a: Camera.Arm) -> [Double] { snr[a] ?? [Double](repeating: 0, count: stdRows.count) }
        // keep the brightest in b (or the first camera when there is no b)
        let blue = snr[.b] ?? snr[arms[0]]!
        let ranked = blue.indices.sorted { blue[$0] > blue[$1] }.prefix(options.maxStdStars).filter { blue[$0] > options.minBlueSNR }
        guard !ranked.isEmpty else {
            throw DESIError.failed("stdstars: no standard star with blue S/N > \(options.minBlueSNR) per sqrt(A)")
        }
        let chosen = Array(ranked)

        // model magnitudes and colours (unreddened models, compared with extinction-corrected star colours)
        let bands = color.hasPrefix("GAIA")
            ? color.dropFirst(5).split(separator: "-").map { "GAIA-" + $0 }
            : color.split(separator: "-").map(String.init)
        let refBand = gaiaStd ? "GAIA-G" : "R"
        var modelColors: [String: [Double]] = [:]
        for ps in Set(chosen.map { gaiaStd ? "G" : photsys[stdRows[$0]] }) {
            var c = [Double]()
            for m in 0..<templates.count {
                let s = templates.spectrum(m)
                c.append(try filters.magnitude(filterName(bands[0], ps), wave: templates.wave, flux: s)
                         - filters.magnitude(filterName(bands[1], ps), wave: templates.wave, flux: s))
            }
            modelColors[ps] = c
        }
        // fit each star (in parallel; each star is independent)
        let nstar = chosen.count
        let rowsOfChosen = chosen.map { stdRows[$0] }
        let starColors = rowsOfChosen.map { phot.color(bands[0], bands[1], row: $0) }
        let starDereddened = rowsOfChosen.map { phot.dereddenedColor(bands[0], bands[1], row: $0) }
        let refMags = rowsOfChosen.map { phot.observed[refBand]![$0] }
        let ebvs = rowsOfChosen.map { phot.ebv[$0] }
        let spectraOfChosen = chosen.map { perStar[$0] }
        let colorsByPhotsys = modelColors
        let results = parallelMap(nstar) { k -> Result<FitResult, any Error> in
            let row = rowsOfChosen[k]
            let ps = gaiaStd ? "G" : photsys[row]
            let starColor = starDereddened[k]
            let mc = colorsByPhotsys[ps]!
            let sel0 = (0..<templates.count).filter { abs(mc[$0] - starColor) < options.deltaColor }
            guard !sel0.isEmpty else { return .failure(DESIError.failed("no model within \(options.deltaColor) of colour \(starColor)")) }
            func within(_ v: [Double]) -> (Double, Double) { let s = sel0.map { v[$0] }; return (s.min()!, s.max()!) }
            let (t0, t1) = within(templates.teff), (g0, g1) = within(templates.logg), (f0, f1) = within(templates.feh)
            let sel = (0..<templates.count).filter {
                templates.teff[$0] >= t0 && templates.teff[$0] <= t1 && templates.logg[$0] >= g0 && templates.logg[$0] <= g1
                    && templates.feh[$0] >= f0 && templates.feh[$0] <= f1
            }
            do {
                let m = try TemplateFitter.matchTemplates(spectraOfChosen[k], templates: templates.selecting(sel),
                                                          zMax: options.zMax, zRes: options.zRes, templateError: options.templateError)
                var coef = [Double](repeating: 0, count: templates.count)
                for (i, s) in sel.enumerated() { coef[s] = m.coefficients[i] }
                var model = [Double](repeating: 0, count: templates.nwave)
                let shifted = templates.wave.map { $0 * (1 + m.redshift) }
                for i in 0..<templates.count where coef[i] != 0 {
                    let f = Interpolation.linear(x: shifted, y: templates.spectrum(i), at: templates.wave)
                    for j in 0..<model.count { model[j] += coef[i] * f[j] }
                }
                // the star as seen through the Milky Way: redden the model before comparing with the photometry
                let dust = GalacticExtinction.transmission(wave: templates.wave, ebv: ebvs[k])
                for j in 0..<model.count { model[j] *= dust[j] }
                let m1 = try filters.magnitude(filterName(bands[0], ps), wave: templates.wave, flux: model)
                let m2 = try filters.magnitude(filterName(bands[1], ps), wave: templates.wave, flux: model)
                let mref = try filters.magnitude(filterName(refBand, ps), wave: templates.wave, flux: model)
                let scale = pow(10, (mref - refMags[k]) / 2.5)
                return .success(FitResult(row: row, coef: coef, z: m.redshift, chi2dof: m.chi2dof,
                                          dataColor: starColors[k], modelColor: m1 - m2, flux: model.map { $0 * scale }))
            } catch {
                return .failure(error)
            }
        }
        let fitted = results.enumerated().compactMap { (k, r) -> (Int, FitResult)? in
            if case .success(let v) = r { return (k, v) }
            return nil
        }
        guard !fitted.isEmpty else {
            let why = results.compactMap { r -> String? in if case .failure(let e) = r { return "\(e)" }; return nil }.first ?? "unknown"
            throw DESIError.failed("stdstars: no star has been fit (\(why))")
        }
        // output
        let rows = fitted.map { $0.1.row }
        let fibers = rows.map { fm0.fibers[$0] }
        func dcol(_ n: String, _ v: [Double]) -> FITSColumn { FITSColumn(n, .double(v)) }
        let ks = fitted.map { chosen[$0.0] }
        var meta = FITSTable(columns: [
            FITSColumn("TARGETID", .int64(rows.map { fm0.targetIDs.isEmpty ? 0 : fm0.targetIDs[$0] })),
            FITSColumn("FIBER", .int32(fibers.map { Int32($0) })),
            dcol("LOGG", fitted.map { zip($0.1.coef, templates.logg).map(*).reduce(0, +) }),
            dcol("TEFF", fitted.map { zip($0.1.coef, templates.teff).map(*).reduce(0, +) }),
            dcol("FEH", fitted.map { zip($0.1.coef, templates.feh).map(*).reduce(0, +) }),
            dcol("CHI2DOF", fitted.map { $0.1.chi2dof }),
            dcol("REDSHIFT", fitted.map { $0.1.z }),
            dcol("DATA_\(color)", fitted.map { $0.1.dataColor }),
            dcol("MODEL_\(color)", fitted.map { $0.1.modelColor }),
            dcol("BLUE_SNR", ks.map { snrOf(.b)[$0] }),
            dcol("RED_SNR", ks.map { snrOf(.r)[$0] }),
            dcol("NIR_SNR", ks.map { snrOf(.z)[$0] }),
        ])
        meta.header = FITSHeader()
        var fmOut = fm0.selecting(rows: rows)
        for c in ["DELTA_X", "DELTA_Y", "EXPTIME", "NUM_ITER", "FIBER_RA", "FIBER_DEC", "FIBER_X", "FIBER_Y"] { fmOut.table[c] = nil }
        let inputs = FITSTable(columns: [
            FITSColumn("NIGHT", .int32(frames.map { Int32($0.header.int("NIGHT") ?? 0) })),
            FITSColumn("EXPID", .int32(frames.map { Int32($0.header.int("EXPID") ?? 0) })),
            FITSColumn("CAMERA", .string(cams.map(\.name))),
        ])
        return StdStarModels(wave: templates.wave, flux: fitted.flatMap { $0.1.flux }, fibers: fibers, metadata: meta,
                             coefficients: fitted.flatMap { $0.1.coef }, ntemplates: templates.count,
                             fibermap: fmOut, inputFrames: inputs, header: header)
    }

    /// desispec's filter key: Gaia bands by name, Legacy bands with the star's PHOTSYS (N or S).
    static func filterName(_ band: String, _ ps: String) -> String { band.hasPrefix("GAIA") ? band : band + ps }

    struct FitResult: Sendable {
        var row: Int; var coef: [Double]; var z: Double; var chi2dof: Double
        var dataColor: Double; var modelColor: Double; var flux: [Double]
    }
}
