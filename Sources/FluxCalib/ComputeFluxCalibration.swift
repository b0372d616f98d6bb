import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Computes the flux calibration of a frame from standard-star models
/// (desispec.fluxcalibration.compute_flux_calibration).
///
/// The frame flux of a star is modelled as scale_star * R_star (C * model_star); C, the deconvolved mean
/// calibration, is solved by weighted least squares (banded normal equations, a weak prior towards the median
/// ratio), per-star scales and outlier rejection iterate. The per-fiber calibration returned is
/// (R_fiber C) / (R_fiber 1) / FLAT_TO_PSF_FLUX. The star spectra are first multiplied by FLAT_TO_PSF_FLUX (the
/// point-source fiber-acceptance correction, `FiberFluxCorrection.flatToPSF` at `options.seeingFWHM`; fibers where it
/// is 0 get ivar 0 and a correction of 1); FLAT_TO_PSF_FLUX and PSF_TO_FIBER_FLUX are written in FIBERCORR. Without
/// FIBER_X/FIBER_Y in the fibermap both are 1 and `warn` says so (desispec.fiberfluxcorr).
///
/// - Parameters:
///   - frame: the sframe (flat-fielded, sky-subtracted, electrons/A) with resolution and fibermap.
///   - resolution: the spectra's resolution for a frame read without it (`StoredResolution`: read from the file as
///     each fiber's is needed); nil: the frame's.
///   - modelWave, modelFlux: the stdstars models [nstar, nmodelwave] in 1e-17 erg/s/cm2/A.
///   - modelFibers: the fibers of the models.
///   - standardFibers: when given (stdcheck), only models of these fibers are used.
///   - fallback: the camera's average throughput, used (scaled to the stars) when fewer than `options.minStars`
///     stars are usable or their median S/N per flux bin is below 2; without it these cases are an error.
public func computeFluxCalibration(frame: Frame, resolution: (any FiberResolutions)? = nil,
                                   modelWave: [Double], modelFlux: [Double], modelFibers: [Int],
                                   standardFibers: [Int]? = nil,
                                   options: FluxCalibOptions = FluxCalibOptions(),
                                   fallback: AverageFluxCalibration? = nil,
                                   warn: (String) -> Void = { _ in }) throws -> FluxCalibration {
    let cam = frame.camera?.name ?? "cam?"
    guard let res0: any FiberResolutions = resolution ?? frame.resolution else {
        throw DESIError.invalidArgument("fluxcalib \(cam): the frame has no resolution matrices")
    }
    guard options.seeingFWHM > 0 else {
        throw DESIError.invalidArgument("fluxcalib \(cam): seeing FWHM \(options.seeingFWHM) must be positive")
    }
    let nmw = modelWave.count
    guard nmw > 1, modelFlux.count == nmw * modelFibers.count else {
        throw DESIError.invalidArgument("fluxcalib \(cam): model flux has \(modelFlux.count) values for "
                                        + "\(modelFibers.count) fibers x \(nmw) wavelengths")
    }
    var fibersUsed = modelFibers
    if let s = standardFibers {
        let set = Set(s)
        fibersUsed = modelFibers.filter { set.contains($0) }
    }
    fibersUsed = Array(Set(fibersUsed)).sorted()
    guard !fibersUsed.isEmpty else { throw DESIError.failed("fluxcalib \(cam): no standard star among the model fibers \(modelFibers)") }
    let rows = frameRows(of: fibersUsed, in: frame)
    guard rows.count == fibersUsed.count else {
        throw DESIError.mismatch("fluxcalib \(cam): model fibers \(fibersUsed) are not all in the frame")
    }

    // frame with a margin of 3 pixels on each side (edge values repeated)
    let margin = 3
    let nw0 = frame.nwave, nspec = frame.nspec
    let nwave = nw0 + 2 * margin
    let dw = frame.wave[1] - frame.wave[0]
    var wave = [Double](repeating: 0, count: nwave)
    for j in 0..<nwave {
        if j < margin { wave[j] = frame.wave[0] + dw * Double(j - margin) }
        else if j >= nw0 + margin { wave[j] = frame.wave[nw0 - 1] + dw * Double(j - nw0 - margin + 1) }
        else { wave[j] = frame.wave[j - margin] }
    }
    @inline(__always) func src(_ j: Int) -> Int { min(max(j - margin, 0), nw0 - 1) }
    let ndiag = res0.ndiag, h = ndiag / 2
    // resolution with margin, as Double [nspec][ndiag * nwave]
    func paddedResolution(_ s: Int) -> [Double] {
        var r = [Double](repeating: 0, count: ndiag * nwave)
        res0.withDiagonals(of: s) { rs in
            for d in 0..<ndiag { for j in 0..<nwave { r[d * nwave + j] = Double(rs[d * nw0 + src(j)]) } }
        }
        return r
    }
    func applyR(_ r: [Double], _ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: nwave)
        for d in 0..<ndiag {
            let k = h - d
            for j in max(0, k)..<min(nwave, nwave + k) { y[j - k] += r[d * nwave + j] * x[j] }
        }
        return y
    }
    /// R[i, j] for |i - j| <= h.
    @inline(__always) func relem(_ r: [Double], _ i: Int, _ j: Int) -> Double {
        let k = j - i
        return r[(h - k) * nwave + j]
    }

    // point-source correction of the flat-fielded flux (desispec: tframe.flux *= point_source_correction)
    var pointSource = [Double](repeating: 1, count: nspec)
    var badPointSource = [Bool](repeating: false, count: nspec)
    if let fm = frame.fibermap, fm.count == nspec {
        pointSource = FiberFluxCorrection.flatToPSF(fm, seeingFWHM: options.seeingFWHM) { warn("fluxcalib \(cam): \($0)") }
        for s in 0..<nspec where pointSource[s] == 0 { badPointSource[s] = true; pointSource[s] = 1 }
    } else {
        warn("fluxcalib \(cam): no fibermap: fiber-acceptance corrections are 1")
    }
    let psfToFiber: [Double]
    if let fm = frame.fibermap, fm.count == nspec {
        psfToFiber = FiberFluxCorrection.psfToFiber(fm, seeingFWHM: options.seeingFWHM) { _ in }
    } else {
        psfToFiber = [Double](repeating: 1, count: nspec)
    }
    let nstds = rows.count
    var flux = [[Double]](), ivar0 = [[Double]](), mask0 = [[UInt32]](), R = [[Double]]()
    for s in rows {
        let psc = pointSource[s]
        flux.append((0..<nwave).map { Double(frame.flux[s * nw0 + src($0)]) * psc })
        ivar0.append((0..<nwave).map { badPointSource[s] ? 0 : Double(frame.ivar[s * nw0 + src($0)]) })
        mask0.append((0..<nwave).map { frame.mask[s * nw0 + src($0)] })
        R.append(paddedResolution(s))
    }
    // models resampled and convolved
    var model = [[Double]](), convolved = [[Double]]()
    for (k, f) in fibersUsed.enumerated() {
        _ = k
        let mi = modelFibers.firstIndex(of: f)!
        let m = Interpolation.resampleFlux(xout: wave, x: modelWave, flux: Array(modelFlux[(mi * nmw)..<((mi + 1) * nmw)]))
        model.append(m)
        convolved.append(applyR(R[model.count - 1], m))
    }
    // S/N check
    var snrs: [Double] = []
    for s in 0..<nstds {
        for j in 0..<nwave where ivar0[s][j] > 0 && mask0[s][j] == 0 { snrs.append(flux[s][j] * ivar0[s][j].squareRoot()) }
    }
    let medianSNR = snrs.isEmpty ? 0 : Statistics.median(snrs)
    let usable = (0..<nstds).filter { s in (0..<nwave).contains { ivar0[s][$0] > 0 && mask0[s][$0] == 0 } }.count
    let fiberCorrection = FITSTable(columns: [
        FITSColumn("FLAT_TO_PSF_FLUX", .double(pointSource)),
        FITSColumn("PSF_TO_FIBER_FLUX", .double(psfToFiber)),
    ])
    if medianSNR < 2 || usable < options.minStars {
        let reason = usable < options.minStars ? "\(usable) usable standard(s) < \(options.minStars)"
            : String(format: "median star S/N per bin %.2f < 2", medianSNR)
        guard let average = fallback else {
            throw DESIError.failed("fluxcalib \(cam): \(reason); give the camera's average calibration "
                                   + "(--average-fluxcalib) to fall back on")
        }
        // desispec divides the corrected star flux by the correction again here: the scale uses the flat-fielded flux
        let rawFlux = (0..<nstds).map { k in flux[k].map { $0 / pointSource[rows[k]] } }
        return try fallbackCalibration(frame: frame, waveWithMargin: wave, margin: margin, starFlux: rawFlux, starIvar: ivar0,
                                       convolvedModels: convolved, average: average, reason: reason, seeing: options.seeingFWHM,
                                       fiberCorrection: fiberCorrection)
    }
    var ivar = (0..<nstds).map { s in (0..<nwave).map { mask0[s][$0] == 0 ? ivar0[s][$0] : 0 } }
    // first pass: median ratio
    var medianCalib = [Double](repeating: 0, count: nwave)
    for j in 0..<nwave {
        medianCalib[j] = Statistics.median((0..<nstds).map { convolved[$0][j] != 0 ? flux[$0][j] / convolved[$0][j] : 0 })
    }
    var scale = [Double](repeating: 1, count: nstds)
    var badFiber = [Bool](repeating: false, count: nstds)
    var chi2 = [[Double]](repeating: [Double](repeating: 0, count: nwave), count: nstds)
    for s in 0..<nstds {
        if ivar[s].reduce(0, +) == 0 { badFiber[s] = true; continue }
        let M = zip(medianCalib, convolved[s]).map(*)
        var a = 0.0, b = 0.0
        for j in 0..<nwave { a += ivar[s][j] * M[j] * M[j]; b += ivar[s][j] * flux[s][j] * M[j] }
        scale[s] = a > 0 ? b / a : 0
        if scale[s] < 0.2 { badFiber[s] = true; ivar[s] = [Double](repeating: 0, count: nwave); continue }
        for j in 0..<nwave {
            let iv = ivar[s][j]
            ivar[s][j] = iv > 0 ? 1 / (1 / iv + pow(0.2 * flux[s][j], 2)) : 0
            chi2[s][j] = ivar[s][j] * pow(flux[s][j] - scale[s] * M[j], 2)
        }
    }
    func harmonicMeanScale(_ sel: [Int]) -> Double {
        let g = sel.filter { !badFiber[$0] }
        guard !g.isEmpty else { return 1 }
        return 1 / (g.map { 1 / scale[$0] }.reduce(0, +) / Double(g.count))
    }
    var mscale = harmonicMeanScale(Array(0..<nstds))
    for s in 0..<nstds { scale[s] /= mscale }
    for j in 0..<nwave { medianCalib[j] *= mscale }
    let nsig2 = options.nsigClipping * options.nsigClipping
    for s in 0..<nstds { for j in 0..<nwave where chi2[s][j] > nsig2 { ivar[s][j] = 0 } }

    // normal equations: chi2 = sum_star |sqrtw (flux - scale R diag(model) C)|^2, banded with kd = 2h
    func normalEquations(_ iv: [[Double]], withB: Bool) -> (SymmetricBandMatrix, [Double]) {
        var A = SymmetricBandMatrix(n: nwave, kd: 2 * h)
        var B = [Double](repeating: 0, count: nwave)
        var rowv = [Double](repeating: 0, count: ndiag)
        // A[a, b] (b <= a) is band[SymmetricBandMatrix.bandIndex(row: a, column: b)]; the buffers are taken once, so
        // that the innermost loop does no copy-on-write check nor bounds check (same sums in the same order)
        A.band.withUnsafeMutableBufferPointer { band in B.withUnsafeMutableBufferPointer { bp in
            rowv.withUnsafeMutableBufferPointer { rv in
                for s in 0..<nstds where !badFiber[s] {
                    let ivs = iv[s], rs = R[s], ms = model[s], fs = flux[s], sc = scale[s]
                    for i in 0..<nwave {
                        let w = ivs[i]
                        if w <= 0 { continue }
                        let sqw = w.squareRoot(), sw = sqw * sc
                        let jlo = max(0, i - h), jhi = min(nwave - 1, i + h)
                        for j in jlo...jhi { rv[j - jlo] = sw * relem(rs, i, j) * ms[j] }
                        for a in jlo...jhi {
                            let va = rv[a - jlo]
                            if va == 0 { continue }
                            for b in jlo...a {
                                band[SymmetricBandMatrix.bandIndex(row: a, column: b, n: nwave)] += va * rv[b - jlo]
                            }
                            if withB { bp[a] += va * sqw * fs[i] }
                        }
                    }
                }
            }
        } }
        return (A, B)
    }
    var calibration = medianCalib
    var lastA = SymmetricBandMatrix(n: nwave, kd: 2 * h)
    for iteration in 0..<options.maxIterations {
        var (A, B) = normalEquations(ivar, withB: true)
        let positive = ivar.flatMap { $0 }.filter { $0 > 0 }
        guard let minivar = positive.min() else { throw DESIError.failed("fluxcalib \(cam): null ivar, cannot calibrate this frame") }
        let eps = minivar / 10000
        for j in 0..<nwave { A.add(j, j, eps); B[j] += medianCalib[j] * eps }
        calibration = try A.cholesky().solve(B)
        lastA = A
        // scale per star
        for s in 0..<nstds where !badFiber[s] {
            let M = applyR(R[s], zip(calibration, model[s]).map(*))
            var a = 0.0, b = 0.0
            for j in 0..<nwave { a += ivar[s][j] * M[j] * M[j]; b += ivar[s][j] * flux[s][j] * M[j] }
            scale[s] = a > 0 ? b / a : 0
            if scale[s] < 0.2 { badFiber[s] = true; ivar[s] = [Double](repeating: 0, count: nwave); continue }
            for j in 0..<nwave { chi2[s][j] = ivar[s][j] * pow(flux[s][j] - scale[s] * M[j], 2) }
        }
        // rejection: first iteration only the worst star per wavelength, then all
        var nout = 0
        if iteration < 1 {
            for j in 0..<nwave {
                var worst = -1, wv = nsig2
                for s in 0..<nstds where chi2[s][j] > nsig2 { if chi2[s][j] > wv || worst < 0 { wv = chi2[s][j]; worst = s } }
                if worst >= 0 { ivar[worst][j] = 0; nout += 1 }
            }
        } else {
            for s in 0..<nstds { for j in 0..<nwave where chi2[s][j] > nsig2 { ivar[s][j] = 0; nout += 1 } }
        }
        mscale = harmonicMeanScale(Array(0..<nstds))
        if options.highestThroughputStars > 0 {
            let best = (0..<nstds).sorted { scale[$0] > scale[$1] }.prefix(options.highestThroughputStars)
            mscale = harmonicMeanScale(Array(best))
        } else {
            let good = (0..<nstds).filter { !badFiber[$0] }
            let med = Statistics.median(good.map { scale[$0] })
            let rms = 1.4 * Statistics.median(good.map { abs(scale[$0] - med) })
            if options.nsigFluxScale > 0 {
                let bad = (0..<nstds).map { abs(scale[$0] - med) > options.nsigFluxScale * rms }
                if bad.contains(true) {
                    mscale = harmonicMeanScale((0..<nstds).filter { !bad[$0] })
                    let newly = (0..<nstds).filter { bad[$0] && !badFiber[$0] && abs(scale[$0] - 1) > 0.05 }
                    if let worst = newly.max(by: { abs(scale[$0] - 1) < abs(scale[$1] - 1) }) { badFiber[worst] = true }
                }
            }
        }
        for s in 0..<nstds { scale[s] /= mscale }
        for j in 0..<nwave { calibration[j] *= mscale }
        if nout == 0 && abs(mscale - 1) < 1e-4 { break }
    }
    // variance of the deconvolved calibration from the original ivar of the kept pixels. As desispec does, the
    // new normal matrix is added to the last iteration's one (including its prior) before the prior is added again.
    let finalIvar = (0..<nstds).map { s in (0..<nwave).map { ivar[s][$0] > 0 ? ivar0[s][$0] * (mask0[s][$0] == 0 ? 1 : 0) : 0 } }
    var (Af, _) = normalEquations(finalIvar, withB: false)
    let positive = finalIvar.flatMap { $0 }.filter { $0 > 0 }
    let epsF = (positive.min() ?? 0) / 10000
    for d in 0...(2 * h) { for c in 0..<(nwave - d) { Af.band[d * nwave + c] += lastA.band[d * nwave + c] } }
    for j in 0..<nwave { Af.add(j, j, epsF) }
    let cov = try Af.cholesky().inverseBand(width: 2 * h)
    @inline(__always) func covElem(_ i: Int, _ j: Int) -> Double { cov.element(i, j) }
    // mean resolution of all fibers
    var meanR = [Double](repeating: 0, count: ndiag * nwave)
    meanR.withUnsafeMutableBufferPointer { mr in
        for s in 0..<nspec {
            res0.withDiagonals(of: s) { rs in
                // row d of fiber s added at src(j): the edge values over the margins, a shifted copy inside (plain
                // loops over pointers, which vectorise; the same sums in the same order)
                for d in 0..<ndiag {
                    let out = mr.baseAddress! + d * nwave, row = rs.baseAddress! + d * nw0
                    for j in 0..<margin { out[j] += Double(row[src(j)]) }
                    for j in 0..<nw0 { out[margin + j] += Double(row[j]) }
                    for j in (margin + nw0)..<nwave { out[j] += Double(row[src(j)]) }
                }
            }
        }
    }
    for i in 0..<meanR.count { meanR[i] /= Double(nspec) }
    // convolved calibration per fiber
    var ccal = [[Double]](repeating: [Double](repeating: 0, count: nwave), count: nspec)
    var norm = [Double](repeating: 0, count: nwave), rc = norm
    calibration.withUnsafeBufferPointer { x in
        norm.withUnsafeMutableBufferPointer { n in
            rc.withUnsafeMutableBufferPointer { p in
                for s in 0..<nspec {
                    // applyR(paddedResolution(s), ones) and applyR(paddedResolution(s), calibration), bit-identical
                    res0.withDiagonals(of: s) { rs in
                        marginResolutionProducts(rs, ndiag: ndiag, nw0: nw0, margin: margin, x: x, ones: n, product: p)
                    }
                    for j in 0..<nwave where n[j] > 0 { ccal[s][j] = p[j] / n[j] }
                }
            }
        }
    }
    // variance of the mean convolved calibration: diag(Rmean Cov Rmean^T)
    var cvar = [Double](repeating: 0, count: nwave)
    for i in 0..<nwave {
        let lo = max(0, i - h), hi = min(nwave - 1, i + h)
        var v = 0.0
        for a in lo...hi {
            let ra = relem(meanR, i, a); if ra == 0 { continue }
            for b in lo...hi { v += ra * covElem(a, b) * relem(meanR, i, b) }
        }
        cvar[i] = v
    }
    var civar = cvar.map { $0 > 0 ? 1 / $0 : 0 }
    // at least a few stars at each wavelength
    let minStars = min(3, max(1, nstds / 2))
    var bad = (0..<nwave).map { j in (0..<nstds).filter { ivar[$0][j] > 0 }.count < minStars }
    let b0 = bad
    for j in 1..<(nwave - 1) { bad[j] = b0[j] || b0[j + 1] || b0[j - 1] }
    for j in 0..<nwave where bad[j] { civar[j] = 0; for s in 0..<nspec { ccal[s][j] = 0 } }
    var meanCal = applyR(meanR, calibration)
    // interpolate over interstellar Ca and Na lines
    let ism = [3934.77, 3969.59, 5891.58, 5897.56]
    let goodW = (0..<nwave).filter { j in ism.allSatisfy { abs(wave[j] - $0) > 6 } }
    if goodW.count < nwave && !goodW.isEmpty {
        let badW = (0..<nwave).filter { j in !ism.allSatisfy { abs(wave[j] - $0) > 6 } }
        let gx = goodW.map { wave[$0] }, bx = badW.map { wave[$0] }
        let mi = Interpolation.linear(x: gx, y: goodW.map { meanCal[$0] }, at: bx)
        for (k, j) in badW.enumerated() { meanCal[j] = mi[k] }
        for s in 0..<nspec {
            let v = Interpolation.linear(x: gx, y: goodW.map { ccal[s][$0] }, at: bx)
            for (k, j) in badW.enumerated() { ccal[s][j] = v[k] }
        }
    }
    // trim the margin
    var outCal = [Float](), outIvar = [Float](), outMask = [UInt32]()
    outCal.reserveCapacity(nspec * nw0)
    for s in 0..<nspec {
        let psc = pointSource[s]  // desispec: ccalibration /= psc, ccalibivar *= psc^2
        for j in margin..<(margin + nw0) {
            outCal.append(Float(ccal[s][j] / psc)); outIvar.append(Float(civar[j] * psc * psc))
            outMask.append(frame.mask[s * nw0 + j - margin])
        }
    }
    let usedRows = (0..<nstds).filter { !badFiber[$0] }.map { rows[$0] }
    var header = frame.header
    header.set(fluxCalibFallbackKey, false, comment: "calibration fitted on the standard stars")
    header.set(fluxCalibSeeingKey, options.seeingFWHM, comment: "seeing FWHM of the fiber acceptance [arcsec]")
    return FluxCalibration(wave: frame.wave, calib: outCal, ivar: outIvar, mask: outMask,
                     meanCalib: Array(meanCal[margin..<(margin + nw0)]), fiberCorr: fiberCorrection,
                     stdstarFibermap: frame.fibermap?.selecting(rows: usedRows), header: header)
}
