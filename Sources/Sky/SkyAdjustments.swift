import DESICore
import Foundation
import LinearAlgebra

/// Per-fiber adjustments of the sky model at the sky lines (desispec.sky.compute_sky with adjust_wavelength /
/// adjust_lsf): `dwave` [nspec * nwave] (Angstrom) and `dlsf` [nspec * nwave] (Angstrom, in units of the 0.3 A
/// Gaussian broadening whose derivative is fitted), as desispec's SkyCorr keeps them. A positive dwave means the
/// model is moved to sky(lambda + dwave): the fiber sees the lines at shorter wavelengths than the PSF says.
public struct SkyAdjustments: Sendable {
    public var wave: [Double]
    public var nspec: Int
    public var dwave: [Double]
    public var dlsf: [Double]
    /// Coefficients of the PCA fit (mean first, then each eigenvector) where a PCA file was used.
    public var dwaveCoefficients: [Double]?
    public var dlsfCoefficients: [Double]?
    /// Per fiber (all fibers), the number of sky lines whose fit passed the selection (0 for fibers not fitted).
    public var linesUsed: [Int]
}

/// What to adjust and how to carry the sky fibers' adjustments to the other fibers.
public struct SkyAdjustmentOptions: Sendable {
    public var adjustWavelength = false
    public var adjustLSF = false
    /// Fit every fiber (the source absorbed by the constant term of each line fit), not only the sky fibers
    /// (desispec only_use_skyfibers_for_adjustments=False).
    public var withMoreFibers = false
    /// Carry the adjustments to all fibers by fitting this PCA basis to the sky fibers' (desispec pcacorr).
    public var pca: SkyCorrPCA?
    public var enabled: Bool { adjustWavelength || adjustLSF }
    public init() {}
}

/// Width (Angstrom) of the Gaussian whose convolution defines the LSF derivative (desispec: dsigma_A = 0.3).
let lsfDerivativeSigma = 0.3

/// d(sky)/d(lambda) of each fiber's model, as numpy.gradient(csky, axis=1) / numpy.gradient(wave): central
/// differences inside, one-sided at the two ends.
func wavelengthDerivative(_ csky: [Double], wave: [Double], nspec: Int) -> [Double] {
    let nwave = wave.count
    var out = [Double](repeating: 0, count: csky.count)
    guard nwave > 1 else { return out }
    for f in 0..<nspec {
        let o = f * nwave
        out[o] = (csky[o + 1] - csky[o]) / (wave[1] - wave[0])
        out[o + nwave - 1] = (csky[o + nwave - 1] - csky[o + nwave - 2]) / (wave[nwave - 1] - wave[nwave - 2])
        if nwave > 2 {
            for i in 1..<(nwave - 1) { out[o + i] = (csky[o + i + 1] - csky[o + i - 1]) / (wave[i + 1] - wave[i - 1]) }
        }
    }
    return out
}

/// The Gaussian kernel of `lsfDerivative` on a grid of `step` Angstrom: normalized weights over +-hw pixels.
func lsfDerivativeKernel(step: Double) -> [Double] {
    let sigmaBins = lsfDerivativeSigma / step
    let hw = Int(4 * sigmaBins) + 1
    let k = (-hw...hw).map { exp(-Double($0 * $0) / (sigmaBins * sigmaBins) / 2) }
    let norm = k.reduce(0, +)
    return k.map { $0 / norm }
}

/// The variance (Angstrom^2) that one unit of the LSF adjustment adds to a line: the sampled kernel's variance
/// divided by 0.3 A. On DESI's 0.8 A grid the 0.3 A Gaussian is narrower than a pixel, and its sampled variance
/// (0.035 A^2) is well below 0.3^2: a fiber whose LSF variance is larger by e A^2 gets dlsf = e / this value.
public func lsfAdjustmentVariancePerUnit(step: Double) -> Double {
    let k = lsfDerivativeKernel(step: step)
    let hw = k.count / 2
    return (0..<k.count).reduce(0.0) { $0 + k[$1] * pow(Double($1 - hw) * step, 2) } / lsfDerivativeSigma
}

/// Change of each fiber's model with the LSF width: (csky * G - csky) / 0.3 A, G a normalized Gaussian of 0.3 A
/// (in pixels of the mean step) over +-(int(4 sigma) + 1) pixels, zero beyond the ends (scipy fftconvolve "same").
func lsfDerivative(_ csky: [Double], wave: [Double], nspec: Int) -> [Double] {
    let nwave = wave.count
    let step = nwave > 1 ? (wave[nwave - 1] - wave[0]) / Double(nwave - 1) : 1
    let kernel = lsfDerivativeKernel(step: step)
    let hw = kernel.count / 2
    var out = [Double](repeating: 0, count: csky.count)
    for f in 0..<nspec {
        let o = f * nwave
        for i in 0..<nwave {
            var s = 0.0
            for k in -hw...hw where i - k >= 0 && i - k < nwave { s += kernel[k + hw] * csky[o + i - k] }
            out[o + i] = (s - csky[o + i]) / lsfDerivativeSigma
        }
    }
    return out
}

/// The sky lines used for the adjustments: local maxima of the fibers' mean model above 10% of its largest value,
/// more than 10 pixels from either end (desispec compute_sky).
func adjustmentPeaks(_ csky: [Double], nspec: Int, nwave: Int) -> [Int] {
    var mean = [Double](repeating: 0, count: nwave)
    for f in 0..<nspec { for i in 0..<nwave { mean[i] += csky[f * nwave + i] } }
    for i in 0..<nwave { mean[i] /= Double(nspec) }
    let top = mean.max() ?? 0
    guard nwave > 2 else { return [] }
    return (1..<(nwave - 1)).filter { i in
        mean[i] > mean[i + 1] && mean[i] > mean[i - 1] && mean[i] > 0.1 * top && i > 10 && i < nwave - 10
    }
}

/// Fits, per fiber and sky line, flux ~ a + s csky + dw dsky/dlambda + dl dsky/dlsf over +-(int(3 // step) + 1)
/// pixels (desispec compute_sky), keeps the lines with chi2/ndf < 2 (model error 5% of the sky added) and small
/// errors (dw < 0.1 A, dl < 0.3 A), interpolates each fiber's values linearly in wavelength between its lines,
/// then carries them to the other fibers (linearly in fiber index, or through the PCA basis) and adds
/// dw dsky/dlambda + dl dsky/dlsf to every fiber's model `csky` [nspec * nwave].
/// `flux`, `ivar`: the flat-fielded frame (ivar as read, not masked: desispec uses frame.ivar here).
func adjustSkyModel(csky: inout [Double], flux: [Float], ivar: [Float], wave: [Double], nspec: Int, skyRows: [Int],
                    options o: SkyAdjustmentOptions, log: ((String) -> Void)?) throws -> SkyAdjustments {
    let nwave = wave.count
    let dskydw = o.adjustWavelength ? wavelengthDerivative(csky, wave: wave, nspec: nspec) : nil
    let dskydl = o.adjustLSF ? lsfDerivative(csky, wave: wave, nspec: nspec) : nil
    let peaks = adjustmentPeaks(csky, nspec: nspec, nwave: nwave)
    log?("adjustments: \(peaks.count) sky lines")
    let step = nwave > 1 ? (wave[nwave - 1] - wave[0]) / Double(nwave - 1) : 1
    let dpix = Int((3 / step).rounded(.down)) + 1
    let nparam = 2 + (o.adjustWavelength ? 1 : 0) + (o.adjustLSF ? 1 : 0)
    var fibers = o.withMoreFibers ? Array(0..<nspec) : skyRows
    fibers = fibers.filter { f in (0..<nwave).reduce(0.0) { $0 + Double(ivar[f * nwave + $1]) } > 0 }
    let nfit = fibers.count, npeak = peaks.count
    // per fitted fiber and line: values, errors and chi2/ndf
    var dw = [Double](repeating: 0, count: nfit * npeak), dwErr = dw, dl = dw, dlErr = dw, chi2 = dw
    for (j, peak) in peaks.enumerated() {
        let b = peak - dpix, e = peak + dpix + 1
        if b < 0 || e > nwave { log?("skip sky line on the edge at pixel \(peak)"); continue }
        let npix = e - b
        var solutions = [[Double]](), inverses = [[Double]]()
        var singular = false
        for f in fibers {
            var m = [[Double]](repeating: [Double](repeating: 1, count: npix), count: nparam)
            for k in 0..<npix {
                let i = f * nwave + b + k
                var p = 1
                m[p][k] = csky[i]; p += 1
                if let d = dskydw { m[p][k] = d[i]; p += 1 }
                if let d = dskydl { m[p][k] = d[i] }
            }
            var aa = [Double](repeating: 0, count: nparam * nparam), bb = [Double](repeating: 0, count: nparam)
            for k in 0..<npix {
                let w = Double(ivar[f * nwave + b + k]), y = Double(flux[f * nwave + b + k])
                for p in 0..<nparam {
                    bb[p] += m[p][k] * w * y
                    for q in 0..<nparam { aa[p * nparam + q] += m[p][k] * w * m[q][k] }
                }
            }
            // numpy inverts all fibers' matrices at once: one singular matrix skips the line for every fiber
            guard let inv = invertSmall(aa, n: nparam) else { singular = true; break }
            inverses.append(inv)
            solutions.append((0..<nparam).map { p in (0..<nparam).reduce(0.0) { $0 + inv[p * nparam + $1] * bb[$1] } })
            var c = 0.0
            for k in 0..<npix {
                let w = Double(ivar[f * nwave + b + k])
                var r = Double(flux[f * nwave + b + k])
                for p in 0..<nparam { r -= solutions.last![p] * m[p][k] }
                let variance = 1 / (w == 0 ? 1 : w) + pow(0.05 * m[1][k], 2)
                if w > 0 { c += r * r / variance }
            }
            chi2[(inverses.count - 1) * npeak + j] = c / Double(npix - nparam)
        }
        if singular {
            log?("sky line at pixel \(peak): singular fit, skipped")
            for s in 0..<nfit { chi2[s * npeak + j] = 0 }
            continue
        }
        for s in 0..<nfit {
            let inv = inverses[s], x = solutions[s]
            func err(_ p: Int) -> Double { max(inv[p * nparam + p], 0).squareRoot() }
            var p = 2
            if o.adjustWavelength { dw[s * npeak + j] = x[p]; dwErr[s * npeak + j] = err(p); p += 1 }
            if o.adjustLSF { dl[s * npeak + j] = x[p]; dlErr[s * npeak + j] = err(p) }
        }
    }
    // per fitted fiber: select its good lines and interpolate between them
    var dwave = [Double](repeating: 0, count: nspec * nwave), dlsf = dwave
    var linesUsed = [Int](repeating: 0, count: nspec)
    let peakWave = peaks.map { wave[$0] }
    for (s, f) in fibers.enumerated() {
        let ok = (0..<npeak).filter { j in
            let k = s * npeak + j
            return chi2[k] < 2 && (!o.adjustWavelength || (dwErr[k] > 0 && dwErr[k] < 0.1))
                && (!o.adjustLSF || (dlErr[k] > 0 && dlErr[k] < 0.3))
        }
        linesUsed[f] = ok.count
        if s == 0 { log?("fiber \(f) ok \(ok.count) of \(npeak)") }
        guard !ok.isEmpty else { continue }
        let xp = ok.map { peakWave[$0] }
        if o.adjustWavelength {
            let v = Interpolation.linear(x: xp, y: ok.map { dw[s * npeak + $0] }, at: wave)
            for i in 0..<nwave { dwave[f * nwave + i] = v[i] }
        }
        if o.adjustLSF {
            let v = Interpolation.linear(x: xp, y: ok.map { dl[s * npeak + $0] }, at: wave)
            for i in 0..<nwave { dlsf[f * nwave + i] = v[i] }
        }
    }
    // (the arrays are moved, not shared: the interpolation below then changes them in place instead of copying them)
    var result = SkyAdjustments(wave: wave, nspec: nspec, dwave: consume dwave, dlsf: consume dlsf, linesUsed: linesUsed)
    if let pca = o.pca {
        try pca.check(nspec: nspec, nwave: nwave)
        if let d = dskydw {
            let (corr, coef) = try pca.fit(result.dwave, sky: skyRows, mean: pca.dwaveMean, components: pca.dwaveEigenvectors)
            result.dwaveCoefficients = coef
            log?("PCA coefficients of the wavelength adjustment: \(coef)")
            for k in 0..<csky.count { csky[k] += corr[k] * d[k] }
        }
        if let d = dskydl {
            let (corr, coef) = try pca.fit(result.dlsf, sky: skyRows, mean: pca.dlsfMean, components: pca.dlsfEigenvectors)
            result.dlsfCoefficients = coef
            log?("PCA coefficients of the LSF adjustment: \(coef)")
            for k in 0..<csky.count { csky[k] += corr[k] * d[k] }
        }
        return result
    }
    // no PCA: linear interpolation in fiber index between the good fibers, at each wavelength
    var good = fibers
    if o.withMoreFibers {
        // all fibers but bright objects (desispec's selection: median flux below median + 2 NMAD of the fibers')
        let med = (0..<nspec).map { f in Statistics.median((0..<nwave).map { Double(flux[f * nwave + $0]) }) }
        let mm = Statistics.median(med)
        let rms = 1.48 * Statistics.median(med.map { abs($0 - mm) })
        good = (0..<nspec).filter { med[$0] < mm + 2 * rms }
    }
    guard !good.isEmpty else { return result }
    let all = (0..<nspec).map(Double.init), xg = good.map(Double.init)
    for (on, deriv) in [(true, dskydw), (false, dskydl)] {
        guard let d = deriv else { continue }
        var values = [Double]()
        if on { swap(&values, &result.dwave) } else { swap(&values, &result.dlsf) }
        for i in 0..<nwave {
            let v = Interpolation.linear(x: xg, y: good.map { values[$0 * nwave + i] }, at: all)
            for f in 0..<nspec { values[f * nwave + i] = v[f] }
        }
        for k in 0..<csky.count { csky[k] += values[k] * d[k] }
        if on { result.dwave = values } else { result.dlsf = values }
    }
    return result
}

/// Inverse of a small dense n x n matrix (the 3 x 3 or 4 x 4 normal matrix of one fiber at one sky line, some
/// 10^4 of them per frame) by Gauss-Jordan elimination with partial pivoting; nil when a pivot is exactly zero, where
/// numpy.linalg.inv, which desispec calls, raises LinAlgError (a Cholesky factorization would also refuse matrices
/// that are only semi-definite by rounding).
func invertSmall(_ a: [Double], n: Int) -> [Double]? {
    var m = a
    var inv = [Double](repeating: 0, count: n * n)
    for i in 0..<n { inv[i * n + i] = 1 }
    for c in 0..<n {
        var piv = c
        for r in (c + 1)..<max(c + 1, n) where abs(m[r * n + c]) > abs(m[piv * n + c]) { piv = r }
        if m[piv * n + c] == 0 { return nil }
        if piv != c {
            for k in 0..<n { m.swapAt(c * n + k, piv * n + k); inv.swapAt(c * n + k, piv * n + k) }
        }
        let d = m[c * n + c]
        for k in 0..<n { m[c * n + k] /= d; inv[c * n + k] /= d }
        for r in 0..<n where r != c {
            let factor = m[r * n + c]
            if factor == 0 { continue }
            for k in 0..<n { m[r * n + k] -= factor * m[c * n + k]; inv[r * n + k] -= factor * inv[c * n + k] }
        }
    }
    return inv
}
