import DESICore
import Foundation
import LinearAlgebra

/// Row-by-row boxcar spectra along traces (desispec.qproc.qextract.qproc_boxcar_extraction as used by
/// desispec.trace_shifts): for row j the pixels int(x - hw) ... int(x + hw), hw = width / 2; a row with any
/// pixel of zero weight (ivar 0 or masked) gets flux 0 and ivar 0; flux is divided by the wavelength step of
/// the row (flux density). Arrays [nfiber, nrows] row-major.
struct BoxcarFrame: Sendable {
    var nfiber: Int
    var nrow: Int
    var wave: [Double]
    var flux: [Double]
    var ivar: [Double]
}

/// Wavelength of every CCD row of trace `fiber` (inverse of y(wavelength) by Newton from linear interpolation).
func rowWavelengths(_ yTrace: TraceSet, fiber: Int, nrow: Int) -> [Double] {
    let nt = max(nrow, 64)
    let tw = (0..<nt).map { yTrace.domainMin + (yTrace.domainMax - yTrace.domainMin) * Double($0) / Double(nt - 1) }
    let ty = tw.map { yTrace.eval(fiber, $0) }
    return (0..<nrow).map { j -> Double in
        let y = Double(j)
        let start: Double
        if y <= ty[0] { start = tw[0] + (tw[1] - tw[0]) / (ty[1] - ty[0]) * (y - ty[0]) }
        else if y >= ty[nt - 1] { start = tw[nt - 1] + (tw[nt - 2] - tw[nt - 1]) / (ty[nt - 2] - ty[nt - 1]) * (y - ty[nt - 1]) }
        else { start = Interpolation.linear(x: ty, y: tw, at: y) }
        return yTrace.solve(fiber, target: y, start: start)
    }
}

func boxcarFrame(image: Image, xTrace: TraceSet, yTrace: TraceSet, fibers: [Int], width: Int) throws -> BoxcarFrame {
    let ny = image.ny, nx = image.nx, hw = width / 2
    let rows = parallelMap(fibers.count) { k -> ([Double], [Double], [Double]) in
        let fiber = fibers[k]
        let wave = rowWavelengths(yTrace, fiber: fiber, nrow: ny)
        var flux = [Double](repeating: 0, count: ny), ivar = flux
        image.pix.withUnsafeBufferPointer { pix in
            image.ivar.withUnsafeBufferPointer { iv in
                image.mask.withUnsafeBufferPointer { mk in
                    for j in 0..<ny {
                        let x = xTrace.eval(fiber, wave[j])
                        let lo = Int(x - Double(hw)), hi = Int(x + Double(hw) + 1)
                        guard lo >= 0, hi <= nx else { continue }
                        var s = 0.0, v = 0.0, ok = true
                        for i in lo..<hi {
                            let p = j * nx + i
                            if iv[p] <= 0 || mk[p] != 0 { ok = false; break }
                            s += Double(pix[p]); v += 1 / Double(iv[p])
                        }
                        let dw = j > 0 ? wave[j] - wave[j - 1] : (ny > 2 ? 2 * (wave[1] - wave[0]) - (wave[2] - wave[1]) : 1)
                        if ok && v > 0 { flux[j] = s / dw; ivar[j] = dw * dw / v }
                    }
                }
            }
        }
        return (wave, flux, ivar)
    }
    for (k, r) in rows.enumerated() {
        for j in 1..<max(ny, 2) where j < ny && r.0[j] <= r.0[j - 1] {
            throw DESIError.failed("trace of fiber \(fibers[k]) gives a non increasing wavelength at row \(j)")
        }
    }
    return BoxcarFrame(nfiber: fibers.count, nrow: ny, wave: rows.flatMap(\.0), flux: rows.flatMap(\.1), ivar: rows.flatMap(\.2))
}

/// Resampling of boxcar spectra on one common wavelength grid (desispec.trace_shifts.resample_boxcar_frame):
/// the step is the median row step / oversampling; masked rows are grown by 2 on each side; flux and ivar
/// are interpolated linearly (0 outside), ivar divided by the oversampling.
/// (desispec takes the median of np.gradient of the 2-D wavelength array, which mixes in the gradient across
/// fibers; the step along the spectrum is meant, and used here.)
func resampleBoxcar(_ fr: BoxcarFrame, oversampling: Int) -> (wave: [Double], flux: [Double], ivar: [Double]) {
    let n1 = fr.nrow, nf = fr.nfiber
    let mid = nf / 2
    let w0 = Array(fr.wave[(mid * n1)..<((mid + 1) * n1)])
    var steps = [Double]()
    for f in 0..<nf { for j in 1..<n1 { steps.append(fr.wave[f * n1 + j] - fr.wave[f * n1 + j - 1]) } }
    let dwave = median(steps) / Double(oversampling)
    let nwave = Int((w0[n1 - 1] - w0[0]) / dwave)
    let wave = (0..<nwave).map { w0[0] + (w0[n1 - 1] - w0[0]) * Double($0) / Double(max(nwave - 1, 1)) }
    var flux = [Double](repeating: 0, count: nf * nwave), ivar = flux
    for f in 0..<nf {
        let fw = Array(fr.wave[(f * n1)..<((f + 1) * n1)])
        let ff = Array(fr.flux[(f * n1)..<((f + 1) * n1)])
        var fi = Array(fr.ivar[(f * n1)..<((f + 1) * n1)])
        if n1 > 4 {
            let orig = fi
            for d in [-2, -1, 1, 2] { for j in 2..<(n1 - 2) where orig[j + d] == 0 { fi[j] = 0 } }
        }
        let good = (0..<n1).filter { fi[$0] > 0 }
        guard !good.isEmpty else { continue }
        let gw = good.map { fw[$0] }, gf = good.map { ff[$0] }
        let fluxRow = Interpolation.linear(x: gw, y: gf, at: wave, left: 0, right: 0)
        let ivarRow = Interpolation.linear(x: fw, y: fi, at: wave, left: 0, right: 0)
        for k in 0..<nwave {
            flux[f * nwave + k] = fluxRow[k]
            ivar[f * nwave + k] = ivarRow[k] / Double(oversampling)
        }
    }
    return (wave, flux, ivar)
}

func median(_ v: [Double]) -> Double {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted(), n = s.count
    return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2])
}
