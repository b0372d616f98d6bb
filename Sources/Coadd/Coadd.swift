import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Coaddition of the exposures of each target, camera by camera (desispec.coaddition.coadd).
public enum Coaddition {
    /// FIBERSTATUS bits that exclude an exposure from the coadd of a band
    /// (desispec.fiberbitmasking.get_all_fiberbitmask_with_amp(band), values of desispec 0.70).
    public static func badFiberStatusBits(band: String) -> UInt32 {
        let nonAmp: UInt32 = FiberStatus.brokenFiber | FiberStatus.missingPosition
            | FiberStatus.badPosition | FiberStatus.badFiber | FiberStatus.badTrace | FiberStatus.badFlat
            | FiberStatus.badArc | FiberStatus.manyBadColumns | FiberStatus.manyRejected
        var m = nonAmp
        let b = band.lowercased()
        if b.contains("b") { m |= FiberStatus.badAmpB }
        if b.contains("r") { m |= FiberStatus.badAmpR }
        if b.contains("z") { m |= FiberStatus.badAmpZ }
        return m
    }

    /// Inverse-variance coadd of all exposures of each TARGETID in each band; resolution matrices combined with
    /// the same per-pixel weights (row pixel of each diagonal element, desispec _resolution_coadd); masked pixels
    /// (mask != 0) and, with `cosmicsNsig` > 0, cosmic-ray outliers get zero weight; where every exposure is
    /// masked the unmasked ivar weights are used and the masks OR-ed. Exposures whose FIBERSTATUS has a fatal bit
    /// for the band are left out. Returns one row per target with FIBERMAP (coadd_fibermap), EXP_FIBERMAP, SCORES.
    public static func coadd(_ spectra: Spectra, cosmicsNsig: Double = 4, onetile: Bool = false) throws -> Spectra {
        let tidRows = spectra.targetIDRows
        guard tidRows.count == spectra.numSpectra else {
            throw DESIError.invalidArgument("coadd: FIBERMAP has no TARGETID column")
        }
        let targets = spectra.targetIDs
        var rowsOf: [Int64: [Int]] = [:]
        for (i, t) in tidRows.enumerated() { rowsOf[t, default: []].append(i) }
        let fs = (spectra.fibermap["FIBERSTATUS"] ?? spectra.fibermap["COADD_FIBERSTATUS"])?.data.ints
            .map { $0.map { UInt32(truncatingIfNeeded: $0) } } ?? [UInt32](repeating: 0, count: tidRows.count)
        let ntarget = targets.count
        let targetRows = targets.map { rowsOf[$0]! }

        var out: [String: SpectraBand] = [:]
        for b in spectra.bands {
            let d = spectra.data[b]!
            let nw = d.nwave
            let badBits = badFiberStatusBits(band: b)
            let ndiag = d.resolution?.ndiag ?? 0
            var tflux = [Float](repeating: 0, count: ntarget * nw)
            var tivar = tflux
            var tmask = [UInt32](repeating: 0, count: ntarget * nw)
            var trdata = [Float](repeating: 0, count: ntarget * ndiag * nw)
            tflux.withUnsafeMutableBufferPointer { pf in
            tivar.withUnsafeMutableBufferPointer { pi in
            tmask.withUnsafeMutableBufferPointer { pm in
            trdata.withUnsafeMutableBufferPointer { pr in
                let (pf, pi, pm, pr) = (SharedBuffer(pf), SharedBuffer(pi), SharedBuffer(pm), SharedBuffer(pr))
                parallelFor(ntarget) { t in
                    let jj = targetRows[t].filter { fs[$0] & badBits == 0 }
                    if jj.isEmpty { return }
                    let r = coaddTarget(d, rows: jj, cosmicsNsig: cosmicsNsig)
                    for i in 0..<nw {
                        pf[t * nw + i] = Float(r.flux[i]); pi[t * nw + i] = Float(r.ivar[i]); pm[t * nw + i] = r.mask[i]
                    }
                    for k in 0..<(ndiag * nw) { pr[t * ndiag * nw + k] = Float(r.rdata[k]) }
                }
            }}}}
            out[b] = SpectraBand(wave: d.wave, flux: tflux, ivar: tivar, mask: d.mask == nil ? nil : tmask,
                                 resolution: d.resolution == nil ? nil : ResolutionData(nspec: ntarget, ndiag: ndiag,
                                                                                        nwave: nw, data: trdata))
        }
        let (fm, expfm) = try CoaddFibermap.coadd(spectra.fibermap, onetile: onetile)
        var header = spectra.header
        header.set("COADDNSG", cosmicsNsig, comment: "cosmic-ray rejection threshold (sigma), 0 = none")
        var result = try Spectra(bands: spectra.bands, data: out, fibermap: fm, expFibermap: expfm, header: header)
        result.scores = CoaddScores.compute(result, inputScores: spectra.scores, inputTargetIDs: tidRows)
        return result
    }

    struct TargetCoadd { var flux: [Double]; var ivar: [Double]; var mask: [UInt32]; var rdata: [Double] }

    /// Coadd of rows `jj` of one band (one target).
    static func coaddTarget(_ d: SpectraBand, rows jj: [Int], cosmicsNsig: Double) -> TargetCoadd {
        let nw = d.nwave, n = jj.count
        var flux = [Double](repeating: 0, count: n * nw)
        var ivOrig = flux, ivMasked = flux
        var masks = [UInt32](repeating: 0, count: n * nw)
        for (k, j) in jj.enumerated() {
            for i in 0..<nw {
                let v = Double(d.ivar[j * nw + i]), m = d.mask?[j * nw + i] ?? 0
                flux[k * nw + i] = Double(d.flux[j * nw + i])
                ivOrig[k * nw + i] = v
                ivMasked[k * nw + i] = m == 0 ? v : 0
                masks[k * nw + i] = m
            }
        }
        if cosmicsNsig > 0 {
            let cosmic = CosmicMask.find(wave: d.wave, flux: flux, ivar: ivMasked, nexp: n, nsig: cosmicsNsig)
            for i in cosmic.indices where cosmic[i] { ivMasked[i] = 0 }
        }
        var tivar = [Double](repeating: 0, count: nw)
        for k in 0..<n { for i in 0..<nw { tivar[i] += ivMasked[k * nw + i] } }
        var weights = ivMasked
        var tmask = [UInt32](repeating: 0, count: nw)
        for i in 0..<nw where tivar[i] == 0 {
            // Every exposure masked here: combine with the unmasked ivar, OR the masks.
            var s = 0.0
            for k in 0..<n { weights[k * nw + i] = ivOrig[k * nw + i]; s += ivOrig[k * nw + i]; tmask[i] |= masks[k * nw + i] }
            tivar[i] = s
        }
        var tflux = [Double](repeating: 0, count: nw)
        for k in 0..<n {
            for i in 0..<nw {
                let w = weights[k * nw + i] / (tivar[i] + (tivar[i] == 0 ? 1 : 0))
                weights[k * nw + i] = w
                tflux[i] += w * flux[k * nw + i]
            }
        }
        var rdata: [Double] = []
        if let r = d.resolution {
            rdata = resolutionCoadd(r, rows: jj, weights: weights).res
        }
        return TargetCoadd(flux: tflux, ivar: tivar, mask: tmask, rdata: rdata)
    }

    /// Weighted sum of resolution matrices (desispec.coaddition._resolution_coadd): diagonal d of column j is
    /// weighted by the weight of its row pixel (j + d - ndiag/2, wrapped modulo nwave as desispec does).
    /// `weights` [rows.count, nwave]. Returns the sum and the sum of weights, both [ndiag, nwave].
    static func resolutionCoadd(_ r: ResolutionData, rows: [Int], weights: [Double]) -> (res: [Double], norm: [Double]) {
        let nw = r.nwave, nd = r.ndiag, hw = nd / 2
        var res = [Double](repeating: 0, count: nd * nw), norm = res
        r.data.withUnsafeBufferPointer { rd in
            for (k, j) in rows.enumerated() {
                for d in 0..<nd {
                    let base = (j * nd + d) * nw
                    for c in 0..<nw {
                        var row = (c + d - hw) % nw
                        if row < 0 { row += nw }
                        let w = weights[k * nw + row]
                        res[d * nw + c] += w * Double(rd[base + c])
                        norm[d * nw + c] += w
                    }
                }
            }
        }
        return (res, norm)
    }
}
