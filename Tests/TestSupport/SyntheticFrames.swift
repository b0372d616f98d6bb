import DESICore
import FITS
import Foundation
import LinearAlgebra

// Helpers shared by the test targets (a library target that only test targets depend on).

/// Deterministic pseudo-random numbers for the tests (splitmix64 + Box-Muller).
public typealias TestRandom = SplitMix64

/// Gaussian resolution matrices with rows normalized, sigma (in bins) per fiber, in DESI's DIA layout.
public func gaussianResolution(sigmas: [Double], nwave: Int, ndiag: Int = 11) -> ResolutionData {
    let h = ndiag / 2
    var r = ResolutionData(nspec: sigmas.count, ndiag: ndiag, nwave: nwave)
    for (f, s) in sigmas.enumerated() {
        for i in 0..<nwave {
            var row = [Double](repeating: 0, count: ndiag)
            var norm = 0.0
            for k in -h...h where i + k >= 0 && i + k < nwave {
                row[k + h] = exp(-0.5 * Double(k * k) / (s * s)); norm += row[k + h]
            }
            for k in -h...h where i + k >= 0 && i + k < nwave {
                // element R[i, j] with j = i + k is stored on diagonal d = h - k at column j
                r.data[(f * ndiag + (h - k)) * nwave + (i + k)] = Float(row[k + h] / norm)
            }
        }
    }
    return r
}

/// A fibermap with FIBER, TARGETID, OBJTYPE, FIBER_X, FIBER_Y, FIBERSTATUS.
public func makeFibermap(objtypes: [String], x: [Double], y: [Double], status: [Int32]? = nil) -> Fibermap {
    let n = objtypes.count
    let t = FITSTable(columns: [
        FITSColumn("FIBER", .int32((0..<n).map { Int32($0) })),
        FITSColumn("TARGETID", .int64((0..<n).map { Int64(1000 + $0) })),
        FITSColumn("OBJTYPE", .string(objtypes), stringWidth: 3),
        FITSColumn("FIBER_X", .double(x)),
        FITSColumn("FIBER_Y", .double(y)),
        FITSColumn("FIBERSTATUS", .int32(status ?? [Int32](repeating: 0, count: n))),
    ])
    return Fibermap(table: t)
}

/// A frame of fibers seeing true spectra `truth[f]` (per fiber, on `wave`) through throughputs and resolutions,
/// plus Gaussian noise of variance  (signal + readnoise^2) (known ivar).
public func makeFrame(wave: [Double], truth: (Int) -> [Double], throughput: (Int, Int) -> Double, resolution: ResolutionData,
               readnoise: Double, seed: UInt64, camera: String = "r0", fibermap: Fibermap? = nil) -> (frame: Frame, noiseless: [Double]) {
    let nspec = resolution.nspec, nwave = wave.count
    var rng = TestRandom(seed: seed)
    var flux = [Float](repeating: 0, count: nspec * nwave)
    var ivar = [Float](repeating: 0, count: nspec * nwave)
    var clean = [Double](repeating: 0, count: nspec * nwave)
    for f in 0..<nspec {
        let conv = resolution.apply(spec: f, to: truth(f))
        for i in 0..<nwave {
            let s = throughput(f, i) * conv[i]
            let v = max(s, 0) + readnoise * readnoise
            clean[f * nwave + i] = s
            flux[f * nwave + i] = Float(s + v.squareRoot() * rng.gaussian())
            ivar[f * nwave + i] = Float(1 / v)
        }
    }
    var h = FITSHeader()
    h.set("CAMERA", camera)
    h.set("FIBERMIN", 0)
    let frame = Frame(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: nspec * nwave),
                      resolution: resolution, fibermap: fibermap, header: h)
    return (frame, clean)
}
