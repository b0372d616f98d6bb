import DESICore
import FITS
import Foundation

extension Coaddition {
    /// Coadd across cameras onto one wavelength grid (desispec.coaddition.coadd_cameras): band grids must be
    /// aligned (shared pixels within 1e-4 A). Pixels seen by one camera are copied; pixels in an overlap are the
    /// inverse-variance weighted mean, with masks OR-ed and resolution diagonals averaged with row-pixel ivar
    /// weights. Mask is cleared where ivar > 0. The result has one band named by the sorted band letters ("brz").
    public static func coaddCameras(_ spectra: Spectra) throws -> Spectra {
        let bands = spectra.bands
        if bands.count == 1 { return spectra }
        let tol = 1e-4
        let sbands = bands.sorted { mean(spectra.data[$0]!.wave) < mean(spectra.data[$1]!.wave) }
        var wave: [Double] = []
        for b in sbands {
            let w = spectra.data[b]!.wave
            if wave.isEmpty { wave = w } else { let last = wave.last!; wave += w.filter { $0 > last + tol } }
        }
        var start: [String: Int] = [:]
        for b in bands {
            let w = spectra.data[b]!.wave
            var imin = 0
            for i in wave.indices where abs(wave[i] - w[0]) < abs(wave[imin] - w[0]) { imin = i }
            guard imin + w.count <= wave.count,
                  zip(w, wave[imin..<(imin + w.count)]).allSatisfy({ abs($0 - $1) <= tol }) else {
                throw DESIError.mismatch("coadd: input wavelength grids (band '\(b)') are not aligned; "
                                         + "use --lin-step to resample to a common grid")
            }
            start[b] = imin
        }
        // Overlap flags: pixels of a band that the previous or next band (file order) also covers.
        var overlap: [String: [Bool]] = [:]
        for (i, b) in bands.enumerated() {
            let w = spectra.data[b]!.wave
            var flag = [Bool](repeating: false, count: w.count)
            for nb in [i - 1, i + 1] where nb >= 0 && nb < bands.count {
                let other = spectra.data[bands[nb]]!.wave
                for j in w.indices where !flag[j] { flag[j] = nearest(other, w[j]) <= tol }
            }
            overlap[b] = flag
        }
        let ntarget = spectra.numSpectra, nw = wave.count
        let hasMask = bands.allSatisfy { spectra.data[$0]!.mask != nil }
        let hasRes = bands.allSatisfy { spectra.data[$0]!.resolution != nil }
        let maxDiag = hasRes ? bands.map { spectra.data[$0]!.resolution!.ndiag }.max()! : 0
        var flux = [Double](repeating: 0, count: ntarget * nw), ivar = flux
        var mask = [UInt32](repeating: 0, count: ntarget * nw)
        var rdata = [Double](repeating: 0, count: ntarget * maxDiag * nw), rnorm = rdata
        var overlapPixel = [Bool](repeating: false, count: nw)
        for b in sbands {
            let d = spectra.data[b]!, s0 = start[b]!, ov = overlap[b]!, bw = d.nwave
            for j in 0..<bw where ov[j] { overlapPixel[s0 + j] = true }
            for t in 0..<ntarget {
                for j in 0..<bw {
                    let o = t * nw + s0 + j, f = Double(d.flux[t * bw + j]), iv = Double(d.ivar[t * bw + j])
                    if ov[j] {
                        flux[o] += iv * f; ivar[o] += iv
                        if hasMask { mask[o] |= d.mask![t * bw + j] }
                    } else {
                        flux[o] = f; ivar[o] = iv
                        if hasMask { mask[o] = d.mask![t * bw + j] }
                    }
                }
                if hasRes {
                    let r = d.resolution!
                    let w = (0..<bw).map { Double(d.ivar[t * bw + $0]) }
                    let (acc, norm) = resolutionCoadd(r, rows: [t], weights: w)
                    let off = (maxDiag - r.ndiag) / 2
                    for k in 0..<r.ndiag {
                        let ob = (t * maxDiag + off + k) * nw + s0
                        for j in 0..<bw {
                            if ov[j] { rdata[ob + j] += acc[k * bw + j]; rnorm[ob + j] += norm[k * bw + j] }
                            else { rdata[ob + j] = Double(r.data[(t * r.ndiag + k) * bw + j]); rnorm[ob + j] = 1 }
                        }
                    }
                }
            }
        }
        for t in 0..<ntarget {
            for i in 0..<nw {
                let o = t * nw + i
                if overlapPixel[i] { flux[o] /= ivar[o] + (ivar[o] == 0 ? 1 : 0) }
                if ivar[o] > 0 { mask[o] = 0 }
            }
            if hasRes {
                for k in 0..<maxDiag {
                    let ob = (t * maxDiag + k) * nw
                    for i in 0..<nw where overlapPixel[i] { rdata[ob + i] /= rnorm[ob + i] + (rnorm[ob + i] == 0 ? 1 : 0) }
                }
            }
        }
        let name = sbands.joined()
        let band = SpectraBand(wave: wave, flux: flux.map(Float.init), ivar: ivar.map(Float.init),
                               mask: hasMask ? mask : nil,
                               resolution: hasRes ? ResolutionData(nspec: ntarget, ndiag: maxDiag, nwave: nw,
                                                                   data: rdata.map(Float.init)) : nil)
        return try Spectra(bands: [name], data: [name: band], fibermap: spectra.fibermap, expFibermap: spectra.expFibermap,
                           scores: spectra.scores, header: spectra.header)
    }

    static func mean(_ a: [Double]) -> Double { a.reduce(0, +) / Double(max(1, a.count)) }

    /// Distance from x to the nearest value of the sorted array a.
    static func nearest(_ a: [Double], _ x: Double) -> Double {
        var lo = 0, hi = a.count
        while lo < hi { let m = (lo + hi) / 2; if a[m] < x { lo = m + 1 } else { hi = m } }
        var best = Double.infinity
        if lo < a.count { best = abs(a[lo] - x) }
        if lo > 0 { best = min(best, abs(a[lo - 1] - x)) }
        return best
    }
}
