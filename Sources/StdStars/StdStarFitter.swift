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
    public init() {}
}

/// Fit of the standard stars of one spectrograph jointly across cameras (desispec.scripts.stdstars.main).
public enum StdStarFitter {

    /// Fits the standard stars of `frames` (sframes: flat-fielded and sky-subtracted, one per camera of one
    /// exposure and spectrograph, each with resolution and fibermap) and normalises each model to the star's
    /// r-band (Legacy, by PHOTSYS) or Gaia G photometry.
    public static func fit(frames: [Frame], templates: StellarTemplates, filters: FilterSet,
                           options: StdStarOptions = StdStarOptions(), header: FITSHeader = FITSHeader()) throws -> StdStarModels {
        guard !frames.isEmpty else { throw DESIError.invalidArgument("stdstars: no input frame") }
        // consistency: one spectrograph, same fibers
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
        if Set(cams.map(\.arm)).count != cams.count {
            let names = cams.map(\.name).joined(separator: ",")
            throw DESIError.mismatch("stdstars: more than one frame of the same camera (\(names)); coadding exposures is not supported")
        }
        let fm0 = frames[0].fibermap!
        for (f, c) in zip(frames, cams) where f.fibermap!.fibers != fm0.fibers || f.nspec != frames[0].nspec {
            throw DESIError.mismatch("stdstars: fibermap of \(c) differs from that of \(cams[0])")
        }
        // standards
        var isStd: [Bool]
        if let ids = options.stdTargetIDs { let s = Set(ids); isStd = fm0.targetIDs.map { s.contains($0) } }
        else { isStd = StdStarSelection.isStdStar(fm0) }
        var stdRows = isStd.indices.filter { isStd[$0] }
        guard !stdRows.isEmpty else {
            throw DESIError.failed("stdstars: no standard star in the fibermap of \(cams.map(\.name).joined(separator: ","))")
        }
        // fiber status, OR over cameras
        var status = [UInt32](repeating: 0, count: fm0.count)
        for f in frames { for (i, s) in f.fibermap!.fiberStatus.enumerated() { status[i] |= s } }
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
        let photsys: [String] = {
            if case .string(let s)? = t["PHOTSYS"]?.data { return s.map { $0.trimmingCharacters(in: .whitespaces) } }
            return [String](repeating: "S", count: fm0.count)
        }()

        // per-camera spectra of the standards (ivar = 0 on masked pixels, bad fibers, 4300-4500 A)
        let order = zip(frames, cams).sorted { $0.1.arm < $1.1.arm }
        var perStar: [[CameraSpectrum]] = stdRows.map { _ in [] }
        var snr: [Camera.Arm: [Double]] = [:]
        for (f, c) in order {
            let nw = f.nwave
            let res = f.resolution!
            let grad = Interpolation.gradient(f.wave)
            let bad = StdStarSelection.badStatusMask(arm: c.arm)
            var s = [Double](repeating: 0, count: stdRows.count)
            for (k, row) in stdRows.enumerated() {
                var flux = [Double](repeating: 0, count: nw), ivar = [Double](repeating: 0, count: nw)
                let fiberBad = status[row] & bad != 0
                for j in 0..<nw {
                    let p = row * nw + j
                    let iv = (f.mask[p] == 0 && !fiberBad) ? Double(f.ivar[p]) : 0
                    ivar[j] = iv; flux[j] = iv > 0 ? Double(f.flux[p]) : 0
                }
                var snrs: [Double] = []
                for j in 0..<nw { snrs.append(flux[j] * ivar[j].squareRoot() / grad[j].squareRoot()) }
                s[k] = max(0, Statistics.median(snrs))
                for j in 0..<nw where f.wave[j] >= 4300 && f.wave[j] <= 4500 { ivar[j] = 0 }
                let rd = Array(res.data[(row * res.ndiag * nw)..<((row + 1) * res.ndiag * nw)]).map { Double($0) }
                perStar[k].append(CameraSpectrum(camera: c.arm.rawValue, wave: f.wave, flux: flux, ivar: ivar, resolution: rd,
                                                 ndiag: res.ndiag))
            }
            snr[c.arm] = s
        }
        func snrOf(_ a: Camera.Arm) -> [Double] { snr[a] ?? [Double](repeating: 0, count: stdRows.count) }
        // keep the brightest in b (or the first camera when there is no b)
        let blue = snr[.b] ?? snr[order[0].1.arm]!
        let ranked = blue.indices.sorted { blue[$0] > blue[$1] }.prefix(options.maxStdStars).filter { blue[$0] > options.minBlueSNR }
        guard !ranked.isEmpty else {
            throw DESIError.failed("stdstars: no standard star with blue S/N > \(options.minBlueSNR) per sqrt(A)")
        }
        let chosen = Array(ranked)

        // model magnitudes and colours
        let bands = color.hasPrefix("GAIA")
            ? color.dropFirst(5).split(separator: "-").map { "GAIA-" + $0 }
            : color.split(separator: "-").map(String.init)
        let refBand = gaiaStd ? "GAIA-G" : "R"
        func starMag(_ band: String, _ row: Int) -> Double {
            if band.hasPrefix("GAIA") { return col("GAIA_PHOT_" + band.dropFirst(5) + "_MEAN_MAG")![row] }
            return 22.5 - 2.5 * log10(col("FLUX_" + band)![row])
        }
        var modelColors: [String: [Double]] = [:]
        for ps in Set(chosen.map { photsys[stdRows[$0]] }) {
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
        let starColors = chosen.map { starMag(bands[0], stdRows[$0]) - starMag(bands[1], stdRows[$0]) }
        let refMags = chosen.map { starMag(refBand, stdRows[$0]) }
        let rowsOfChosen = chosen.map { stdRows[$0] }
        let spectraOfChosen = chosen.map { perStar[$0] }
        let colorsByPhotsys = modelColors
        let results = parallelMap(nstar) { k -> Result<FitResult, any Error> in
            let row = rowsOfChosen[k]
            let ps = photsys[row]
            let starColor = starColors[k]
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
                let m1 = try filters.magnitude(filterName(bands[0], ps), wave: templates.wave, flux: model)
                let m2 = try filters.magnitude(filterName(bands[1], ps), wave: templates.wave, flux: model)
                let mref = try filters.magnitude(filterName(refBand, ps), wave: templates.wave, flux: model)
                let scale = pow(10, (mref - refMags[k]) / 2.5)
                return .success(FitResult(row: row, coef: coef, z: m.redshift, chi2dof: m.chi2dof,
                                          dataColor: starColor, modelColor: m1 - m2, flux: model.map { $0 * scale }))
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
            FITSColumn("NIGHT", .int32(order.map { Int32($0.0.header.int("NIGHT") ?? 0) })),
            FITSColumn("EXPID", .int32(order.map { Int32($0.0.header.int("EXPID") ?? 0) })),
            FITSColumn("CAMERA", .string(order.map { $0.1.name })),
        ])
        return StdStarModels(wave: templates.wave, flux: fitted.flatMap { $0.1.flux }, fibers: fibers, metadata: meta,
                             coefficients: fitted.flatMap { $0.1.coef }, ntemplates: templates.count,
                             fibermap: fmOut, inputFrames: inputs, header: header)
    }

    static func filterName(_ band: String, _ ps: String) -> String { band.hasPrefix("GAIA") ? band : band + (ps == "N" ? "N" : "S") }

    struct FitResult: Sendable {
        var row: Int; var coef: [Double]; var z: Double; var chi2dof: Double
        var dataColor: Double; var modelColor: Double; var flux: [Double]
    }
}
