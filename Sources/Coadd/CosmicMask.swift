import Foundation
import LinearAlgebra

/// Cosmic-ray rejection across the exposures of one target and camera (desispec.coaddition._mask_cosmics):
/// compares the flux gradients of the exposures pixel by pixel, and where their chi2 around the weighted
/// mean gradient exceeds the nsig tail threshold, masks the most deviant exposure (iteratively) on both
/// pixels of the gradient.
enum CosmicMask {
    static let minForCosmics = 3

    /// `flux`, `ivar`: [nexp, nwave] row-major (ivar already 0 where masked). Returns a [nexp, nwave] mask.
    static func find(wave: [Double], flux: [Double], ivar: [Double], nexp: Int, nsig: Double) -> [Bool] {
        let nw = wave.count
        var cosmic = [Bool](repeating: false, count: nexp * nw)
        guard nexp >= minForCosmics, nw > 1 else { return cosmic }
        var specPos: [Int] = []
        var grad: [[Double]] = [], gradIvar: [[Double]] = []
        for j in 0..<nexp {
            let iv = Array(ivar[(j * nw)..<((j + 1) * nw)])
            let good = iv.indices.filter { iv[$0] > 0 }
            if good.isEmpty { continue }
            specPos.append(j)
            var f = Array(flux[(j * nw)..<((j + 1) * nw)])
            var v = iv
            if good.count < nw {
                let gw = good.map { wave[$0] }
                let gf = good.map { f[$0] }, gv = good.map { iv[$0] }
                for i in 0..<nw where !(iv[i] > 0) {
                    f[i] = Interpolation.linear(x: gw, y: gf, at: wave[i])
                    v[i] = Interpolation.linear(x: gw, y: gv, at: wave[i])
                }
            }
            var g = [Double](repeating: 0, count: nw - 1), gi = g
            for i in 0..<(nw - 1) {
                g[i] = f[i + 1] - f[i]
                // As desispec: variance 1/(ivar + (ivar == 0)), i.e. 1 where ivar is still 0.
                let gv = 1 / (v[i] + (v[i] == 0 ? 1 : 0)) + 1 / (v[i + 1] + (v[i + 1] == 0 ? 1 : 0))
                gi[i] = gv > 0 ? 1 / gv : 0
            }
            grad.append(g); gradIvar.append(gi)
        }
        let n = grad.count
        guard n >= minForCosmics else { return cosmic }
        let m = nw - 1
        var chi2 = [Double](repeating: 0, count: m)
        var bad = [Bool](repeating: false, count: m)
        var delta = [[Double]](repeating: [Double](repeating: 0, count: m), count: n)
        for i in 0..<m {
            var s = 0.0, sw = 0.0
            for k in 0..<n { s += gradIvar[k][i]; sw += gradIvar[k][i] * grad[k][i] }
            if s == 0 { bad[i] = true }
            let mean = sw / (s + (s == 0 ? 1 : 0))
            var c = 0.0
            for k in 0..<n { let d = grad[k][i] - mean; delta[k][i] = d; c += gradIvar[k][i] * d * d }
            chi2[i] = c
        }
        guard bad.contains(false) else { return cosmic }
        let medChi2 = Statistics.percentile(chi2, 50)   // median, as numpy.percentile(chi2, 50)
        let threshold: Double, fixed: Double?
        if medChi2 > 2 * Distributions.chi2PPF(0.5, dof: Double(n - 1)) {
            // Variable object: threshold from the spread of chi2 itself.
            threshold = medChi2 + (Statistics.percentile(chi2, 84) - medChi2) * nsig
            fixed = threshold
        } else {
            threshold = chi2Threshold(n: n, nsig: nsig)
            fixed = nil
        }
        for i in 0..<m where chi2[i] > threshold && !bad[i] {
            let col = (0..<n).map { delta[$0][i] }, civ = (0..<n).map { gradIvar[$0][i] }
            let badk = iterativeMasker(col, civ, nsig: nsig, fixedThreshold: fixed)
            for k in 0..<n where badk[k] {
                cosmic[specPos[k] * nw + i] = true
                cosmic[specPos[k] * nw + i + 1] = true
            }
        }
        return cosmic
    }

    /// chi2 (not reduced) with n-1 dof whose upper tail has the probability of a nsig one-sided normal tail.
    static func chi2Threshold(n: Int, nsig: Double) -> Double {
        Distributions.chi2ISF(Distributions.normalCDF(-nsig), dof: Double(n - 1))
    }

    /// desispec.coaddition._iterative_masker: drops the most deviant value while the chi2 exceeds the threshold.
    static func iterativeMasker(_ v: [Double], _ iv: [Double], nsig: Double, fixedThreshold: Double?) -> [Bool] {
        var good = [Bool](repeating: true, count: v.count)
        while true {
            var s = 0.0, sw = 0.0
            for k in v.indices where good[k] { s += iv[k]; sw += iv[k] * v[k] }
            let mean = sw / s
            var chi2 = 0.0, worst = -1, worstVal = -Double.infinity
            for k in v.indices {
                let metric = (v[k] - mean) * (v[k] - mean) * iv[k]
                if good[k] { chi2 += metric }
                let mg = good[k] ? metric : 0
                if mg > worstVal { worstVal = mg; worst = k }
            }
            let ngood = good.filter { $0 }.count
            let thr = fixedThreshold ?? chi2Threshold(n: ngood, nsig: nsig)
            if chi2 > thr { good[worst] = false } else { break }
            if good.filter({ $0 }).count < minForCosmics { break }
        }
        return good.map { !$0 }
    }
}
