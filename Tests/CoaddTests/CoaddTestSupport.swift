import DESICore
import FITS
import Foundation
@testable import Coadd

/// Small deterministic simulations for the coadd tests.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

enum Sim {
    static func grid(_ w0: Double, _ step: Double, _ n: Int) -> [Double] { (0..<n).map { w0 + Double($0) * step } }

    /// A smooth spectrum with a few features.
    static func truth(_ w: Double, target: Int) -> Double {
        let base = 5.0 + Double(target) + 0.001 * (w - 3600)
        return base + 3 * exp(-0.5 * pow((w - 3700 - 13 * Double(target)) / 2.5, 2)) + 2 * sin(w / 15)
    }

    /// Gaussian resolution of width `sigma` pixels (rows normalized to 1), ndiag 11, for nspec identical spectra.
    static func resolution(nspec: Int, nwave: Int, sigma: Double, ndiag: Int = 11) -> ResolutionData {
        var r = ResolutionData(nspec: nspec, ndiag: ndiag, nwave: nwave)
        let h = ndiag / 2
        for s in 0..<nspec {
            for i in 0..<nwave {
                // Row i: weights on columns i-h..i+h.
                var ws = [Double](repeating: 0, count: ndiag), tot = 0.0
                for k in -h...h where i + k >= 0 && i + k < nwave {
                    ws[k + h] = exp(-0.5 * Double(k * k) / (sigma * sigma)); tot += ws[k + h]
                }
                for k in -h...h where i + k >= 0 && i + k < nwave {
                    let col = i + k, d = h - (col - i) // data[d, col] = R[col - (h - d), col]
                    r.data[(s * ndiag + d) * nwave + col] = Float(ws[k + h] / tot)
                }
            }
        }
        return r
    }

    /// Spectra of `ntarget` targets observed `nexp` times in the given bands: flux = R truth + noise.
    static func exposures(ntarget: Int, nexp: Int, bands: [(String, [Double])], seed: UInt64 = 1, noise: Bool = true,
                          sigma: Double = 1.2) throws -> (spectra: Spectra, truthConvolved: [String: [[Double]]]) {
        var rng = TestRNG(seed: seed)
        let nspec = ntarget * nexp
        var data: [String: SpectraBand] = [:]
        var conv: [String: [[Double]]] = [:]
        for (b, wave) in bands {
            let nw = wave.count
            let res = resolution(nspec: nspec, nwave: nw, sigma: sigma)
            var flux = [Float](repeating: 0, count: nspec * nw), ivar = flux
            var rt: [[Double]] = []
            for t in 0..<ntarget { rt.append(res.apply(spec: 0, to: wave.map { truth($0, target: t) })) }
            conv[b] = rt
            for e in 0..<nexp {
                for t in 0..<ntarget {
                    let row = e * ntarget + t
                    let sig = 0.5 + 0.3 * Double(e) + 0.1 * Double(t)
                    for i in 0..<nw {
                        flux[row * nw + i] = Float(rt[t][i] + (noise ? sig * rng.gaussian() : 0))
                        ivar[row * nw + i] = Float(1 / (sig * sig))
                    }
                }
            }
            data[b] = SpectraBand(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: nspec * nw), resolution: res)
        }
        var tid = [Int64](), night = [Int32](), expid = [Int32](), fs = [Int32](), ra = [Double](), dec = [Double](), exptime = [Float]()
        for e in 0..<nexp { for t in 0..<ntarget {
            tid.append(39_600_000_000 + Int64(t)); night.append(20201214 + Int32(e / 2)); expid.append(100 + Int32(e))
            fs.append(0); ra.append(150 + 0.01 * Double(t)); dec.append(2.0); exptime.append(900)
        } }
        let fm = FITSTable(columns: [
            FITSColumn("TARGETID", .int64(tid)), FITSColumn("FIBERSTATUS", .int32(fs)),
            FITSColumn("TARGET_RA", .double(ra)), FITSColumn("TARGET_DEC", .double(dec)),
            FITSColumn("NIGHT", .int32(night)), FITSColumn("EXPID", .int32(expid)),
            FITSColumn("TILEID", .int32([Int32](repeating: 1000, count: nspec))),
            FITSColumn("EXPTIME", .float(exptime)),
            FITSColumn("OBJTYPE", .string([String](repeating: "TGT", count: nspec)), stringWidth: 3),
        ])
        return (try Spectra(bands: bands.map(\.0), data: data, fibermap: fm), conv)
    }

    static func tempDir() -> String {
        let d = NSTemporaryDirectory() + "coadd-tests-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}
