import DESICore
import Foundation
import LinearAlgebra

/// Frame-level QA metrics, as desispec's qa_fiberflat, qa_skysub (qalib.sky_resid), qa_fluxcalib and
/// qalib.SignalVsNoise compute them.
public enum FrameMetrics {

    /// FIBERFLAT metrics of a flat-lamp frame and the fiber flat made from it (desispec.fiberflat.qa_fiberflat):
    /// MAX_MEANSPEC, N_MASK, MAX_SCALE_OFF [value, fiber], MAX_OFF, MAX_MEAN_OFF [value, fiber], MAX_RMS [value, fiber].
    /// Fiber areas are taken as equal (desispec normalises by the focal-plane area of each fiber).
    public static func fiberFlat(frameFlux: [Float], flat: [Float], flatMask: [UInt32], meanSpectrum: [Float],
                                 nspec: Int, nwave: Int, chi2pdf: Double? = nil, params: QAParameters = QAParameters()) -> QAValue {
        var out: [(String, QAValue)] = []
        out.append(("MAX_MEANSPEC", .double(Double(meanSpectrum.max() ?? 0))))
        out.append(("CHI2PDF", .double(chi2pdf ?? 0)))
        let nmask = flatMask.filter { $0 != 0 }.count
        out.append(("N_MASK", .int(nmask)))
        var scale = [Double](repeating: 0, count: nspec), mean = scale, rms = scale
        var maxOff = 0.0
        for f in 0..<nspec {
            var ratios: [Double] = [], good: [Double] = []
            for j in 0..<nwave {
                let k = f * nwave + j
                let ok = flatMask[k] == 0
                let m = Double(meanSpectrum[j])
                ratios.append(ok && m != 0 ? Double(frameFlux[k]) / m : 0)
                good.append(ok ? Double(flat[k]) : 0)
                maxOff = max(maxOff, abs(Double(flat[k]) - 1))
            }
            scale[f] = QAStats.median(ratios)
            mean[f] = QAStats.mean(good)
            rms[f] = QAStats.std((0..<nwave).map { flatMask[f * nwave + $0] == 0 ? good[$0] - mean[f] : 0 })
        }
        func argmaxAbs(_ v: [Double], around c: Double) -> (Double, Int) {
            var best = (0.0, 0)
            for (i, x) in v.enumerated() where abs(x - c) > best.0 { best = (abs(x - c), i) }
            return best
        }
        let s = argmaxAbs(scale, around: 1), mo = argmaxAbs(mean, around: 1), r = argmaxAbs(rms, around: 0)
        out.append(("MAX_SCALE_OFF", .list([.double(s.0), .int(s.1)])))
        out.append(("MAX_OFF", .double(maxOff)))
        out.append(("MAX_MEAN_OFF", .list([.double(mo.0), .int(mo.1)])))
        out.append(("MAX_RMS", .list([.double(r.0), .int(r.1)])))
        var warnings: [QAValue] = []
        if nmask > params.maxNMask { warnings.append(.string("N_MASK \(nmask) > \(params.maxNMask)")) }
        if s.0 > params.maxScaleOffset { warnings.append(.string("MAX_SCALE_OFF \(fmt(s.0)) in fiber \(s.1) > \(params.maxScaleOffset)")) }
        if maxOff > params.maxOffset { warnings.append(.string("MAX_OFF \(fmt(maxOff)) > \(params.maxOffset)")) }
        if mo.0 > params.maxMeanOffset { warnings.append(.string("MAX_MEAN_OFF \(fmt(mo.0)) in fiber \(mo.1) > \(params.maxMeanOffset)")) }
        if r.0 > params.maxRMS { warnings.append(.string("MAX_RMS \(fmt(r.0)) in fiber \(r.1) > \(params.maxRMS)")) }
        out.append(("WARNINGS", .list(warnings)))
        return .dict(out)
    }

    /// SKYSUB metrics of a sky-subtracted frame (desispec qalib.sky_resid): NSKY_FIB, NBAD_PCHI, MED_RESID,
    /// RESID_PER, MED_RESID_FIBER, MED_RESID_WAVE, WAVG_RES_WAVE, DEVS_1D/DEVS_EDGES; plus NREJ when known.
    public static func skyResiduals(sframe: Frame, skyRows: [Int], rejected: Int? = nil, params: QAParameters = QAParameters()) -> QAValue {
        let nwave = sframe.nwave
        var out: [(String, QAValue)] = []
        if let rejected { out.append(("NREJ", .int(rejected))) }
        out.append(("NSKY_FIB", .int(skyRows.count)))
        var all: [Double] = [], medFiber: [Double] = [], badChi = 0, devs: [Double] = []
        var wsum = [Double](repeating: 0, count: nwave), w = wsum
        var columns = [[Double]](repeating: [], count: nwave)
        for f in skyRows {
            var chi2 = 0.0, dof = 0, row: [Double] = []
            for j in 0..<nwave {
                let k = f * nwave + j
                let r = Double(sframe.flux[k]), iv = Double(sframe.ivar[k])
                row.append(r); columns[j].append(r)
                chi2 += iv * r * r
                if iv > 0 { dof += 1; devs.append(r * iv.squareRoot()) }
                wsum[j] += r * iv; w[j] += iv
            }
            all += row
            medFiber.append(QAStats.median(row))
            if dof > 0 && Distributions.chi2SF(chi2, dof: Double(dof)) < params.pchiResidual { badChi += 1 }
        }
        out.append(("NBAD_PCHI", .int(badChi)))
        out.append(("MED_RESID", .double(QAStats.median(all))))
        let half = params.residualPercent / 2
        out.append(("RESID_PER", .doubles([QAStats.percentile(all, 50 - half), QAStats.percentile(all, 50 + half)])))
        out.append(("MED_RESID_FIBER", .doubles(medFiber)))
        out.append(("SKY_FIBERID", .ints(skyRows)))
        out.append(("MED_RESID_WAVE", .doubles(columns.map(QAStats.median))))
        out.append(("WAVG_RES_WAVE", .doubles(zip(wsum, w).map { $1 > 0 ? $0 / $1 : 0 })))
        if let lo = devs.min(), let hi = devs.max() {
            let i0 = Int(lo / params.binSize) - 1, i1 = Int(hi / params.binSize) + 1
            var hist = [Int](repeating: 0, count: i1 - i0)
            for d in devs {
                let b = Int(((d - Double(i0) * params.binSize) / params.binSize).rounded(.down))
                if b >= 0 && b < hist.count { hist[b] += 1 }
            }
            out.append(("DEVS_1D", .ints(hist)))
            out.append(("DEVS_EDGES", .doubles((i0...i1).map { Double($0) * params.binSize })))
            out.append(("CHI2PDF", .double(devs.reduce(0) { $0 + $1 * $1 } / Double(devs.count))))
        }
        return .dict(out)
    }

    /// AB zero point of a calibration vector (desispec.fluxcalibration.ZP_from_calib): the AB magnitude that gives
    /// one electron per second per Angstrom; calib in electrons/A per 1e-17 erg/s/cm2/A.
    public static func zeroPoint(exptime: Double, wave: [Double], calib: [Double]) -> [Double] {
        zip(wave, calib).map { w, c in
            guard c > 0 else { return 0 }
            let fLambda = 1e-17 / (c / exptime)
            let fNu = fLambda * w * w / 2.9979e18
            return -2.5 * log10(fNu) - 48.6
        }
    }

    /// FLUXCALIB metrics (desispec.fluxcalibration.qa_fluxcalib): ZP (median calibration of the standard stars),
    /// NSTARS_FIBER, RMS_ZP and MAX_ZP_OFF [value, fiber] of the per-star zero points at the arm's wavelength.
    public static func fluxCalibration(exptime: Double, arm: Camera.Arm, wave: [Double], calib: [Float],
                                       calibIvar: [Float]? = nil, frameIvar: [Float], stdRows: [Int], fibers: [Int],
                                       params: QAParameters = QAParameters()) -> QAValue {
        let nwave = wave.count
        let zpWave = QAParameters.zeroPointWavelength(arm)
        func window(_ w: [Double]) -> Range<Int> {
            let i = w.indices.min { abs(w[$0] - zpWave) < abs(w[$1] - zpWave) } ?? 0
            return max(0, i - 10)..<min(w.count, i + 10)
        }
        let median = (0..<nwave).map { j in QAStats.median(stdRows.map { Double(calib[$0 * nwave + j]) }) }
        let zp = zeroPoint(exptime: exptime, wave: wave, calib: median)
        let zpValue = QAStats.median(Array(zp[window(wave)]))
        var perStar: [Double] = []
        for s in stdRows {
            let good = (0..<nwave).filter { frameIvar[s * nwave + $0] > 0 }
            guard !good.isEmpty else { perStar.append(0); continue }
            let w = good.map { wave[$0] }
            let z = zeroPoint(exptime: exptime, wave: w, calib: good.map { Double(calib[s * nwave + $0]) })
            perStar.append(QAStats.median(Array(z[window(w)])))
        }
        var out: [(String, QAValue)] = [("ZP", .double(zpValue)), ("ZP_WAVE", .double(zpWave)), ("NSTARS_FIBER", .int(stdRows.count))]
        out.append(("RMS_ZP", .double(QAStats.std(perStar))))
        let offsets = perStar.map { $0 - zpValue }
        if let i = offsets.indices.max(by: { abs(offsets[$0]) < abs(offsets[$1]) }) {
            out.append(("MAX_ZP_OFF", .list([.double(offsets[i]), .int(fibers[stdRows[i]])])))
            if abs(offsets[i]) > params.maxZPOffset {
                let warning = "standard star in fiber \(fibers[stdRows[i]]) has ZP offset \(fmt(offsets[i])) mag"
                out.append(("WARNINGS", .list([.string(warning)])))
            }
        }
        return .dict(out)
    }

    /// Median S/N per fiber and, per target class (OBJTYPE / DESI_TARGET class), S/N against r magnitude with a
    /// fit of log10(S/N) = a + b mag (qalib.SignalVsNoise).
    public static func signalToNoise(frame: Frame) -> QAValue {
        let nwave = frame.nwave
        let snr = (0..<frame.nspec).map { f in
            QAStats.median((0..<nwave).map { j in Double(frame.flux[f * nwave + j]) * Double(frame.ivar[f * nwave + j]).squareRoot() })
        }
        var out: [(String, QAValue)] = [("MEDIAN_SNR", .doubles(snr))]
        guard let fm = frame.fibermap else { return .dict(out) }
        let mags = rMagnitudes(fm)
        let classes = targetClasses(fm)
        for cls in ["ELG", "LRG", "QSO", "BGS", "STD", "MWS"] {
            let rows = classes.indices.filter { classes[$0] == cls }
            guard !rows.isEmpty else { continue }
            var entry: [(String, QAValue)] = [("FIBERID", .ints(rows.map { frame.fibers[$0] })),
                                              ("SNR", .doubles(rows.map { snr[$0] })),
                                              ("MAG", .doubles(rows.map { mags[$0] }))]
            let pts = rows.filter { snr[$0] > 0 && mags[$0].isFinite }
            if pts.count >= 3 {
                let x = pts.map { mags[$0] }, y = pts.map { log10(snr[$0]) }
                let mx = QAStats.mean(x), my = QAStats.mean(y)
                let sxx = x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
                if sxx > 0 {
                    let b = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / sxx
                    entry.append(("FIT_LOG10SNR_VS_MAG", .doubles([my - b * mx, b])))
                }
            }
            out.append((cls, .dict(entry)))
        }
        return .dict(out)
    }

    /// r-band AB magnitude of each fiber from FLUX_R (nanomaggies), NaN where absent or not positive.
    static func rMagnitudes(_ fm: Fibermap) -> [Double] {
        let flux = fm.table["FLUX_R"]?.data.doubles ?? [Double](repeating: .nan, count: fm.count)
        return flux.map { $0 > 0 ? 22.5 - 2.5 * log10($0) : .nan }
    }

    /// SKY, STD, or the target class named in OBJTYPE / DESI_TARGET bits (ELG, LRG, QSO, BGS, MWS).
    static func targetClasses(_ fm: Fibermap) -> [String] {
        let objtype = fm.objtypes.map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        let desiTarget = fm.table["DESI_TARGET"]?.data.ints ?? [Int](repeating: 0, count: fm.count)
        return zip(objtype, desiTarget).map { o, t in
            if o == "SKY" { return "SKY" }
            // desitarget DESI_TARGET bits: LRG 0, ELG 1, QSO 2, BGS_ANY 60, MWS_ANY 61, STD_FAINT 33, STD_BRIGHT 35.
            if t & (1 << 33 | 1 << 35) != 0 || o == "STD" { return "STD" }
            if t & (1 << 2) != 0 || o == "QSO" { return "QSO" }
            if t & (1 << 0) != 0 || o == "LRG" { return "LRG" }
            if t & (1 << 1) != 0 || o == "ELG" { return "ELG" }
            if t & (1 << 60) != 0 || o == "BGS" { return "BGS" }
            if t & (1 << 61) != 0 || o == "MWS" { return "MWS" }
            return o.isEmpty ? "TGT" : o
        }
    }

    static func fmt(_ x: Double) -> String { String(format: "%.4g", x) }
}
