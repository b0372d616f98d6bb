import DESICore
import FITS
import Foundation
import LinearAlgebra

/// One measured trace offset (a row of desispec's --outoffsets table).
public struct TraceOffset: Sendable, Equatable {
    /// 1: offset along x (cross-dispersion), 0: along y (dispersion).
    public var axis: Int
    public var fiber: Int
    public var wavelength: Double
    public var x: Double
    public var y: Double
    public var delta: Double
    public var error: Double
    /// y offsets: the wavelength offset (A) the cross-correlation measured and its error, before the median of the
    /// relative calibration is removed (DWAVE, DWAVE_ERR of desispec's INTOFF and EXTOFF tables); 0 for x offsets.
    public var dwave = 0.0
    public var dwaveError = 0.0
}

/// The columns whose flux-weighted mean gives a trace's x centroid on a row.
enum CentroidWindow: Sendable {
    /// 2 hw + 1 columns centred on the pixel nearest to x: no bias from the window's position.
    case nearestPixel
    /// desispec's int(x - hw) ... int(x + hw) (numba_cross_profile), centred on floor(x): the centroid is biased by
    /// up to -0.05 pixel (about -0.01 on average for sigma ~ 1). The image model's x shift uses it so that its
    /// variance is desispec's.
    case desispec
}

/// x offsets of the traces from cross-dispersion profiles (desispec.trace_shifts.compute_dx_from_cross_dispersion_profiles):
/// rows rebinned by `rebin`; for every rebinned row the flux-weighted mean of (column - x) over the 2 hw + 1 pixels
/// of `window` (see `CentroidWindow`);
/// sums over blocks of 100 CCD rows; blocks with S/N > 3 kept with error sqrt((20 / snr)^2 + 0.01^2); per fiber an
/// iterative polynomial fit in y of degree `deg` removes outliers beyond 3 x sqrt(2 median chi2).
func measureDx(image: Image, xTrace: TraceSet, yTrace: TraceSet, fibers: [Int], width: Int, deg: Int, rebin: Int,
               window: CentroidWindow = .nearestPixel, progress: ProgressLine? = nil) -> [TraceOffset] {
    measureDx(rebinned: RebinnedImage(image, rebin: rebin), xTrace: xTrace, yTrace: yTrace, fibers: fibers, width: width,
              deg: deg, window: window, progress: progress)
}

/// The image with rows added by groups of `rebin` (compute_dx_from_cross_dispersion_profiles' rebinning); ivar
/// summed, 0 if any pixel of the group has no weight or is masked. Made once for all the x passes.
struct RebinnedImage: Sendable {
    let rebin: Int, nrow: Int, ncol: Int
    let pix: [Double], ivar: [Double]

    init(_ image: Image, rebin: Int) {
        let n1 = image.nx, rb = max(1, rebin), n0 = max(image.ny / rb, 0), count = n0 * n1
        let hasMask = !image.mask.isEmpty   // none where it was folded into ivar (Image.read(maskIntoIvar:))
        // every element is written below: two arrays of their own, not zero-filled
        // (advised huge pages: 34 MB each for a full-size camera)
        var ivar = LargeArrays.uninitialized(Double.self, count)
        var pix = LargeArrays.uninitialized(Double.self, count)
        pix.withUnsafeMutableBufferPointer { pixOut in
        ivar.withUnsafeMutableBufferPointer { ivarOut in
        image.pix.withUnsafeBufferPointer { ip in
        image.ivar.withUnsafeBufferPointer { vp in
        image.mask.withUnsafeBufferPointer { mp in
            let sums = SharedBuffer(pixOut), weights = SharedBuffer(ivarOut)
            nonisolated(unsafe) let ip = ip, vp = vp, mp = mp
            // output rows in fixed blocks on all cores; in a row, four columns at a time in vector lanes, each
            // output the sum over the group's rows in order, as the plain loop (`add`) makes it
            let blocks = max(1, min(n0, 64))
            parallelFor(blocks) { b in
                for r in (n0 * b / blocks)..<(n0 * (b + 1) / blocks) {
                    let o = r * n1
                    @inline(__always) func add(_ i: Int) {
                        var s = 0.0, w = 0.0, bad = false
                        for k in 0..<rb {
                            let p = (r * rb + k) * n1 + i
                            s += Double(ip[p])
                            let iv = !hasMask || mp[p] == 0 ? Double(vp[p]) : 0
                            if iv == 0 { bad = true }
                            w += iv
                        }
                        sums[o + i] = s; weights[o + i] = bad ? 0 : w
                    }
                    var i = 0
                    while i + 4 <= n1 {
                        var s = SIMD4<Double>(), w = SIMD4<Double>(), bad = SIMDMask<SIMD4<Int64>>(repeating: false)
                        for k in 0..<rb {
                            let p = (r * rb + k) * n1 + i
                            s += SIMD4(Double(ip[p]), Double(ip[p + 1]), Double(ip[p + 2]), Double(ip[p + 3]))
                            var iv = SIMD4(Double(vp[p]), Double(vp[p + 1]), Double(vp[p + 2]), Double(vp[p + 3]))
                            if hasMask {
                                let m = SIMD4<Int64>(Int64(mp[p]), Int64(mp[p + 1]), Int64(mp[p + 2]), Int64(mp[p + 3]))
                                iv.replace(with: 0, where: m .!= 0)
                            }
                            bad .|= iv .== 0
                            w += iv
                        }
                        s.store(to: sums.base + o + i)
                        w.replacing(with: 0, where: bad).store(to: weights.base + o + i)
                        i += 4
                    }
                    while i < n1 { add(i); i += 1 }
                }
            }
        }}}}}
        self.rebin = rb; nrow = n0; ncol = n1; self.pix = pix; self.ivar = ivar
    }
}

func measureDx(rebinned: RebinnedImage, xTrace: TraceSet, yTrace: TraceSet, fibers: [Int], width: Int, deg: Int,
               window: CentroidWindow = .nearestPixel, progress: ProgressLine? = nil) -> [TraceOffset] {
    let n1 = rebinned.ncol, rb = rebinned.rebin, n0 = rebinned.nrow
    guard n0 >= 2 else { return [] }
    let hw = width / 2
    let wmin = yTrace.domainMin, wmax = yTrace.domainMax
    let twave = (0..<n0).map { wmin + (wmax - wmin) * Double($0) / Double(n0 - 1) }
    let block = max(1, 100 / rb)
    let nb = n0 / block, nrow = nb * block, nf = fibers.count
    // 1. Each fiber's wavelength and x at the centre of every rebinned row.
    let rowCentres = (0..<nrow).map { Double($0) + 0.5 }
    let tables = parallelMap(nf) { k -> (wave: [Double], x: [Double]) in
        let fiber = fibers[k]
        // the traces four wavelengths at a time (`TraceSet.eval(_:at:)`: the same bits as one at a time)
        let ty = yTrace.eval(fiber, at: twave).map { $0 / Double(rb) }
        let tx = xTrace.eval(fiber, at: twave)
        var wave = [Double](repeating: 0, count: nrow), xs = wave
        // rows increase: when the trace's y increases along it (any real trace), its tables are walked along
        // (SortedInterpolation, in batches: the segments and values of Interpolation.linear's binary search)
        let increasing = zip(ty, ty.dropFirst()).allSatisfy { $0 < $1 }
        ty.withUnsafeBufferPointer { tyb in twave.withUnsafeBufferPointer { twb in tx.withUnsafeBufferPointer { txb in
            if increasing {
                var waveAt = SortedInterpolation(x: tyb, y: twb), xAt = SortedInterpolation(x: tyb, y: txb)
                rowCentres.withUnsafeBufferPointer { yb in
                    wave.withUnsafeMutableBufferPointer { waveAt.values(at: yb.baseAddress!, count: nrow, into: $0.baseAddress!) }
                    xs.withUnsafeMutableBufferPointer { xAt.values(at: yb.baseAddress!, count: nrow, into: $0.baseAddress!) }
                }
            } else {
                for j in 0..<nrow {
                    wave[j] = Interpolation.linear(tyb, twb, at: rowCentres[j])
                    xs[j] = Interpolation.linear(tyb, txb, at: rowCentres[j])
                }
            }
        } } }
        return (wave, xs)
    }
    // 2. The cross-dispersion sums of every fiber in each block of rows, row after row and every fiber along each
    // row (a fiber at a time down the rebinned image fetched a new cache line and page for every row, 33 KB apart,
    // which no prefetcher follows). Each fiber's block sums add its rows in increasing order, as a fiber at a time
    // did: the same values. sums[(k * 6 + q)]: weight, weighted offset, variance, weighted y, x, wavelength.
    let sums = rebinned.pix.withUnsafeBufferPointer { pp in rebinned.ivar.withUnsafeBufferPointer { vp in
        nonisolated(unsafe) let rpix = pp, rivar = vp
        return parallelMap(nb) { b -> [Double] in
            defer { progress?.advance(by: nf * (b + 1) / nb - nf * b / nb) }
            var s = [Double](repeating: 0, count: 6 * nf)
            for j in (b * block)..<((b + 1) * block) {
                for k in 0..<nf {
                    let x = tables[k].x[j], wave = tables[k].wave[j]
                    var rdx = 0.0, rw = 0.0, rvar = 0.0
                    let lo = window == .nearestPixel ? Int((x - Double(hw)).rounded()) : Int(x - Double(hw)), hi = lo + 2 * hw + 1
                    guard lo >= 0, hi <= n1 else { continue }
                    for i in lo..<hi {
                        let p = j * n1 + i
                        if rivar[p] == 0 {
                            // desispec (numba_cross_profile) keeps the variance summed so far; both keep no flux
                            rdx = 0; rw = 0
                            if window == .nearestPixel { rvar = 0 }
                            break
                        }
                        rdx += (Double(i) - x) * rpix[p]
                        rw += rpix[p]
                        rvar += 1 / rivar[p]
                    }
                    s[k * 6] += rw; s[k * 6 + 1] += rdx; s[k * 6 + 2] += rvar
                    s[k * 6 + 3] += rw * Double(j); s[k * 6 + 4] += rw * x; s[k * 6 + 5] += rw * wave
                }
            }
            return s
        }
    } }
    // 3. Per fiber: the blocks with S/N > 3 and the iterative polynomial fit.
    let perFiber = parallelMap(nf) { k -> [TraceOffset] in
        let fiber = fibers[k]
        var fx = [Double](), fy = [Double](), fdx = [Double](), fex = [Double](), fl = [Double]()
        for b in 0..<nb {
            let sw = sums[b][k * 6], swdx = sums[b][k * 6 + 1], svar = sums[b][k * 6 + 2]
            let swy = sums[b][k * 6 + 3], swx = sums[b][k * 6 + 4], swl = sums[b][k * 6 + 5]
            let snr = sw / (svar + (svar == 0 ? 1 : 0)).squareRoot()
            guard snr > 3 else { continue }
            let d = sw + (sw == 0 ? 1 : 0)
            fex.append(((20 / snr) * (20 / snr) + 0.0001).squareRoot())
            fdx.append(swdx / d); fx.append(swx / d)
            fy.append(swy / d * Double(rb) - 0.5); fl.append(swl / d)
        }
        for _ in 0..<10 {
            if fdx.count < deg + 2 { return [] }
            guard let c = try? Polynomial.fit(x: fy, y: fdx, degree: deg, weights: fex.map { 1 / $0 }) else { return [] }
            let chi2 = (0..<fdx.count).map { i -> Double in let r = (fdx[i] - Polynomial.value(c, fy[i])) / fex[i]; return r * r }
            let m = 2 * median(chi2)
            let keep = (0..<chi2.count).filter { chi2[$0] <= 9 * m }
            if keep.count == fdx.count { break }
            fx = keep.map { fx[$0] }; fy = keep.map { fy[$0] }; fdx = keep.map { fdx[$0] }
            fex = keep.map { fex[$0] }; fl = keep.map { fl[$0] }
        }
        return (0..<fdx.count).map {
            TraceOffset(axis: 1, fiber: fiber, wavelength: fl[$0], x: fx[$0], y: fy[$0], delta: fdx[$0], error: fex[$0])
        }
    }
    return perFiber.flatMap { $0 }
}

/// Smoothing by a Gaussian kernel sampled on the same grid, kernel centred on the middle sample
/// (scipy.signal.fftconvolve(..., mode='same') as desispec uses it), by FFT (SameModeConvolution).
func convolveSame(_ a: [Double], _ kernel: [Double]) -> [Double] {
    SameModeConvolution(kernel: kernel, length: a.count).apply(a)
}

/// The flux-calibration kernel of desispec.trace_shifts.compute_dy_from_spectral_cross_correlation: a Gaussian of
/// sigma 500 A centred on the middle sample of `wave`, which absorbs the smooth difference of throughput between a
/// fiber and the reference.
func calibrationKernel(_ wave: [Double]) -> [Double] {
    wave.map { w -> Double in let x = (w - wave[wave.count / 2]) / 500; return exp(-x * x / 2) }
}

/// `ref` scaled by the ratio of the smoothed flux to the smoothed reference, when the smoothed reference is positive
/// everywhere (desispec: refflux *= fftconvolve(flux) / fftconvolve(refflux)).
func calibratedReference(_ ref: [Double], smoothedFlux f1: [Double], smoothedReference f2: [Double]) -> [Double] {
    guard f2.allSatisfy({ $0 > 0 }) else { return ref }
    var out = ref
    for i in 0..<out.count { out[i] *= f1[i] / f2[i] }
    return out
}

/// Wavelength offset of `flux` relative to `ref` on the same regular grid (desispec.trace_shifts.
/// compute_dy_from_spectral_cross_correlation): chi2 scan over +-hw Angstrom in grid steps, parabola through the
/// points within +-0.6 A of the minimum. Returns (delta, sigma), sigma 100 when the scan fails.
func crossCorrelationOffset(flux: [Double], wave: [Double], ref refIn: [Double], ivar: [Double], hw: Double,
                            calibrate: Bool, priorWidth: Double? = nil) -> (Double, Double) {
    let n = wave.count
    guard n >= 8 else { return (0, 100) }
    var ref = refIn
    if calibrate {
        let (f1, f2) = SameModeConvolution(kernel: calibrationKernel(wave), length: n).apply(flux, refIn)
        ref = calibratedReference(refIn, smoothedFlux: f1, smoothedReference: f2)
    }
    return chi2ScanOffset(flux: flux, wave: wave, ref: ref, ivar: ivar, hw: hw, priorWidth: priorWidth)
}

/// The chi2 scan of crossCorrelationOffset on an already calibrated reference.
func chi2ScanOffset(flux: [Double], wave: [Double], ref: [Double], ivar: [Double], hw: Double,
                    priorWidth: Double?) -> (Double, Double) {
    let n = wave.count
    guard n >= 8 else { return (0, 100) }
    let errorFloor = 0.01
    let dwave = wave[1] - wave[0]
    let ihw = Int(hw / dwave) + 1
    guard n > 2 * ihw + 1 else { return (0, 100) }
    var chi2 = [Double](repeating: 0, count: 2 * ihw + 1)
    // Eight (then four) shifts at once in SIMD4 lanes, each lane summed in the order of the plain loop (the same
    // values): the flux and ivar of a sample are loaded once for all the shifts, the reference as one unaligned
    // load per four shifts, and the independent sums keep the floating-point units busy.
    flux.withUnsafeBufferPointer { fp in ref.withUnsafeBufferPointer { rp in ivar.withUnsafeBufferPointer { ip in
        let r0 = rp.baseAddress!
        @inline(__always) func ref4(_ k: Int) -> SIMD4<Double> { SIMD4.load(r0 + k) }
        var d = -ihw
        while d + 7 <= ihw {
            var s0 = SIMD4<Double>(repeating: 0), s1 = s0
            for i in ihw..<(n - ihw) {
                let f = SIMD4<Double>(repeating: fp[i]), w = SIMD4<Double>(repeating: ip[i])
                let a = f - ref4(i &+ d), b = f - ref4(i &+ d &+ 4)
                s0 += w * a * a; s1 += w * b * b
            }
            for q in 0..<4 { chi2[ihw + d + q] = s0[q]; chi2[ihw + d + 4 + q] = s1[q] }
            d += 8
        }
        while d + 3 <= ihw {
            var s0 = SIMD4<Double>(repeating: 0)
            for i in ihw..<(n - ihw) {
                let a = SIMD4<Double>(repeating: fp[i]) - ref4(i &+ d)
                s0 += SIMD4<Double>(repeating: ip[i]) * a * a
            }
            for q in 0..<4 { chi2[ihw + d + q] = s0[q] }
            d += 4
        }
        while d <= ihw {
            var s = 0.0
            for i in ihw..<(n - ihw) { let r = fp[i] - rp[i + d]; s += ip[i] * r * r }
            chi2[ihw + d] = s
            d += 1
        }
    } } }
    if let p = priorWidth {
        for d in -ihw...ihw { chi2[ihw + d] += (dwave * Double(d) / p) * (dwave * Double(d) / p) }
    }
    let i = chi2.indices.min { chi2[$0] < chi2[$1] }!
    if i < 2 || i >= chi2.count - 2 { return (0, 100) }
    let hh = Int(0.6 / dwave) + 1
    var b = i - hh, e = i + hh + 1
    if b < 0 { b = 0; e = b + 2 * hh + 1 }
    if e > 2 * ihw + 1 { e = 2 * ihw + 1; b = e - (2 * hh + 1) }
    let xs = (b..<e).map { dwave * Double($0 - ihw) }
    guard let c = try? Polynomial.fit(x: xs, y: Array(chi2[b..<e]), degree: 2), c[0] > 0 else { return (0, 100) }
    return (-c[1] / (2 * c[0]), (1 / c[0] + errorFloor * errorFloor).squareRoot())
}

/// y offsets from the cross-correlation of each fiber's resampled boxcar spectrum with a reference, in
/// `nbins` wavelength bins (desispec.trace_shifts.compute_dy_from_spectral_cross_correlations_of_frame).
func measureDyOfFrame(_ frame: ResampledBoxcar, fibers: [Int], xTrace: TraceSet, yTrace: TraceSet,
                      reference: [Double], nbins: Int, progress: ProgressLine? = nil) -> [TraceOffset] {
    let wave = frame.wave, flux = frame.flux, nw = wave.count
    // What every fiber shares in a bin: its samples (a contiguous range, the grid increases), the reference and its
    // smoothing by the calibration kernel (convolver and transform of the kernel made once per bin).
    struct Bin: Sendable { let range: Range<Int>; let wave: [Double]; let ref: [Double]; let smoothedRef: [Double]
                 let convolver: SameModeConvolution? }
    let bins = (0..<nbins).map { b -> Bin in
        let wmin = wave[0] + (wave[nw - 1] - wave[0]) / Double(nbins) * Double(b)
        let wmax = b < nbins - 1 ? wave[0] + (wave[nw - 1] - wave[0]) / Double(nbins) * Double(b + 1) : wave[nw - 1]
        let lo = wave.firstIndex { $0 >= wmin } ?? nw
        let hi = max(lo, wave.lastIndex { $0 <= wmax }.map { $0 + 1 } ?? lo)
        let w = Array(wave[lo..<hi]), r = Array(reference[lo..<hi])
        guard w.count >= 8 else { return Bin(range: lo..<hi, wave: w, ref: r, smoothedRef: [], convolver: nil) }
        let conv = SameModeConvolution(kernel: calibrationKernel(w), length: w.count)
        return Bin(range: lo..<hi, wave: w, ref: r, smoothedRef: conv.apply(r), convolver: conv)
    }
    // Fibers in pairs: one complex transform smooths the flux of both (the kernel is real, the two do not mix).
    let npair = (fibers.count + 1) / 2
    let perPair = parallelMap(npair) { p -> [TraceOffset] in
        var out = [TraceOffset]()
        let ks = [2 * p, 2 * p + 1].filter { $0 < fibers.count }
        defer { progress?.advance(by: ks.count) }
        let slices = bins.map { bin in ks.map { k in (k * nw + bin.range.lowerBound)..<(k * nw + bin.range.upperBound) } }
        let smoothed = bins.indices.map { b -> [[Double]] in
            guard let conv = bins[b].convolver else { return [] }
            let second = ks.count > 1 ? Array(flux[slices[b][1]]) : [Double](repeating: 0, count: bins[b].wave.count)
            let (a, c) = conv.apply(Array(flux[slices[b][0]]), second)
            return [a, c]
        }
        for (q, k) in ks.enumerated() {
            let fiber = fibers[k]
            var ivar = [Double](repeating: 0, count: nw)
            ivar.withUnsafeMutableBufferPointer { frame.ivar(of: k, into: $0) }
            for (b, bin) in bins.enumerated() {
                let f = Array(flux[slices[b][q]]), iv = Array(ivar[bin.range]), w = bin.wave
                var sw = 0.0, swl = 0.0
                for i in 0..<f.count where f[i] > 0 { let v = iv[i] * f[i] * f[i]; sw += v; swl += v * w[i] }
                guard sw > 0 else { continue }
                let bw = swl / sw
                let ref = bin.convolver == nil ? bin.ref
                    : calibratedReference(bin.ref, smoothedFlux: smoothed[b][q], smoothedReference: bin.smoothedRef)
                let (dw, err) = chi2ScanOffset(flux: f, wave: w, ref: ref, ivar: iv, hw: 3, priorWidth: nil)
                guard err <= 1 else { continue }
                let ty = yTrace.eval(fiber, bw), tx = xTrace.eval(fiber, bw)
                let dydw = (yTrace.eval(fiber, bw + 0.1) - ty) / 0.1
                out.append(TraceOffset(axis: 0, fiber: fiber, wavelength: bw, x: tx, y: ty, delta: -dw * dydw, error: err * dydw,
                                   dwave: dw, dwaveError: err))
            }
        }
        return out
    }
    return perPair.flatMap { $0 }   // fiber by fiber, bin by bin
}
