import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Options of the fiber flat fit (defaults of desispec.fiberflat.compute_fiberflat).
public struct FiberFlatOptions: Sendable {
    /// Sigma clipping of outlier pixels.
    public var nsigClipping = 10.0
    /// End test of the iterations: largest change of the smooth flat.
    public var accuracy = 5e-4
    /// Pixels below minval or above maxval times the median spectrum are masked.
    public var minval = 0.1
    public var maxval = 10.0
    public var maxIterations = 15
    /// Spacing of the spline nodes used to smooth the flat (Angstrom).
    public var smoothingResolution = 5.0
    /// A fiber is masked entirely when this many of its pixels are rejected.
    public var maxBad = 100
    /// At most this many pixels of a fiber are rejected at each iteration.
    public var maxRejectPerIteration = 5
    /// Pixels of flux * sqrt(ivar) below this are ignored (desispec min_sn; 0 ignores negative flux).
    public var minSN = 0.0
    public init() {}
}

/// FIBERSTATUS bits that make a fiber unusable for the flat (desispec.fiberbitmasking.get_flat_fiberbitmask_val).
public let flatFiberStatusMask: UInt32 = FiberStatus.brokenFiber | FiberStatus.badFiber | FiberStatus.badTrace
    | FiberStatus.badArc | FiberStatus.manyBadColumns | FiberStatus.manyRejected

/// Computes the fiber flat of a flat-lamp frame (desispec.fiberflat.compute_fiberflat, 0.70):
/// 0) mask pixels far from the median spectrum; 1) median spectrum and spline-smoothed flats with outlier
/// rejection; 2) iterate a deconvolved mean spectrum M (banded normal equations sum_f R_f^T W_f F_f^2 R_f)
/// and smooth flats F_f = spline(flux_f / (R_f M)); 3) unsmoothed flat flux_f / (R_f M) at native resolution,
/// clipped against its own spline, renormalized to a median of 1, bad pixels interpolated.
public func computeFiberFlat(frame: Frame, options: FiberFlatOptions = FiberFlatOptions(),
                             log: ((String) -> Void)? = nil) throws -> FiberFlat {
    guard let res = frame.resolution else {
        throw DESIError.invalidArgument("frame has no resolution data: the fiber flat needs the RESOLUTION of each fiber")
    }
    let nspec = frame.nspec, nwave = frame.nwave
    guard res.nspec == nspec, res.nwave == nwave else {
        throw DESIError.mismatch("resolution is [\(res.nspec), \(res.ndiag), \(res.nwave)] for a frame of [\(nspec), \(nwave)]")
    }
    let wave = frame.wave
    let o = options
    // Fibers with a bad FIBERSTATUS: ivar = 0 and mask BADFIBER; masked pixels ivar = 0.
    var mask = frame.mask
    var frameIvar = [Double](repeating: 0, count: nspec * nwave)
    let status = frame.fibermap.map { $0.fiberStatus } ?? []
    for f in 0..<nspec {
        let bad = status.count == nspec && (status[f] & flatFiberStatusMask) != 0
        for i in 0..<nwave {
            let k = f * nwave + i
            if bad { mask[k] |= SpecMask.badFiber }
            frameIvar[k] = (bad || frame.mask[k] != 0) ? 0 : Double(frame.ivar[k])
        }
    }
    let flux = frame.flux.map(Double.init)
    var ivar = frameIvar
    for k in 0..<ivar.count where flux[k] * ivar[k].squareRoot() < o.minSN { ivar[k] = 0 }

    // 0th pass: reject pixels far from the median spectrum.
    var meanSpectrum = [Double](repeating: 0, count: nwave)
    var nbad = [Int](repeating: 0, count: nspec)
    for _ in 0..<o.maxIterations {
        columnMedians(flux, ivar, nspec, nwave, into: &meanSpectrum, keepWhenEmpty: true)
        var nbadIt = 0
        for f in 0..<nspec {
            var n = 0
            for i in 0..<nwave {
                let k = f * nwave + i
                if ivar[k] > 0 && (flux[k] < o.minval * meanSpectrum[i] || flux[k] > o.maxval * meanSpectrum[i]) {
                    ivar[k] = 0; n += 1
                }
            }
            nbadIt += n; nbad[f] += n
            if n > 0 { log?("0th pass: masking \(n) pixels in fiber \(f)") }
            if nbad[f] >= o.maxBad { for i in 0..<nwave { ivar[f * nwave + i] = 0 } }
        }
        if nbadIt == 0 { break }
    }

    // 1st pass: median spectrum, smooth flat without resolution, outlier rejection.
    var smooth = [Double](repeating: 1, count: nspec * nwave)
    var chi2pdf = 0.0
    let nodesPerFiber = Double(nwave) / o.smoothingResolution
    for iteration in 0..<o.maxIterations {
        meanSpectrum = [Double](repeating: 0, count: nwave)
        columnMedians(flux, ivar, nspec, nwave, into: &meanSpectrum, keepWhenEmpty: true)
        var rejected = [Int](repeating: 0, count: nspec)
        var chi2sum = [Double](repeating: 0, count: nspec)
        let ms = meanSpectrum
        ivar.withUnsafeMutableBufferPointer { ivp in
            smooth.withUnsafeMutableBufferPointer { smp in
                rejected.withUnsafeMutableBufferPointer { rjp in
                    chi2sum.withUnsafeMutableBufferPointer { csp in
                        let iv = SharedBuffer(ivp), sm = SharedBuffer(smp), rj = SharedBuffer(rjp), cs = SharedBuffer(csp)
                        parallelFor(nspec) { f in
                            let base = f * nwave
                            var xs = [Double](), ys = [Double](), ws = [Double]()
                            for i in 0..<nwave where ms[i] != 0 && iv[base + i] > 0 {
                                xs.append(wave[i]); ys.append(flux[base + i] / ms[i]); ws.append(iv[base + i] * ms[i] * ms[i])
                            }
                            if !(0..<nwave).contains(where: { iv[base + $0] > 0 }) { return }
                            if let s = try? splineFit(outputX: wave, x: xs, y: ys, resolution: o.smoothingResolution, ivar: ws,
                                                      maxResolution: 1.5 * o.smoothingResolution) {
                                for i in 0..<nwave { sm[base + i] = s[i] }
                            } else {
                                for i in 0..<nwave { iv[base + i] = 0 }
                            }
                            var chi2 = [Double](repeating: 0, count: nwave)
                            var total = 0.0
                            for i in 0..<nwave {
                                let r = flux[base + i] - ms[i] * sm[base + i]
                                chi2[i] = iv[base + i] * r * r
                                if chi2[i].isFinite { total += chi2[i] }
                            }
                            cs[f] = total
                            var bad = (0..<nwave).filter { chi2[$0] > o.nsigClipping * o.nsigClipping }
                            if bad.count > o.maxRejectPerIteration {
                                bad = Array(bad.sorted { chi2[$0] < chi2[$1] }.suffix(o.maxRejectPerIteration))
                            }
                            for i in bad { iv[base + i] = 0 }
                            rj[f] = bad.count
                        }
                    }
                }
            }
        }
        var nbadIt = 0
        for f in 0..<nspec where rejected[f] > 0 {
            nbad[f] += rejected[f]; nbadIt += rejected[f]
            if nbad[f] >= o.maxBad { for i in 0..<nwave { ivar[f * nwave + i] = 0 } }
        }
        let ndf = Int(Double(ivar.lazy.filter { $0 > 0 }.count) - Double(nwave) - Double(nspec) * nodesPerFiber)
        chi2pdf = ndf > 0 ? chi2sum.reduce(0, +) / Double(ndf) : 0
        log?("1st pass iter #\(iteration) chi2pdf=\(chi2pdf) nout=\(nbadIt)")
        if nbadIt == 0 { break }
    }
    normalizeColumns(&smooth, ivar, nspec, nwave)

    // 2nd pass: deconvolved mean spectrum and smooth flats, no rejection.
    var previous = [Double](repeating: 0, count: nspec * nwave)
    var previousMaxDiff = 0.0
    for iteration in 0..<o.maxIterations {
        // weights ivar * F^2 and values flux / F give R^T (ivar F^2) R M = R^T (ivar F flux)
        var w = [Double](repeating: 0, count: nspec * nwave)
        var y = [Double](repeating: 0, count: nspec * nwave)
        for k in 0..<w.count where smooth[k] != 0 && ivar[k] > 0 {
            w[k] = ivar[k] * smooth[k] * smooth[k]; y[k] = flux[k] / smooth[k]
        }
        meanSpectrum = try deconvolve(res: res, weights: w, values: y, nspec: nspec, nwave: nwave)
        var chi2sum = [Double](repeating: 0, count: nspec)
        ivar.withUnsafeMutableBufferPointer { ivp in
            smooth.withUnsafeMutableBufferPointer { smp in
                chi2sum.withUnsafeMutableBufferPointer { csp in
                    let iv = SharedBuffer(ivp), sm = SharedBuffer(smp), cs = SharedBuffer(csp)
                    let ms = meanSpectrum
                    parallelFor(nspec) { f in
                        let base = f * nwave
                        if !(0..<nwave).contains(where: { iv[base + $0] > 0 }) { return }
                        let m = res.apply(spec: f, to: ms)
                        var xs = [Double](), ys = [Double](), ws = [Double]()
                        for i in 0..<nwave where m[i] != 0 && iv[base + i] > 0 {
                            xs.append(wave[i]); ys.append(flux[base + i] / m[i]); ws.append(iv[base + i] * m[i] * m[i])
                        }
                        if xs.isEmpty { return }
                        if let s = try? splineFit(outputX: wave, x: xs, y: ys, resolution: o.smoothingResolution, ivar: ws,
                                                  maxResolution: 1.5 * o.smoothingResolution) {
                            for i in 0..<nwave { sm[base + i] = (iv[base + i] * m[i] * m[i] > 0) ? s[i] : 0 }
                        } else {
                            for i in 0..<nwave { iv[base + i] = 0 }
                        }
                        var total = 0.0
                        for i in 0..<nwave {
                            let r = flux[base + i] - sm[base + i] * m[i]
                            total += iv[base + i] * r * r
                        }
                        cs[f] = total
                        if (0..<nwave).contains(where: { sm[base + $0].isNaN }) {
                            for i in 0..<nwave { iv[base + i] = 0; sm[base + i] = 1 }
                        }
                    }
                }
            }
        }
        normalizeColumns(&smooth, ivar, nspec, nwave)
        var maxDiff = 0.0
        for k in 0..<smooth.count where ivar[k] > 0 { maxDiff = max(maxDiff, abs(smooth[k] - previous[k])) }
        previous = smooth
        let ndf = Int(Double(ivar.lazy.filter { $0 > 0 }.count) - Double(nwave) - Double(nspec) * nodesPerFiber)
        chi2pdf = ndf > 0 ? chi2sum.reduce(0, +) / Double(ndf) : 0
        log?("2nd pass iter #\(iteration) chi2pdf=\(chi2pdf) max diff=\(maxDiff)")
        if maxDiff < o.accuracy { break }
        if abs(maxDiff - previousMaxDiff) < o.accuracy * 0.1 { break }
        previousMaxDiff = maxDiff
    }

    // 3rd pass: flat at native resolution.
    ivar = frameIvar
    var flat = [Double](repeating: 1, count: nspec * nwave)
    var flatIvar = [Double](repeating: 0, count: nspec * nwave)
    var outMask = [UInt32](repeating: 0, count: nspec * nwave)
    let badFlat = SpecMask.badFiberFlat
    let nsig2 = o.nsigClipping * o.nsigClipping
    let ms = meanSpectrum
    flat.withUnsafeMutableBufferPointer { flp in
        flatIvar.withUnsafeMutableBufferPointer { fip in
            outMask.withUnsafeMutableBufferPointer { omp in
                let fl = SharedBuffer(flp), fi = SharedBuffer(fip), om = SharedBuffer(omp)
                parallelFor(nspec) { f in
                    let base = f * nwave
                    if !(0..<nwave).contains(where: { ivar[base + $0] > 0 }) { return }
                    let m = res.apply(spec: f, to: ms)
                    for i in 0..<nwave {
                        fl[base + i] = m[i] != 0 ? flux[base + i] / m[i] : 1
                        fi[base + i] = ivar[base + i] * m[i] * m[i]
                    }
                    for _ in 0..<500 {
                        var xs = [Double](), ys = [Double](), ws = [Double]()
                        for i in 0..<nwave where fi[base + i] > 0 { xs.append(wave[i]); ys.append(fl[base + i]); ws.append(fi[base + i]) }
                        if xs.count < 100 { break }
                        guard let s = try? splineFit(outputX: wave, x: xs, y: ys, resolution: o.smoothingResolution, ivar: ws) else {
                            for i in 0..<nwave { om[base + i] |= badFlat; fi[base + i] = 0 }
                            break
                        }
                        var worst = -1, worstChi2 = nsig2
                        for i in 0..<nwave {
                            let r = fl[base + i] - s[i]
                            let c = fi[base + i] * r * r
                            if c > worstChi2 { worstChi2 = c; worst = i }
                        }
                        if worst < 0 { break }
                        om[base + worst] |= badFlat
                        fi[base + worst] = 0
                    }
                }
            }
        }
    }
    normalizeFlat(&flat, outMask, ivar, nspec, nwave)
    // interpolate over bad pixels with a smooth spline in pixel units
    let pixels = (0..<nwave).map(Double.init)
    flat.withUnsafeMutableBufferPointer { flp in
        flatIvar.withUnsafeMutableBufferPointer { fip in
            let fl = SharedBuffer(flp), fi = SharedBuffer(fip)
            parallelFor(nspec) { f in
                let base = f * nwave
                if !(0..<nwave).contains(where: { ivar[base + $0] > 0 }) { return }
                var bad = [Int]()
                for i in 0..<nwave {
                    let v = fl[base + i]
                    if outMask[base + i] > 0 || fi[base + i] == 0 || v < o.minval || v > o.maxval { bad.append(i) }
                }
                if bad.isEmpty { return }
                for i in bad { fi[base + i] = 0 }
                var longest = 0, run = 0
                for (n, i) in bad.enumerated() {
                    run = (n > 0 && bad[n - 1] == i - 1) ? run + 1 : 1
                    longest = max(longest, run)
                }
                var xs = [Double](), ys = [Double](), ws = [Double]()
                for i in 0..<nwave where fi[base + i] > 0 { xs.append(pixels[i]); ys.append(fl[base + i]); ws.append(fi[base + i]) }
                if xs.isEmpty { return }
                if let s = try? splineFit(outputX: pixels, x: xs, y: ys, resolution: Double(max(100, longest)), ivar: ws) {
                    for i in bad { fl[base + i] = s[i] }
                } else {
                    for i in bad { fl[base + i] = 1; fi[base + i] = 0 }
                }
            }
        }
    }
    normalizeFlat(&flat, outMask, ivar, nspec, nwave)
    // systematic error of 0.0035 (desispec, calibrated on simulations)
    for k in 0..<flatIvar.count {
        flatIvar[k] = flatIvar[k] > 0 ? 1 / (1 / flatIvar[k] + 0.0035 * 0.0035) : 0
        if flatIvar[k] == 0 { outMask[k] |= badFlat }
    }
    return try FiberFlat(wave: wave, flat: flat, ivar: flatIvar, mask: outMask, meanspec: meanSpectrum,
                         chi2pdf: chi2pdf, header: frame.header, fibermap: frame.fibermap)
}

/// Solves sum_f R_f^T W_f R_f x = sum_f R_f^T W_f y_f on banded normal equations; unknowns no data
/// constrain are 0. Fibers are summed in fixed chunks so that the result does not depend on the thread count.
func deconvolve(res: ResolutionData, weights: [Double], values: [Double], nspec: Int, nwave: Int) throws -> [Double] {
    let ndiag = res.ndiag
    let kd = BandedDeconvolution.bandWidth(ndiag: ndiag, nterms: 1)
    let (a, b) = BandedDeconvolution.accumulateInChunks(count: nspec, n: nwave, kd: kd) { f, a, b in
        res.data.withUnsafeBufferPointer { rd in
            weights.withUnsafeBufferPointer { wp in
                values.withUnsafeBufferPointer { vp in
                    let r = UnsafeBufferPointer(rebasing: rd[(f * ndiag * nwave)..<((f + 1) * ndiag * nwave)])
                    let w = UnsafeBufferPointer(rebasing: wp[(f * nwave)..<((f + 1) * nwave)])
                    let v = UnsafeBufferPointer(rebasing: vp[(f * nwave)..<((f + 1) * nwave)])
                    BandedDeconvolution.accumulate(resolution: r, ndiag: ndiag, nwave: nwave, weights: w, values: v,
                                                   terms: [1], into: &a, rhs: &b)
                }
            }
        }
    }
    do {
        return try BandedDeconvolution.solve(a, b).x
    } catch {
        throw DESIError.failed("deconvolution of the mean spectrum failed: \(error)")
    }
}

/// Median over fibers with ivar > 0 of each wavelength column; columns with none keep their value or get 0.
func columnMedians(_ x: [Double], _ ivar: [Double], _ nspec: Int, _ nwave: Int, into out: inout [Double], keepWhenEmpty: Bool) {
    var col = [Double]()
    col.reserveCapacity(nspec)
    for i in 0..<nwave {
        col.removeAll(keepingCapacity: true)
        for f in 0..<nspec where ivar[f * nwave + i] > 0 { col.append(x[f * nwave + i]) }
        if !col.isEmpty { out[i] = Statistics.medianInPlace(&col) } else if !keepWhenEmpty { out[i] = 0 }
    }
}

/// Divides each column by the median over fibers with ivar > 0 (columns with none, or a zero median, untouched).
func normalizeColumns(_ x: inout [Double], _ ivar: [Double], _ nspec: Int, _ nwave: Int) {
    var med = [Double](repeating: 1, count: nwave)
    columnMedians(x, ivar, nspec, nwave, into: &med, keepWhenEmpty: true)
    for f in 0..<nspec { for i in 0..<nwave where med[i] != 0 { x[f * nwave + i] /= med[i] } }
}

/// Divides each column by the median of the flat over fibers with mask == 0 and ivar > 0.
func normalizeFlat(_ flat: inout [Double], _ mask: [UInt32], _ ivar: [Double], _ nspec: Int, _ nwave: Int) {
    var sel = [Double](repeating: 0, count: ivar.count)
    for k in 0..<ivar.count where mask[k] == 0 && ivar[k] > 0 { sel[k] = 1 }
    normalizeColumns(&flat, sel, nspec, nwave)
}
