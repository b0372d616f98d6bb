import DESICore
import Foundation
import LinearAlgebra

/// The standard stars' spectra as the fit takes them: one camera spectrum per star and frame, and the coadd of
/// several exposures of one camera (desispec.scripts.stdstars.main, "coadding exposures").
enum StdStarCoadd {

    /// One star's spectrum in one sframe, with ivar = 0 on masked pixels and everywhere when the fiber is bad.
    static func spectrum(of row: Int, in f: Frame, camera c: Camera, fiberBad: Bool) -> CameraSpectrum {
        let nw = f.nwave
        let res = f.resolution!
        var flux = [Double](repeating: 0, count: nw), ivar = [Double](repeating: 0, count: nw)
        for j in 0..<nw {
            let p = row * nw + j
            let iv = (f.mask[p] == 0 && !fiberBad) ? Double(f.ivar[p]) : 0
            ivar[j] = iv; flux[j] = iv > 0 ? Double(f.flux[p]) : 0
        }
        let rd = Array(res.data[(row * res.ndiag * nw)..<((row + 1) * res.ndiag * nw)]).map { Double($0) }
        return CameraSpectrum(camera: c.arm.rawValue, wave: f.wave, flux: flux, ivar: ivar, resolution: rd, ndiag: res.ndiag)
    }

    /// Coadds the frames of one camera, `frames[frame][star]`, pixel by pixel with weights w_e ivar, where w_e is the
    /// median flux of the frame's standards over the mean of these medians (the relative throughput of the
    /// exposure: the optimal weight is ivar times throughput). Flux and resolution are the weighted means.
    /// Returns the coadded spectra and the weights. One frame is returned as it is.
    static func coadd(_ frames: [[CameraSpectrum]]) -> ([CameraSpectrum], [Double]) {
        guard frames.count > 1 else { return (frames.first ?? [], [1]) }
        let nstar = frames[0].count
        var medflux = frames.map { stars -> Double in
            var v: [Double] = []
            for s in stars { for j in 0..<s.flux.count where s.ivar[j] > 0 { v.append(s.flux[j]) } }
            return v.isEmpty ? 0 : max(0, Statistics.median(v))
        }
        let positive = medflux.filter { $0 > 0 }
        let mean = positive.isEmpty ? 1 : positive.reduce(0, +) / Double(positive.count)
        if positive.isEmpty { medflux = medflux.map { _ in 1 } }
        let weights = medflux.map { $0 / mean }
        var out: [CameraSpectrum] = []
        for k in 0..<nstar {
            let first = frames[0][k]
            let nw = first.wave.count, nd = first.ndiag
            var sw = [Double](repeating: 0, count: nw), swf = sw
            var swr = [Double](repeating: 0, count: nd * nw), meanR = swr
            for (e, stars) in frames.enumerated() {
                let s = stars[k]
                for j in 0..<nw {
                    let w = weights[e] * s.ivar[j]
                    sw[j] += w; swf[j] += w * s.flux[j]
                    for d in 0..<nd { swr[d * nw + j] += w * s.resolution[d * nw + j]; meanR[d * nw + j] += s.resolution[d * nw + j] }
                }
            }
            var flux = sw, res = swr
            for j in 0..<nw {
                flux[j] = sw[j] > 0 ? swf[j] / sw[j] : 0
                // where no exposure has data the resolution is the plain mean (desispec leaves zeros there)
                for d in 0..<nd { res[d * nw + j] = sw[j] > 0 ? swr[d * nw + j] / sw[j] : meanR[d * nw + j] / Double(frames.count) }
            }
            out.append(CameraSpectrum(camera: first.camera, wave: first.wave, flux: flux, ivar: sw, resolution: res, ndiag: nd))
        }
        return (out, weights)
    }
}
