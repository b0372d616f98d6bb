import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Wavelength bins of the relative y calibration: 6 whatever --degyy, as desispec's (desi_compute_trace_shifts calls
/// compute_dy_using_boxcar_extraction without its degyy, whose default 2 gives degyy + 4 = 6 bins; --degyy sets only
/// the degree of the fit, and the bins of the absolute calibration).
let relativeCalibrationBins = 6

/// Options of the trace shift measurement (desi_compute_trace_shifts).
public struct TraceShiftOptions: Sendable {
    public var degxx = 2, degxy = 2, degyx = 2, degyy = 2
    /// Width of the boxcar / cross-dispersion window in pixels.
    public var width = 7
    /// Rows added together for the x profiles.
    public var ccdRowsRebin = 4
    /// Continuum image (flat, LED): only x shifts.
    public var continuum = false
    /// Max statistical error on the CCD edges before the polynomial degrees are lowered.
    public var maxError = 0.05
    /// External spectrum (vacuum Angstrom, any flux unit) for the absolute wavelength calibration.
    public var referenceWave: [Double]? = nil
    public var referenceFlux: [Double]? = nil
    /// Subtract a running median continuum before the internal cross-correlation (sky exposures).
    public var continuumSubtract = false
    /// The reference is the arc lamps' spectrum (--arc-lamps): the large shift scan matches its lines' spots.
    public var arcLamps = false
    /// desispec's first, coarse correction of arcs (--arc-lamps) and continuum images (--continuum) before the x
    /// passes (TraceShiftLargeScan.swift); false: --no-large-shift-scan.
    public var largeShiftScan = true
    public init() {}
}

/// Result: the new traces, the offsets measured, and the summary desispec writes in the PSF header.
public struct TraceShiftResult: Sendable {
    public var xTrace: TraceSet
    public var yTrace: TraceSet
    public var offsets: [TraceOffset]
    /// desispec's INTOFF: the y offsets of the last relative-calibration pass that moved the traces (nil when the
    /// first pass already converged or none ran), and EXTOFF: those of the absolute calibration (nil without it).
    public var internalOffsets: [TraceOffset]? = nil
    public var externalOffsets: [TraceOffset]? = nil
    public var meanDx: Double, minDx: Double, maxDx: Double
    public var meanDy: Double, minDy: Double, maxDy: Double
    /// Passes of the x and of the relative y measurement (each until the traces move by less than 0.001 pixel).
    public var xPasses = 0, yPasses = 0
    /// What the large shift scan moved the traces by first; nil without a scan.
    public var largeShift: LargeShift? = nil
    /// What the measurement did not do and why (logged as warnings).
    public var warnings: [String] = []
}

/// The offset of the large shift scan (TraceShiftLargeScan.swift): dy for arcs only, and what it says of its matches.
public struct LargeShift: Sendable {
    public var dx: Double
    public var dy: Double?
    public var summary: String
}

/// Fits offsets z(x, y) with degrees lowered while the error on the CCD corners exceeds `maxError`
/// (desi_compute_trace_shifts fit_xcoeff / fit_ycoeff), returns the fit used.
func fitOffsets(_ o: [TraceOffset], degx dx0: Int, degy dy0: Int, xTrace: TraceSet, yTrace: TraceSet,
                maxError: Double) throws -> PolynomialFit2D {
    var degx = dx0, degy = dy0
    let nf = xTrace.ntrace
    for _ in 0...(dx0 + dy0 + 1) {
        var merr = 0.0
        var fit: PolynomialFit2D? = nil
        do {
            let f = try PolynomialFit2D.fit(z: o.map(\.delta), ez: o.map(\.error), x: o.map(\.x), y: o.map(\.y), degx: degx, degy: degy)
            for fiber in [0, nf - 1] {
                for w in [xTrace.domainMin, xTrace.domainMax] {
                    merr = max(merr, f.error(x: xTrace.eval(fiber, w), y: yTrace.eval(fiber, w)))
                }
            }
            fit = f
        } catch {
            if degx == 0 && degy == 0 {
                throw DESIError.failed("polynomial fit of \(o.count) trace offsets failed with degrees 0: \(error)")
            }
            merr = .infinity
        }
        if let f = fit, merr <= maxError || (degx == 0 && degy == 0) { return f }
        if degy > 0 && degy > degx { degy -= 1 } else if degx > 0 { degx -= 1 } else { degy = max(0, degy - 1) }
    }
    throw DESIError.failed("could not fit the trace offsets")
}

/// Measures the shifts of the traces of a PSF on a preprocessed image and returns shifted traces
/// (desispec.scripts.trace_shifts.fit_trace_shifts, cross-correlation method):
/// 1. x: cross-dispersion centroids (measureDx), 2-D polynomial fit of degrees (degxx, degxy), traces refitted;
///    iterated until the change is below 0.001 pixel.
/// 2. y (unless `continuum`, and when degyx or degyy > 0): boxcar spectra resampled 4x on a common grid,
///    cross-correlated with their median in 6 wavelength bins (relativeCalibrationBins); the median offset is removed (relative
///    calibration only); 2-D fit of degrees (degyx, degyy); iterated.
/// 3. with an external reference spectrum: the median boxcar spectrum (oversampling 2) is cross-correlated with the
///    reference convolved by the PSF's line spread, in degyy + 4 bins, +-10 A; a polynomial of degree degyy in
///    wavelength of the y offsets is added to every fiber (shift_ycoef_using_external_spectrum).
public func computeTraceShifts(image: Image, xTrace x0: TraceSet, yTrace y0: TraceSet, psf: (any SpectralPSF)?,
                               fibers fibersIn: [Int]? = nil, options o: TraceShiftOptions) throws -> TraceShiftResult {
    guard x0.ntrace == y0.ntrace else { throw DESIError.mismatch("x and y traces have \(x0.ntrace) and \(y0.ntrace) fibers") }
    guard image.ivar.contains(where: { $0 > 0 }) else {
        throw DESIError.invalidArgument("the image is entirely masked: no trace shifts can be measured")
    }
    let fibers = fibersIn ?? Array(0..<x0.ntrace)
    var xTrace = x0, yTrace = y0
    var degxx = o.degxx, degxy = o.degxy, degyx = o.degyx, degyy = o.degyy
    var offsets: [TraceOffset] = []

    // 0. the large shift scan of arcs and continuum images (desispec's default, --no-large-shift-scan).
    var largeShift: LargeShift? = nil
    if o.largeShiftScan, o.arcLamps, let lw = o.referenceWave, let lf = o.referenceFlux {
        let scan = try arcLampLargeShift(image: image, xTrace: xTrace, yTrace: yTrace, fibers: fibers, lampWave: lw, lampFlux: lf)
        largeShift = LargeShift(dx: scan.dx, dy: scan.dy, summary: "\(scan.matched) of \(scan.expected) expected arc spots "
                                                                   + "matched to the \(scan.detected) detected")
    } else if o.largeShiftScan, o.continuum {
        let dx = continuumLargeShiftX(image: image, xTrace: xTrace, yTrace: yTrace, fibers: fibers)
        largeShift = LargeShift(dx: dx, dy: nil, summary: "median of 7 bands of 100 rows")
    }
    if let s = largeShift {
        xTrace = xTrace.shifted(by: s.dx)
        if let dy = s.dy { yTrace = yTrace.shifted(by: dy) }
    }

    // 1. x shifts.
    var xPasses = 0, yPasses = 0
    let rebinned = RebinnedImage(image, rebin: o.ccdRowsRebin)   // the image does not change between the passes
    for iteration in 0..<10 {
        xPasses = iteration + 1
        let progress = ProgressLine("trace shifts, x pass \(iteration + 1)", total: fibers.count)
        let dx = measureDx(rebinned: rebinned, xTrace: xTrace, yTrace: yTrace, fibers: fibers, width: o.width, deg: o.degxy,
                           progress: progress)
        progress.finish()
        guard dx.count > 0 else { throw DESIError.failed("no cross-dispersion profile with S/N > 3: cannot measure x shifts") }
        if iteration == 0 {
            let hy = Double(image.ny / 2), hx = Double(image.nx / 2)
            var allQuadrants = true
            for xs in [true, false] { for ys in [true, false] {
                allQuadrants = allQuadrants && dx.contains { ($0.x < hx) == xs && ($0.y < hy) == ys && $0.x != hx && $0.y != hy }
            } }
            if !allQuadrants { degxx = 0; degxy = 0; degyx = 0; degyy = 0 }
        }
        let fit = try fitOffsets(dx, degx: degxx, degy: degxy, xTrace: xTrace, yTrace: yTrace, maxError: o.maxError)
        let yt = yTrace
        let newX = try xTrace.refitted { f, w, x in fit.value(x: x, y: yt.eval(f, w)) }
        var maxChange = 0.0
        for f in 0..<xTrace.ntrace {
            maxChange = max(maxChange, abs(newX.coefficients[f * newX.ncoef] - xTrace.coefficients[f * xTrace.ncoef]))
        }
        xTrace = newX
        offsets = dx
        if maxChange < 0.001 { break }
    }

    // 2. internal y calibration.
    var dyOffsets: [TraceOffset] = []
    var internalOffsets: [TraceOffset]? = nil, externalOffsets: [TraceOffset]? = nil
    if !o.continuum && (degyx > 0 || degyy > 0) {
        for iteration in 0..<10 {
            yPasses = iteration + 1
            let fr = try boxcarFrame(image: image, xTrace: xTrace, yTrace: yTrace, fibers: fibers, width: o.width)
            var resampled = ResampledBoxcar(fr, oversampling: 4)
            let nw = resampled.nwave, nf = fibers.count
            var reference: [Double]
            if o.continuumSubtract {
                reference = continuumSubtractedMedian(flux: &resampled.flux, weightedFibers: resampled.weightedFibers,
                                                      nfiber: nf, nwave: nw, window: 4 * 9).map { max($0, 0) }
                for k in 0..<resampled.flux.count where resampled.flux[k] < 0 { resampled.flux[k] = 0 }
            } else {
                reference = medianOverFibers(resampled.flux, fibers: resampled.weightedFibers, nwave: nw)
            }
            let progress = ProgressLine("trace shifts, y pass \(iteration + 1)", total: fibers.count)
            var dy = measureDyOfFrame(resampled, fibers: fibers, xTrace: xTrace, yTrace: yTrace,
                                      reference: reference, nbins: relativeCalibrationBins, progress: progress)
            progress.finish()
            guard dy.count > (degyx + 1) * (degyy + 1) else { break }
            let mdy = median(dy.map(\.delta))
            for k in 0..<dy.count { dy[k].delta -= mdy }
            let fit = try fitOffsets(dy, degx: degyx, degy: degyy, xTrace: xTrace, yTrace: yTrace, maxError: o.maxError)
            let xt = xTrace
            let newY = try yTrace.refitted { f, w, y in fit.value(x: xt.eval(f, w), y: y) }
            var changes = (0..<yTrace.ntrace).map { newY.coefficients[$0 * newY.ncoef] - yTrace.coefficients[$0 * yTrace.ncoef] }
            let mean = changes.reduce(0, +) / Double(max(changes.count, 1))
            changes = changes.map { abs($0 - mean) }
            yTrace = newY
            dyOffsets = dy
            if (changes.max() ?? 0) < 0.001 { break }
            internalOffsets = dy   // as desispec: the info of a pass is kept when it did not converge
        }
    }

    // 3. external wavelength calibration.
    var warnings: [String] = []
    if let rw = o.referenceWave, let rf = o.referenceFlux {
        if let (newY, ext) = try shiftWithExternalSpectrum(image: image, xTrace: xTrace, yTrace: yTrace, psf: psf, fibers: fibers,
                                                            refWave: rw, refFlux: rf, degyy: o.degyy, width: o.width) {
            yTrace = newY
            dyOffsets += ext
            externalOffsets = ext
        } else if o.arcLamps && o.largeShiftScan {
            // an arc's traces before its PSF fit: the scan has placed them to a fraction of a pixel, the fit does the rest
            // (desispec stops here, its polynomial fit of no offsets failing)
            warnings.append("no wavelength bin could be matched to the arc lamp spectrum: the traces keep the large shift "
                            + "scan's y offset")
        } else {
            throw DESIError.failed("no wavelength bin could be matched to the reference spectrum")
        }
    }
    offsets += dyOffsets

    // Summary at 5 wavelengths for every fiber (MEANDX ... MAXDY keywords).
    let ws = (0..<5).map { x0.domainMin + (x0.domainMax - x0.domainMin) * Double($0) / 4 }
    var dxs = [Double](), dys = [Double]()
    for f in 0..<x0.ntrace { for w in ws {
        dxs.append(xTrace.eval(f, w) - x0.eval(f, w)); dys.append(yTrace.eval(f, w) - y0.eval(f, w))
    } }
    return TraceShiftResult(xTrace: xTrace, yTrace: yTrace, offsets: offsets,
                            internalOffsets: internalOffsets, externalOffsets: externalOffsets,
                            meanDx: dxs.reduce(0, +) / Double(dxs.count), minDx: dxs.min()!, maxDx: dxs.max()!,
                            meanDy: dys.reduce(0, +) / Double(dys.count), minDy: dys.min()!, maxDy: dys.max()!,
                            xPasses: xPasses, yPasses: yPasses, largeShift: largeShift, warnings: warnings)
}

/// Median spectrum of continuum-subtracted spectra (desispec.trace_shifts._continuum_subtract_median): each
/// spectrum minus its running median over the annulus window/2 < |k| <= window (scipy median_filter's 'reflect'
/// edges, runningAnnulusMedian), written over `flux`; returns the median over `weightedFibers` (desispec clips it
/// at 0 after its MAD has bounded the ivar of the external calibration).
func continuumSubtractedMedian(flux: inout [Double], weightedFibers: [Int], nfiber: Int, nwave: Int,
                               window: Int) -> [Double] {
    // each fiber's running median written in place, then subtracted from a copy of its row (no frame-sized array)
    flux.withUnsafeMutableBufferPointer { fp in
        let fb = SharedBuffer(fp)
        parallelFor(nfiber) { f in
            let row = UnsafeMutableBufferPointer(start: fb.base + f * nwave, count: nwave)
            let original = Array(row)
            original.withUnsafeBufferPointer { runningAnnulusMedian($0, window: window, into: row) }
            for k in 0..<nwave { row[k] = original[k] - row[k] }
        }
    }
    return medianOverFibers(flux, fibers: weightedFibers, nwave: nwave)
}

/// Median over `fibers` of the [nfiber, nwave] array `a` at every wavelength (in parallel over wavelengths).
func medianOverFibers(_ a: [Double], fibers: [Int], nwave: Int) -> [Double] {
    let chunk = 256
    let nf = fibers.count
    let parts = parallelMap((nwave + chunk - 1) / chunk) { c -> [Double] in
        let k0 = c * chunk, k1 = min(nwave, (c + 1) * chunk), m = k1 - k0
        // The chunk's columns copied fiber by fiber (contiguous reads), then each wavelength's values gathered there.
        var block = [Double](repeating: 0, count: nf * m), column = [Double](repeating: 0, count: nf)
        a.withUnsafeBufferPointer { ap in block.withUnsafeMutableBufferPointer { bp in
            for (q, f) in fibers.enumerated() { for k in 0..<m { bp[q * m + k] = ap[f * nwave + k0 + k] } }
        } }
        // neighbouring wavelengths have close medians: each found in a bracket around the previous one
        var medians = BracketedMedian(count: nf)
        return block.withUnsafeBufferPointer { bp in column.withUnsafeMutableBufferPointer { cp in
            (0..<m).map { k -> Double in
                for q in 0..<nf { cp[q] = bp[q * m + k] }
                return medians.median(cp)
            }
        } }
    }
    return parts.flatMap { $0 }
}

/// External wavelength calibration (desispec.trace_shifts.shift_ycoef_using_external_spectrum): the median of the
/// continuum-subtracted boxcar spectra cross-correlated with the reference convolved by the PSF's line spread
/// (ConvolvedReference). nil when no wavelength bin matched the reference.
func shiftWithExternalSpectrum(image: Image, xTrace: TraceSet, yTrace: TraceSet, psf: (any SpectralPSF)?, fibers: [Int],
                               refWave rw0: [Double], refFlux rf0: [Double], degyy: Int,
                               width: Int) throws -> (TraceSet, [TraceOffset])? {
    guard rw0.count == rf0.count, rw0.count > 10 else {
        throw DESIError.invalidArgument("reference spectrum needs > 10 (wavelength, flux) pairs")
    }
    let fr = try boxcarFrame(image: image, xTrace: xTrace, yTrace: yTrace, fibers: fibers, width: width)
    var resampled = ResampledBoxcar(fr, oversampling: 2)
    let wave = resampled.wave, nw = wave.count, nf = fibers.count
    let good = resampled.weightedFibers
    // the continuum-subtracted spectra written over the resampled flux, then their |deviations| from the median
    let unclipped = continuumSubtractedMedian(flux: &resampled.flux, weightedFibers: good, nfiber: nf, nwave: nw, window: 2 * 9)
    let mflux = unclipped.map { max($0, 0) }
    resampled.flux.withUnsafeMutableBufferPointer { fp in
        let shared = SharedBuffer(fp)
        parallelFor(nf) { f in for k in 0..<nw { shared.base[f * nw + k] = abs(shared.base[f * nw + k] - unclipped[k]) } }
    }
    // ivar of the median: median of the fibers' ivar times nfiber * 2 / pi, limited by the MAD of the spectra and by
    // the median |flux| of the (unclipped) median spectrum, the "effective" noise of the continuum subtraction.
    let mad = medianOverFibers(resampled.flux, fibers: good, nwave: nw)
    let medianIvar = medianOverFibers(resampled.ivarFrame(), fibers: good, nwave: nw)
    let medAbs = median(unclipped.map(abs))
    let mivar = (0..<nw).map { k -> Double in
        let m = max(mad[k], 1e-100)
        let v = min(medianIvar[k], 1 / (1.48 * 1.48) / (m * m)) * Double(good.count) * 2 / Double.pi
        return medAbs > 0 ? min(v, 1 / (1.48 * 1.48) / (medAbs * medAbs)) : v
    }
    // Reference convolved by the PSF's line spread, on a fine grid.
    guard rw0.first! <= wave[nw - 1] && rw0.last! >= wave[0] else {
        throw DESIError.invalidArgument("reference spectrum does not cover \(wave[0])-\(wave[nw - 1]) A")
    }
    let mid = fibers[nf / 2]
    let convolved = ConvolvedReference(wave: rw0, flux: rf0, from: wave[0], to: wave[nw - 1], psf: psf, fibers: fibers)
    let refAt = convolved.value(at:)
    var ref = wave.map(refAt)
    // Absorb the difference of calibration by one scale factor.
    let kernel = wave.map { w -> Double in let x = (w - wave[nw / 2]) / 50; return exp(-x * x / 2) }
    let f1 = convolveSame(mflux, kernel), f2 = convolveSame(ref, kernel)
    let num = zip(f1, f2).map(*).reduce(0, +), den = f2.map { $0 * $0 }.reduce(0, +)
    let scale = den > 0 ? num / den : 1
    ref = ref.map { $0 * scale }

    let nbins = degyy + 4
    // Bin edges as desispec, each inner edge moved to the faintest sample of the median spectrum within 5 A (not in
    // desispec): a line cut by a bin edge biases its shift by a few 0.01 pixel.
    var edges = (0...nbins).map { wave[0] + (wave[nw - 1] - wave[0]) * Double($0) / Double(nbins) }
    for b in 1..<nbins {
        let near = (0..<nw).filter { abs(wave[$0] - edges[b]) <= 5 }
        if let k = near.min(by: { mflux[$0] < mflux[$1] }) { edges[b] = wave[k] }
    }
    var out: [TraceOffset] = []
    for b in 0..<nbins {
        let lo = edges[b], hi = edges[b + 1]
        let ok = (0..<nw).filter { wave[$0] >= lo && (b == nbins - 1 ? wave[$0] <= hi : wave[$0] < hi) }
        guard ok.count > 10 else { continue }
        var sw = 0.0, swl = 0.0
        for k in ok where mflux[k] > 0 { let q = mflux[k] * mflux[k] * mivar[k]; sw += q; swl += q * wave[k] }
        guard sw > 0 else { continue }
        var (dw, err) = crossCorrelationOffset(flux: ok.map { mflux[$0] }, wave: ok.map { wave[$0] }, ref: ok.map { ref[$0] },
                                               ivar: ok.map { mivar[$0] }, hw: 10, calibrate: false, priorWidth: 0.1)
        if err < 100 {
            // Refinement (not in desispec): the grid scan above moves the reference by whole grid steps (~0.3 A) and
            // its parabola is biased by the sampling; here the reference is shifted continuously around the minimum.
            let inner = ok.filter { $0 >= ok[0] + 3 && $0 <= ok[ok.count - 1] - 3 }
            func chi2(_ d: Double) -> Double {
                var c = (d / 0.1) * (d / 0.1)
                for k in inner { let r = mflux[k] - scale * refAt(wave[k] + d); c += mivar[k] * r * r }
                return c
            }
            for half in [0.3, 0.15] {
                let ds = (-10...10).map { dw + half * Double($0) / 10 }
                if let c = try? Polynomial.fit(x: ds.map { $0 - dw }, y: ds.map(chi2), degree: 2), c[0] > 0 {
                    let d = dw - c[1] / (2 * c[0])
                    if abs(d - dw) < half { dw = d; err = (1 / c[0] + 0.01 * 0.01).squareRoot() }
                }
            }
        }
        let bw = swl / sw
        let y = yTrace.eval(mid, bw)
        let dydw = (yTrace.eval(mid, bw + 0.1) - y) / 0.1
        if err * dydw < 1 {
            out.append(TraceOffset(axis: 0, fiber: mid, wavelength: bw, x: xTrace.eval(mid, bw), y: y, delta: -dw * dydw,
                                   error: err * dydw, dwave: dw, dwaveError: err))
        }
    }
    // Gross outliers (not in desispec): a bin whose scan over +-10 A locked on other lines of a reference that does not
    // match the sky it sees (seen: -10 pixels in one bin of a specter-rendered UVES sky, which moved the mean by 2
    // pixels) is dropped when it is more than 0.5 pixel and 5 sigma away from the median of the bins.
    if out.count >= 3 {
        let m = median(out.map(\.delta))
        out = out.filter { abs($0.delta - m) <= max(0.5, 5 * $0.error) }
    }
    guard !out.isEmpty else { return nil }
    let deg = min(degyy, out.count - 1)
    let c = try Polynomial.fit(x: out.map(\.wavelength), y: out.map(\.delta), degree: deg, weights: out.map { 1 / $0.error })
    let newY = try yTrace.refitted { _, w, _ in Polynomial.value(c, w) }
    return (newY, out)
}
