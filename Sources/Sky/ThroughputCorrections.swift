import DESICore
import Foundation
import LinearAlgebra

/// Achromatic throughput correction of each fiber measured on sky lines (desispec.sky.calculate_throughput_corrections):
/// on each line (+-4 A), flux = a + s * sky is fitted per fiber; the scales s of all lines are averaged with
/// weights 1/(var + 0.005^2) and iterative 3-sigma rejection of the worst line. Fibers without a measurement,
/// or whose correction error exceeds 0.1, get 1.
public func throughputCorrections(frame: Frame, sky: SkyModel, log: ((String) -> Void)? = nil) -> [Double] {
    let nspec = frame.nspec, nwave = frame.nwave
    let wave = frame.wave
    let hw = 4.0
    var windows = [[Int]]()
    for line in skyLineWavelengths where line > wave[0] && line < wave[nwave - 1] {
        let ii = (0..<nwave).filter { wave[$0] >= line - hw && wave[$0] <= line + hw }
        if ii.count >= 2 { windows.append(ii) }
    }
    var corrections = [Double](repeating: 1, count: nspec)
    corrections.withUnsafeMutableBufferPointer { cp in
        let out = SharedBuffer(cp)
        parallelFor(nspec) { f in
            var coef = [Double](), variance = [Double]()
            for ii in windows {
                var sw = 0.0, swf = 0.0, sws = 0.0, sws2 = 0.0, swsf = 0.0
                for i in ii {
                    let k = f * nwave + i
                    let t = (frame.mask[k] == 0 && sky.ivar[k] > 0) ? Double(frame.ivar[k]) : 0
                    let fl = Double(frame.flux[k]), s = sky.flux[k]
                    sw += t; swf += t * fl; sws += t * s; sws2 += t * s * s; swsf += t * fl * s
                }
                if sw <= 0 { continue }
                let det = sw * sws2 - sws * sws
                if det == 0 || !det.isFinite { continue }
                coef.append((sw * swsf - sws * swf) / det)
                variance.append(sw / det)
            }
            if coef.isEmpty { return }
            var ivar = variance.map { $0 > 0 ? 1 / ($0 + 0.005 * 0.005) : 0 }
            var ivarOut = variance.map { $0 > 0 ? 1 / ($0 + 0.02 * 0.02) : 0 }
            var mcoef = 1.0, err = 0.0
            for _ in 0..<50 {
                let a = ivar.reduce(0, +)
                if a <= 0 { return }
                mcoef = zip(ivar, coef).reduce(0) { $0 + $1.0 * $1.1 } / a
                err = 1 / a.squareRoot()
                let chi2 = zip(ivarOut, coef).map { $0.0 * ($0.1 - mcoef) * ($0.1 - mcoef) }
                let positive = chi2.filter { $0 > 0 }
                guard let worst = chi2.indices.max(by: { chi2[$0] < chi2[$1] }), !positive.isEmpty else { break }
                if chi2[worst] > 9 * Statistics.median(positive) {
                    ivar[worst] = 0; ivarOut[worst] = 0
                } else { break }
            }
            if err <= 0.1 { out[f] = mcoef }
        }
    }
    for f in 0..<nspec where corrections[f] == 1 { log?("no throughput correction for fiber \(f)") }
    return corrections
}
