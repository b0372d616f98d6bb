import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Spectro-perfect resampling of coadded spectra onto a new grid (desispec.coaddition.spectroperf_resample_spectra):
/// per target, the inverse covariance of the flux on the new grid, Cinv = sum_b (R_b A_b)^T W_b (R_b A_b), with A_b
/// the linear interpolation from the new grid to band b's grid, and Cinv f = sum_b (R_b A_b)^T W_b f_b; then
/// decorrelated block by block with the matrix square root (decorrelate_divide_and_conquer): flux = R_new f_true
/// with uncorrelated errors and the new resolution R_new.
public enum SpectroPerfResample {
    /// New linear grid from the bands' extent (resample_spectra_lin_or_log with linear_step).
    public static func linearGrid(_ spectra: Spectra, step: Double, waveMin: Double? = nil, waveMax: Double? = nil) throws -> [Double] {
        guard step > 0 else { throw DESIError.invalidArgument("coadd: --lin-step must be > 0") }
        let wmin = waveMin ?? spectra.bands.map { spectra.data[$0]!.wave.first! }.min()!
        let wmax = waveMax ?? spectra.bands.map { spectra.data[$0]!.wave.last! }.max()!
        guard wmax > wmin else { throw DESIError.invalidArgument("coadd: empty wavelength range \(wmin)-\(wmax)") }
        let n = Int((wmax - wmin) / step) + 1
        return (0..<n).map { wmin + Double($0) * step }
    }

    /// Resamples every spectrum onto `wave` (strictly increasing). Needs resolution matrices in every band.
    public static func resample(_ spectra: Spectra, wave: [Double]) throws -> Spectra {
        guard wave.count > 1, zip(wave, wave.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw DESIError.invalidArgument("coadd: the new wavelength grid is not strictly increasing")
        }
        for b in spectra.bands where spectra.data[b]!.resolution == nil {
            throw DESIError.invalidArgument("coadd: band \(b) has no resolution matrix; spectro-perfect resampling needs it")
        }
        let ndiag = spectra.bands.map { spectra.data[$0]!.resolution!.ndiag }.max()!
        let dw = Interpolation.gradient(wave)
        let wavebin = dw.filter { $0 > 0 }.min()!
        let nw = wave.count, ntarget = spectra.numSpectra
        // Interpolation weights of each band pixel inside the new grid: (global index hi, alpha on hi).
        var interp: [String: (pix: [Int], hi: [Int], alpha: [Double])] = [:]
        for b in spectra.bands {
            let w = spectra.data[b]!.wave
            let pix = w.indices.filter { w[$0] >= wave[0] && w[$0] <= wave[nw - 1] }
            var hi = [Int](), alpha = [Double]()
            for p in pix {
                var lo = 0, up = nw
                while lo < up { let m = (lo + up) / 2; if wave[m] < w[p] { lo = m + 1 } else { up = m } }
                if lo == 0 { hi.append(0); alpha.append(1) }
                else { hi.append(lo); alpha.append((w[p] - wave[lo - 1]) / (wave[lo] - wave[lo - 1])) }
            }
            interp[b] = (pix, hi, alpha)
        }
        let interpTable = interp
        var flux = [Float](repeating: 0, count: ntarget * nw), ivar = flux
        var rdata = [Float](repeating: 0, count: ntarget * ndiag * nw)
        try flux.withUnsafeMutableBufferPointer { pf in
        try ivar.withUnsafeMutableBufferPointer { pi in
        try rdata.withUnsafeMutableBufferPointer { pr in
            let (pf, pi, pr) = (SharedBuffer(pf), SharedBuffer(pi), SharedBuffer(pr))
            try parallelFor(ntarget) { t in
                let (cinv, cinvf) = accumulate(spectra, target: t, nwave: nw, interp: interpTable)
                do {
                    let r = try decorrelate(cinv, cinvf: cinvf, wavebin: wavebin, ndiag: ndiag)
                    for i in 0..<nw { pf[t * nw + i] = Float(r.flux[i]); pi[t * nw + i] = Float(r.ivar[i]) }
                    for k in 0..<(ndiag * nw) { pr[t * ndiag * nw + k] = Float(r.rdata[k]) }
                } catch { throw DESIError.failed("coadd: spectro-perfect resampling failed for target row \(t): \(error)") }
            }
        }}}
        let name = spectra.bands.joined()
        let band = SpectraBand(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: ntarget * nw),
                               resolution: ResolutionData(nspec: ntarget, ndiag: ndiag, nwave: nw, data: rdata))
        return try Spectra(bands: [name], data: [name: band], fibermap: spectra.fibermap, expFibermap: spectra.expFibermap,
                           scores: spectra.scores, header: spectra.header)
    }

    /// Cinv in band storage (half-width `k`: cinv.band[i * (2k+1) + (j - i + k)]) and Cinv f for one target.
    struct BandCinv { var n: Int; var k: Int; var band: [Double]
        func get(_ i: Int, _ j: Int) -> Double { abs(i - j) > k ? 0 : band[i * (2 * k + 1) + (j - i + k)] }
    }

    static func accumulate(_ spectra: Spectra, target t: Int, nwave nw: Int,
                           interp: [String: (pix: [Int], hi: [Int], alpha: [Double])]) -> (BandCinv, [Double]) {
        // Rows of RR = R A: for each band pixel i, a contiguous run of global coefficients.
        var rows: [(lo: Int, coef: [Double], w: Double, f: Double)] = []
        for b in spectra.bands {
            let d = spectra.data[b]!, r = d.resolution!, (pix, hi, alpha) = interp[b]!
            let bw = d.nwave, hw = r.ndiag / 2, m = pix.count
            if m == 0 { continue }
            // R restricted to the selected pixels (as desispec crops the diagonals to those columns).
            for li in 0..<m {
                let iv = Double(d.ivar[t * bw + pix[li]])
                if iv == 0 { continue }
                var lo = Int.max, up = Int.min
                for lj in max(0, li - hw)...min(m - 1, li + hw) { lo = min(lo, max(0, hi[lj] - 1)); up = max(up, hi[lj]) }
                var coef = [Double](repeating: 0, count: up - lo + 1)
                for lj in max(0, li - hw)...min(m - 1, li + hw) {
                    let rij = Double(r.element(spec: t, row: pix[li], column: pix[lj]))
                    if rij == 0 { continue }
                    let h = hi[lj], a = alpha[lj]
                    if h == 0 { coef[0 - lo] += rij * a }
                    else { coef[h - lo] += rij * a; coef[h - 1 - lo] += rij * (1 - a) }
                }
                rows.append((lo, coef, iv, Double(d.flux[t * bw + pix[li]])))
            }
        }
        let k = max(1, rows.map { $0.coef.count - 1 }.max() ?? 1)
        let width = 2 * k + 1
        var band = [Double](repeating: 0, count: nw * width)
        var cinvf = [Double](repeating: 0, count: nw)
        for row in rows {
            let c = row.coef
            for p in c.indices where c[p] != 0 {
                let gp = row.lo + p
                cinvf[gp] += c[p] * row.w * row.f
                for q in c.indices where c[q] != 0 {
                    band[gp * width + (row.lo + q - gp + k)] += c[p] * row.w * c[q]
                }
            }
        }
        return (BandCinv(n: nw, k: k, band: band), cinvf)
    }

    /// desispec.coaddition.decorrelate_divide_and_conquer: per diagonal block of Cinv (core 2*chw+1 pixels with a
    /// skin on each side), Q = Cinv_block^(1/2) (eigenvalues below 1e-15/mean(diag Cinv) raised to it),
    /// s = row sums of Q, R = Q / s (rows), ivar = s^2, flux = Q^-1 (Cinv f) / s.
    static func decorrelate(_ cinv: BandCinv, cinvf: [Double], wavebin: Double,
                            ndiag: Int) throws -> (flux: [Double], ivar: [Double], rdata: [Double]) {
        let nn = cinv.n
        let chw = max(10, Int(50 / wavebin)), skin = max(2, Int(10 / wavebin))
        var diagMean = 0.0
        for i in 0..<nn { diagMean += cinv.get(i, i) }
        diagMean /= Double(nn)
        let lmin = 1e-15 / diagMean
        var flux = [Double](repeating: 0, count: nn), ivar = flux
        var rdata = [Double](repeating: 0, count: ndiag * nn)
        let hw = ndiag / 2
        var c = chw
        while c < nn + (2 * chw + 1) {
            defer { c += 2 * chw + 1 }
            let b = max(0, c - chw - skin), e = min(nn, c + chw + skin + 1)
            let b1 = max(0, c - chw), e1 = min(nn, c + chw + 1)
            if e <= b || e1 <= b1 { continue }
            let n = e - b
            var block = Matrix(rows: n, cols: n)
            for i in 0..<n { for j in max(0, i - cinv.k)..<min(n, i + cinv.k + 1) { block[i, j] = cinv.get(b + i, b + j) } }
            let eig = try SymmetricEigen(block)
            let l = eig.values.map { $0 < lmin ? lmin : $0 }
            let q = eig.compose(l.map { $0.squareRoot() })
            let qinvV = matvec(eig.compose(l.map { 1 / $0.squareRoot() }), Array(cinvf[b..<e]))
            let s = q.rowSums
            for j in b1..<e1 {
                let jl = j - b
                flux[j] = qinvV[jl] / s[jl]
                ivar[j] = s[jl] * s[jl]
                for d in 0..<ndiag {
                    let dd = d - hw
                    let row = jl + dd
                    guard j + dd >= 0, j + dd < nn, row >= 0, row < n else { continue }
                    rdata[d * nn + j] = q[row, jl] / s[row]
                }
            }
        }
        return (flux, ivar, rdata)
    }
}
