import DESICore
import Foundation
import LinearAlgebra

/// Extra variance of the sky model around sky lines (desispec.sky._model_variance): where the sky fibers'
/// residuals exceed their errors, the model variance gets (0.005 sky)^2 + (sigma_w dsky/dwave)^2 with
/// sigma_w the smallest wavelength error (0.005 ... 2 A) that brings the median chi2 of the sky fibers to 1.
/// `skyFlux`, `skyIvar`: the sky fibers' flat-fielded flux and ivar; `cskyFlux`, `cskyIvar`: model of all
/// fibers [nspec * nwave]. Returns the modified model ivar of all fibers.
func modelVariance(wave: [Double], skyFlux: [[Double]], skyIvar: [[Double]], skyRows: [Int],
                   cskyFlux: [Double], cskyIvar: [Double], nspec: Int, log: ((String) -> Void)?) -> [Double] {
    let nwave = wave.count, nsky = skyRows.count
    // total ivar and residuals of the sky fibers
    var tivar = [[Double]](repeating: [Double](repeating: 0, count: nwave), count: nsky)
    var res2 = tivar
    for s in 0..<nsky {
        for i in 0..<nwave {
            tivar[s][i] = combineIvar(skyIvar[s][i], cskyIvar[skyRows[s] * nwave + i])
            let d = skyFlux[s][i] - cskyFlux[skyRows[s] * nwave + i]
            res2[s][i] = d * d
        }
    }
    var msky = [Double](repeating: 0, count: nwave)
    for f in 0..<nspec { for i in 0..<nwave { msky[i] += cskyFlux[f * nwave + i] } }
    for i in 0..<nwave { msky[i] /= Double(nspec) }
    var dskydw = [Double](repeating: 0, count: nwave)
    if nwave > 2 { for i in 1..<(nwave - 1) { dskydw[i] = abs((msky[i + 1] - msky[i - 1]) / (wave[i + 1] - wave[i - 1])) } }
    // exclude residuals beyond a worst possible model error (20% flat, 0.5 A) at 3 sigma
    for s in 0..<nsky {
        for i in 0..<nwave {
            let t = tivar[s][i]
            let maxVar = 1 / (t == 0 ? 1 : t) + pow(0.2 * msky[i], 2) + pow(0.5 * dskydw[i], 2)
            if res2[s][i] > 9 * maxVar { tivar[s][i] = 0 }
        }
    }
    let maxSky = msky.max() ?? 0
    var peaks = [Int]()
    if nwave > 2 {
        for i in 1..<(nwave - 1) where msky[i] > msky[i + 1] && msky[i] > msky[i - 1] && msky[i] > 0.1 * maxSky { peaks.append(i) }
    }
    var skyvar = cskyIvar.map { 1 / ($0 == 0 ? 1 : $0) }
    let inputVar = skyvar
    let sigmaFlat = 0.005
    let norm = 0.7888    // median to mean of a chi2 with 3 degrees of freedom
    for peak in peaks {
        // numpy slices: ends clip at nwave; a negative start (peak within 3 pixels of the start) selects nothing
        let b = peak - 2, e = min(peak + 3, nwave), b2 = peak - 3, e2 = min(peak + 4, nwave)
        if b2 < 0 { continue }
        var sigmaWave = 2.0
        // fibers with no valid pixel make desispec's median NaN: it then keeps the largest sigma
        let counts = (0..<nsky).map { s in (b..<e).reduce(0) { $0 + (tivar[s][$1] > 0 ? 1 : 0) } }
        if !counts.contains(0) && nsky > 0 {
            var chi = [Double](repeating: 0, count: nsky)
            var k = 1
            while k < 400 {
                let sw = 0.005 * Double(k)
                for s in 0..<nsky {
                    var c = 0.0
                    for i in b..<e where tivar[s][i] > 0 {
                        let v = 1 / tivar[s][i] + pow(sigmaFlat * msky[i], 2) + pow(sw * dskydw[i], 2)
                        c += res2[s][i] / v
                    }
                    chi[s] = c / Double(counts[s])
                }
                if Statistics.median(chi) / norm <= 1 { sigmaWave = sw; break }
                k += 1
            }
        }
        for f in 0..<nspec {
            for i in b2..<e2 {
                skyvar[f * nwave + i] = inputVar[f * nwave + i] + pow(sigmaFlat * msky[i], 2) + pow(sigmaWave * dskydw[i], 2)
            }
        }
    }
    var out = [Double](repeating: 0, count: skyvar.count)
    for k in 0..<out.count where cskyIvar[k] > 0 { out[k] = skyvar[k] == 0 ? 0 : 1 / skyvar[k] }
    return out
}
