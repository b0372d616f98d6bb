import DESICore
import Foundation

extension StellarTemplates {
    /// A small synthetic grid for tests and demos: a blackbody continuum times absorption lines whose depths
    /// follow temperature, gravity and metallicity (Balmer lines deepen with Teff and narrow with gravity,
    /// metal lines weaken with Teff and grow with [Fe/H]). Vacuum wavelengths 3000-11000 A, log-spaced.
    public static func synthetic(teffs: [Double] = [5000, 5500, 6000, 6500, 7000],
                                 loggs: [Double] = [4.0, 4.5], fehs: [Double] = [-1.5, -1.0, -0.5]) -> StellarTemplates {
        let dlog = 4e-5
        let n = Int((log10(11000.0) - log10(3000.0)) / dlog) + 1
        let wave = (0..<n).map { pow(10, log10(3000.0) + dlog * Double($0)) }
        let balmer = [6564.61, 4862.68, 4341.68, 4102.89, 3971.20, 3890.16]
        let metals: [(Double, Double)] = [(3934.78, 1.0), (3969.59, 0.8), (4227.92, 0.5), (4384.77, 0.3), (4045.8, 0.3),
                                          (4306.0, 0.6), (5168.76, 0.4), (5174.13, 0.5), (5185.05, 0.5), (5271.0, 0.3),
                                          (5329.0, 0.25), (5891.58, 0.6), (5897.56, 0.5), (6496.9, 0.2), (8500.36, 0.4),
                                          (8544.44, 0.6), (8664.52, 0.5), (4924.0, 0.2), (5018.4, 0.2), (6141.7, 0.2)]
        var flux: [Double] = [], te: [Double] = [], lg: [Double] = [], fe: [Double] = [], ids: [Int] = []
        for t in teffs { for g in loggs { for z in fehs {
            let x = (t - 4500) / 3000
            let dB = min(0.8, 0.15 + 0.55 * x)
            let sB = 2.5 + 6 * x + 2.5 * (4.5 - g)
            let dM = min(0.85, 0.75 * pow(10, 0.4 * z) * max(0.05, 1.1 - 0.9 * x))
            let sM = 1.2 + 0.6 * (4.5 - g)
            for w in wave {
                // blackbody in f_lambda, scaled
                let hckT = 1.4387769e8 / t     // hc/k in A K
                var f = 1e20 / pow(w, 5) / (exp(hckT / w) - 1)
                var tau = 0.0
                for l in balmer { let d = (w - l) / sB; if abs(d) < 8 { tau += dB * exp(-0.5 * d * d) } }
                for (l, s) in metals { let d = (w - l) / sM; if abs(d) < 8 { tau += dM * s * exp(-0.5 * d * d) } }
                f *= max(0.05, 1 - tau)
                flux.append(f)
            }
            te.append(t); lg.append(g); fe.append(z); ids.append(ids.count)
        } } }
        return StellarTemplates(wave: wave, flux: flux, templateID: ids, teff: te, logg: lg, feh: fe, source: "synthetic")
    }
}
