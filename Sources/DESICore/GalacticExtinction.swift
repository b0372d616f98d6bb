import Foundation

/// Milky Way dust as desispec applies it to standard stars (desiutil.dust).
///
/// - The extinction law is Fitzpatrick (1999) with R_V = 3.1 (desiutil.dust.ext_fitzpatrick): in the optical and
///   infrared a natural cubic spline through anchor points whose values depend on R_V, in the ultraviolet
///   (lambda < 2700 A) the FM fitting function with its 2175 A bump.
/// - E(B-V) is the SFD value of the fibermap (column EBV); the law is normalised at 1 micron with the Schlafly &
///   Finkbeiner (2011) recalibration, A(lambda) = k(lambda) / k(1 micron) * EBV * 1.029 (desiutil.dust.dust_transmission).
/// - Broadband extinctions of the photometry use fixed total-to-selective ratios R_X = A_X / E(B-V) per band and
///   photometric system (desiutil.dust.extinction_total_to_selective_ratio), and Gaia magnitudes the colour-dependent
///   relation of Babusiaux et al. (2018) (desiutil.dust.gaia_extinction).
public enum GalacticExtinction {

    /// A(lambda) / A(V) of Fitzpatrick (1999) for the given R_V at vacuum wavelengths [Angstrom].
    public static func fitzpatrick(_ wave: [Double], rv: Double = 3.1) -> [Double] {
        // UV fitting-function parameters (Fitzpatrick 1999, the Milky Way average)
        let x0 = 4.596, gamma = 0.99, c3 = 3.23, c4 = 0.41
        let c2 = -0.824 + 4.717 / rv
        let c1 = 2.030 - 3.007 * c2
        func uv(_ x: Double) -> Double {
            let bump = x * x / (pow(x * x - x0 * x0, 2) + pow(x * gamma, 2))
            let f = max(x, 5.9) - 5.9
            return c1 + c2 * x + c3 * bump + c4 * (0.5392 * f * f + 0.05644 * f * f * f) + rv
        }
        // spline anchors in 1/micron: IR (0, 26500, 12200 A), optical (6000, 5470, 4670, 4110 A), UV (2700, 2600 A)
        let xUV = [10000.0 / 2700, 10000.0 / 2600]
        let xs = [0, 10000.0 / 26500, 10000.0 / 12200, 10000.0 / 6000, 10000.0 / 5470, 10000.0 / 4670, 10000.0 / 4110] + xUV
        func poly(_ c: [Double]) -> Double { c.reduce(0) { $0 * rv + $1 } }
        let ys = [0, 0.26469 * rv / 3.1, 0.82925 * rv / 3.1,
                  poly([2.13572e-04, 1.00270, -4.22809e-01]), poly([-7.35778e-05, 1.00216, -5.13540e-02]),
                  poly([-3.32598e-05, 1.00184, 7.00127e-01]),
                  poly([-4.45636e-05, 7.97809e-04, -5.46959e-03, 1.01707, 1.19456])] + xUV.map(uv)
        let spline = NaturalCubicSpline(x: xs, y: ys)
        let xcut = 10000.0 / 2700
        return wave.map { w in
            let x = 10000 / w
            return (x >= xcut ? uv(x) : spline.value(x)) / rv
        }
    }

    /// Transmission (0-1) of Milky Way dust with SFD reddening `ebv` at vacuum wavelengths [Angstrom]
    /// (desiutil.dust.dust_transmission).
    public static func transmission(wave: [Double], ebv: Double, rv: Double = 3.1) -> [Double] {
        if ebv == 0 { return [Double](repeating: 1, count: wave.count) }
        let norm = fitzpatrick([10000], rv: rv)[0]
        return fitzpatrick(wave, rv: rv).map { pow(10, -0.4 * $0 / norm * ebv * 1.029) }
    }

    /// R_X = A_X / E(B-V)_SFD for band G, R, Z (PHOTSYS "N": BASS g, r and MzLS z; "S": DECam) or G, BP, RP
    /// (PHOTSYS "G": Gaia DR2), as desiutil.dust.extinction_total_to_selective_ratio (synthetic values consistent
    /// with `transmission`).
    public static func totalToSelectiveRatio(band: String, photsys: String) throws -> Double {
        let table: [String: Double] = [
            "G_N": 3.258, "R_N": 2.176, "Z_N": 1.199,
            "G_S": 3.212, "R_S": 2.164, "Z_S": 1.211,
            "G_G": 2.197, "BP_G": 2.844, "RP_G": 1.622,
        ]
        guard let r = table["\(band.uppercased())_\(photsys.uppercased())"] else {
            throw DESIError.invalidArgument("no extinction coefficient for band \(band) of photometric system '\(photsys)'"
                                            + " (known: G R Z of N and S, G BP RP of G)")
        }
        return r
    }

    /// Extinctions (A_G, A_BP, A_RP) of Gaia magnitudes for SFD reddening `ebv` (desiutil.dust.gaia_extinction:
    /// Babusiaux et al. 2018 eq. 1, with E(B-V) scaled by 0.86 and the BP-RP colour iterated ten times).
    public static func gaia(g: Double, bp: Double, rp: Double, ebv: Double) -> (g: Double, bp: Double, rp: Double) {
        let coeff: [[Double]] = [[0.9761, -0.1704, 0.0086, 0.0011, -0.0438, 0.0013, 0.0099],
                                 [1.1517, -0.0871, -0.0333, 0.0173, -0.0230, 0.0006, 0.0043],
                                 [0.6104, -0.0170, -0.0026, -0.0017, -0.0078, 0.00005, 0.0006]]
        let a0 = 3.1 * 0.86 * ebv
        let input = [g, bp, rp]
        var out = input
        for _ in 0..<10 {
            let c = out[1] - out[2]
            for b in 0..<3 {
                let k = coeff[b]
                let dmag = (k[0] + k[1] * c + k[2] * c * c + k[3] * c * c * c + k[4] * a0 + k[5] * a0 * a0 + k[6] * c * a0) * a0
                out[b] = input[b] - dmag
            }
        }
        return (g - out[0], bp - out[1], rp - out[2])
    }
}

/// Interpolating natural cubic spline (second derivative zero at both ends) through increasing abscissae.
struct NaturalCubicSpline {
    let x: [Double], y: [Double], m: [Double]

    init(x: [Double], y: [Double]) {
        let n = x.count
        precondition(n >= 2 && y.count == n, "spline needs at least two points")
        self.x = x; self.y = y
        // tridiagonal system for the second derivatives (Thomas algorithm)
        var m = [Double](repeating: 0, count: n)
        if n > 2 {
            var c = [Double](repeating: 0, count: n), d = [Double](repeating: 0, count: n)
            for i in 1..<(n - 1) {
                let h0 = x[i] - x[i - 1], h1 = x[i + 1] - x[i]
                let a = h0 / 6, b = (h0 + h1) / 3, cc = h1 / 6
                let r = (y[i + 1] - y[i]) / h1 - (y[i] - y[i - 1]) / h0
                let denom = b - a * c[i - 1]
                c[i] = cc / denom
                d[i] = (r - a * d[i - 1]) / denom
            }
            for i in stride(from: n - 2, through: 1, by: -1) { m[i] = d[i] - c[i] * m[i + 1] }
        }
        self.m = m
    }

    func value(_ t: Double) -> Double {
        var lo = 0, hi = x.count - 1
        if t <= x[0] { hi = 1 } else if t >= x[hi] { lo = hi - 1 } else {
            while hi - lo > 1 { let mid = (lo + hi) / 2; if x[mid] > t { hi = mid } else { lo = mid } }
        }
        let h = x[hi] - x[lo], a = (x[hi] - t) / h, b = (t - x[lo]) / h
        return a * y[lo] + b * y[hi] + ((a * a * a - a) * m[lo] + (b * b * b - b) * m[hi]) * h * h / 6
    }
}
