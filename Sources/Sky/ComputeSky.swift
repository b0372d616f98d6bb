import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Options of the sky fit (defaults of desispec.sky.compute_sky and its script).
public struct SkyOptions: Sendable {
    /// Sigma clipping of outlier pixels of the sky fibers.
    public var nsigClipping = 4.0
    public var maxIterations = 100
    public var minIterations = 5
    /// Raise the model variance where the sky fibers' chi2/ndf exceeds 1 around sky lines (desispec add_variance).
    public var addVariance = true
    /// Degree of the polynomial in focal-plane x, y of the sky spectrum (0: the same sky for all fibers).
    public var angularVariationDegree = 0
    /// Guard against sky fibers whose residuals share a smooth excess or deficit (light from a neighbour,
    /// a bad fiber): the weighted mean residual of each fiber over windows of `broadWindow` Angstrom is
    /// compared with the other sky fibers' (median and NMAD of the normalized means); windows beyond
    /// `broadNsig` are dropped from the fit, and a fiber losing more than a quarter of its windows is dropped.
    /// No such test in desispec 0.70 (so off by default, `--broad-rejection`); on fibers that agree it rejects
    /// nothing. It helps where a few sky fibers carry light of a neighbour or a bad throughput over a broad range.
    public var broadRejection = false
    public var broadWindow = 40.0
    public var broadNsig = 5.0
    /// Per-fiber wavelength and LSF adjustments of the model at the sky lines (desi_proc's --adjust-wavelength
    /// --adjust-lsf).
    public var adjustments = SkyAdjustmentOptions()
    /// Offsets of CCD sectors fitted with the sky (`--fit-offsets`, desispec fit_offsets): the sector templates
    /// of the frame, or nil.
    public var sectorOffsets: SkySectorTemplates?
    public init() {}
}

/// FIBERSTATUS VARIABLETHRU: such fibers are not used as sky fibers.
let variableThroughputBit: UInt32 = 1 << 14

/// Computes the sky model of a flat-fielded frame (desispec.sky.compute_sky / compute_sky_linear without
/// wavelength/LSF adjustments): the deconvolved sky F (one spectrum, or the coefficients of a polynomial in
/// focal-plane x, y) fitted to the SKY fibers by banded least squares with iterative clipping, then
/// Sky_f = R_f F(x_f, y_f) for every fiber, its variance, the extra model variance and throughput corrections.
public func computeSky(frame: Frame, options: SkyOptions = SkyOptions(), log: ((String) -> Void)? = nil) throws -> SkyModel {
    try computeSkyAndAdjustments(frame: frame, options: options, log: log).model
}

/// `computeSky`, with the per-fiber adjustments fitted at the sky lines where `options.adjustments` asks for them
/// (applied to the model before its extra variance is measured, as desispec.sky.compute_sky). `resolution`, for a
/// frame read without its RESOLUTION (`Frame.read(_:skipResolution:)`), gives the spectra's resolution instead
/// (`StoredResolution`: read from the file as each fiber's is needed).
public func computeSkyAndAdjustments(frame: Frame, resolution: (any FiberResolutions)? = nil, options: SkyOptions = SkyOptions(),
                                     log: ((String) -> Void)? = nil) throws -> (model: SkyModel, adjustments: SkyAdjustments?) {
    guard let res: any FiberResolutions = resolution ?? frame.resolution else {
        throw DESIError.invalidArgument("frame has no resolution data: the sky model needs the RESOLUTION of each fiber")
    }
    guard let fibermap = frame.fibermap, fibermap.count == frame.nspec else {
        throw DESIError.invalidArgument("frame has no fibermap with \(frame.nspec) rows: cannot find the sky fibers (OBJTYPE == SKY)")
    }
    let nspec = frame.nspec, nwave = frame.nwave, ndiag = res.ndiag
    guard res.nspec == nspec, res.nwave == nwave else {
        throw DESIError.mismatch("resolution is [\(res.nspec), \(ndiag), \(res.nwave)] for a frame of [\(nspec), \(nwave)]")
    }
    let o = options
    let status = fibermap.fiberStatus
    var skyRows = fibermap.rows(objtype: "SKY").filter { status[$0] & variableThroughputBit == 0 }
    guard !skyRows.isEmpty else { throw DESIError.failed("no sky fibers (OBJTYPE == SKY) in the fibermap") }
    let badBits = skyFiberStatusMask(arm: frame.camera?.arm)
    // ivar of usable pixels: mask == 0 and a good FIBERSTATUS
    func usableIvar(_ f: Int) -> [Double] {
        if status[f] & badBits != 0 { return [Double](repeating: 0, count: nwave) }
        return (0..<nwave).map { frame.mask[f * nwave + $0] == 0 ? Double(frame.ivar[f * nwave + $0]) : 0 }
    }
    var skyIvar = skyRows.map(usableIvar)
    let keep = skyIvar.map { $0.contains { $0 > 0 } }
    if keep.contains(false) {
        log?("\(keep.filter { !$0 }.count) sky fibers discarded (ivar=0 or bad FIBERSTATUS), \(keep.filter { $0 }.count) left")
        skyRows = zip(skyRows, keep).filter { $0.1 }.map { $0.0 }
        skyIvar = zip(skyIvar, keep).filter { $0.1 }.map { $0.0 }
    }
    guard !skyRows.isEmpty else { throw DESIError.failed("no valid sky fibers (all have ivar=0 or a bad FIBERSTATUS)") }
    let nsky = skyRows.count
    let skyFlux = skyRows.map { f in (0..<nwave).map { Double(frame.flux[f * nwave + $0]) } }

    // Terms of the model: 1, or monomials x^a y^b (a + b <= degree) of normalized focal-plane coordinates.
    let terms = focalPlaneTerms(fibermap: fibermap, skyRows: skyRows, degree: o.angularVariationDegree)
    let np = terms.count > 0 ? terms[0].count : 1
    if np > 1 && nsky < np {
        throw DESIError.failed("\(nsky) sky fibers cannot constrain a polynomial of \(np) terms in x, y")
    }

    let sectorTemplates = try checkedSectorTemplates(o.sectorOffsets, nspec: nspec, nwave: nwave, nterms: np)
    var fit = SkyFit(nwave: nwave, nterms: np, sectorTemplates: sectorTemplates?.values.map { t in skyRows.map { t[$0] } })
    var nrej = 0
    var badSkyFibers = Set<Int>()
    let nsig2 = o.nsigClipping * o.nsigClipping
    var models = [[Double]](repeating: [], count: nsky)
    var broadRejected = [[Bool]](repeating: [Bool](repeating: false, count: nwave), count: nsky)
    var converged = false
    for iteration in 0..<o.maxIterations {
        try fit.solve(res: res, skyRows: skyRows, flux: skyFlux, ivar: skyIvar, terms: skyRows.map { terms[$0] })
        for s in 0..<nsky {
            models[s] = fit.model(res: res, fiber: skyRows[s], terms: terms[skyRows[s]])
            if let off = fit.sectorOffset(sky: s) { for i in 0..<nwave { models[s][i] += off[i] } }
        }
        var chi2 = [[Double]](repeating: [Double](repeating: 0, count: nwave), count: nsky)
        var medflux = [Double](repeating: 0, count: nsky)
        for s in 0..<nsky {
            var r = [Double]()
            for i in 0..<nwave {
                let d = skyFlux[s][i] - models[s][i]
                chi2[s][i] = skyIvar[s][i] * d * d
                if skyIvar[s][i] > 0 { r.append(d) }
            }
            if !r.isEmpty { medflux[s] = Statistics.medianInPlace(&r) }
        }
        // whole fibers with an excess (at least 3 valid sky fibers)
        let nonzero = medflux.filter { $0 != 0 }
        if nonzero.count > 2 {
            var a = nonzero.map { abs($0) }
            let rms = 1.48 * Statistics.medianInPlace(&a)
            for s in 0..<nsky where abs(medflux[s]) > 7 * rms {
                log?("discarding sky fiber \(skyRows[s]) with median residual \(medflux[s]) > 7 * \(rms)")
                skyIvar[s] = [Double](repeating: 0, count: nwave)
                badSkyFibers.insert(skyRows[s])
            }
        }
        var nout = 0
        if iteration < 1 {
            // only the worst outlier per wavelength
            for i in 0..<nwave {
                var worst = -1, worstChi2 = -1.0, any = false
                for s in 0..<nsky {
                    if chi2[s][i] > nsig2 { any = true }
                    if chi2[s][i] > worstChi2 { worstChi2 = chi2[s][i]; worst = s }
                }
                if any { skyIvar[worst][i] = 0; nout += 1 }
            }
        } else {
            for s in 0..<nsky { for i in 0..<nwave where chi2[s][i] > nsig2 { skyIvar[s][i] = 0; nout += 1 } }
        }
        if o.broadRejection && nsky >= 5 {
            let (n, dropped) = rejectBroadResiduals(wave: frame.wave, flux: skyFlux, models: models, ivar: &skyIvar,
                                                    window: o.broadWindow, nsig: o.broadNsig, rejected: &broadRejected)
            nout += n
            for s in dropped where !badSkyFibers.contains(skyRows[s]) {
                log?("discarding sky fiber \(skyRows[s]): smooth residuals unlike the other sky fibers")
                badSkyFibers.insert(skyRows[s])
            }
        }
        nrej += nout
        var sumChi2 = 0.0, npos = 0
        for s in 0..<nsky { for c in chi2[s] where c > 0 { sumChi2 += c; npos += 1 } }
        let ndf = npos - nwave * np
        log?("iter #\(iteration) chi2=\(sumChi2) ndf=\(ndf) chi2pdf=\(ndf > 0 ? sumChi2 / Double(ndf) : 0) nout=\(nout)")
        if nout == 0 && iteration >= o.minIterations - 1 { converged = true; break }
    }
    // the last solution used the final weights unless the iterations ran out while still rejecting
    if !converged { try fit.solve(res: res, skyRows: skyRows, flux: skyFlux, ivar: skyIvar, terms: skyRows.map { terms[$0] }) }

    // Model of every fiber, and its statistical variance through the mean resolution (as desispec).
    var meanRes = [Float](repeating: 0, count: ndiag * nwave)
    // (through a pointer: a captured array is checked for uniqueness and bounds at every addition)
    meanRes.withUnsafeMutableBufferPointer { m in
        for f in 0..<nspec { res.withDiagonals(of: f) { r in for k in 0..<(ndiag * nwave) { m[k] += r[k] } } }
    }
    for k in 0..<meanRes.count { meanRes[k] /= Float(nspec) }
    let covariance = fit.covariance()
    var cskyFlux = [Double](repeating: 0, count: nspec * nwave)
    var cskyIvar = [Double](repeating: 0, count: nspec * nwave)
    func convolvedVariance(_ c: [Double]) -> [Double] {
        guard let covariance else { return [Double](repeating: 0, count: nwave) }
        return meanRes.withUnsafeBufferPointer {
            BandedDeconvolution.convolvedVariance(resolution: $0, ndiag: ndiag, nwave: nwave, covariance: covariance, terms: c)
        }
    }
    var uniformVar: [Double]? = np == 1 ? convolvedVariance([1]) : nil
    // sector offsets: their coefficients, their share of the variance of R F, their model on every fiber
    var background: [Double]?
    if let sectorTemplates, let terms = fit.sectors, var v = uniformVar {
        log?("sectors: \(sectorTemplates.sectors.count) sectors fit, values \(terms.coefficients.map { "\($0)" }.joined(separator: " "))")
        let extra = meanRes.withUnsafeBufferPointer { r in fit.sectorVariance { ResolutionData.apply(diagonals: r, ndiag: ndiag, to: $0) } }
        for i in 0..<nwave { v[i] += extra[i] }
        uniformVar = v
        background = sectorTemplates.evaluate(terms.coefficients)
    }
    cskyFlux.withUnsafeMutableBufferPointer { fp in
        cskyIvar.withUnsafeMutableBufferPointer { ip in
            let fb = SharedBuffer(fp), ib = SharedBuffer(ip)
            parallelFor(nspec) { f in
                let m = fit.model(res: res, fiber: f, terms: terms[f])
                let v = uniformVar ?? convolvedVariance(terms[f])
                for i in 0..<nwave {
                    fb[f * nwave + i] = m[i]
                    ib[f * nwave + i] = v[i] > 0 ? 1 / v[i] : 0
                }
            }
        }
    }
    // as desispec, the line adjustments and the extra variance see the frame less the sector offsets
    let lineFlux = background.map { b in (0..<(nspec * nwave)).map { frame.flux[$0] - Float(b[$0]) } } ?? frame.flux
    var adjustments: SkyAdjustments?
    if o.adjustments.enabled {
        adjustments = try adjustSkyModel(csky: &cskyFlux, flux: lineFlux, ivar: frame.ivar, wave: frame.wave, nspec: nspec,
                                         skyRows: skyRows, options: o.adjustments, log: log)
    }
    let statIvar = cskyIvar
    var modelIvar = cskyIvar
    if nsky > 1 && o.addVariance {
        let frameSkyIvar = skyRows.map { f in (0..<nwave).map { Double(frame.ivar[f * nwave + $0]) } }
        let lineSkyFlux = skyRows.map { f in (0..<nwave).map { Double(lineFlux[f * nwave + $0]) } }
        modelIvar = modelVariance(wave: frame.wave, skyFlux: lineSkyFlux, skyIvar: frameSkyIvar, skyRows: skyRows,
                                  cskyFlux: cskyFlux, cskyIvar: cskyIvar, nspec: nspec, log: log)
    }
    if let background { for k in 0..<(nspec * nwave) { cskyFlux[k] += background[k] } }
    // wavelengths no sky fiber constrains, spread by the resolution twice
    var wmask = (0..<nwave).map { fit.constrained(wavelength: $0) ? 0.0 : 1.0 }
    meanRes.withUnsafeBufferPointer { r in
        let rd = ResolutionData(nspec: 1, ndiag: ndiag, nwave: nwave, data: Array(r))
        wmask = rd.apply(spec: 0, to: rd.apply(spec: 0, to: wmask))
    }
    var badWave = wmask.map { $0 != 0 }
    // too few fibers with signal
    let minFibers = min(10, max(1, nsky / 2))
    var lowCount = (0..<nwave).map { i in skyIvar.reduce(0) { $0 + ($1[i] > 0 ? 1 : 0) } < minFibers }
    let grown = lowCount
    for i in 1..<max(1, nwave - 1) { lowCount[i] = grown[i] || grown[i + 1] || grown[i - 1] }
    for i in 0..<nwave where lowCount[i] { badWave[i] = true }
    for f in 0..<nspec { for i in 0..<nwave where badWave[i] { cskyFlux[f * nwave + i] = 0; modelIvar[f * nwave + i] = 0 } }
    var mask = modelIvar.map { $0 == 0 ? UInt32(1) : 0 }
    for f in badSkyFibers { for i in 0..<nwave { mask[f * nwave + i] |= SpecMask.badSky } }
    // pixels of sky fibers left out for smooth residuals unlike the other sky fibers'
    for (s, f) in skyRows.enumerated() { for i in 0..<nwave where broadRejected[s][i] { mask[f * nwave + i] |= SpecMask.badSky } }

    let ids = fibermap.targetIDs
    var model = try SkyModel(wave: frame.wave, flux: cskyFlux, ivar: modelIvar, mask: mask, statIvar: statIvar,
                             throughputCorrectionsModel: [Double](repeating: 1, count: nspec),
                             skyTargetIDs: ids.count == nspec ? skyRows.map { ids[$0] } : nil, nrej: nrej, header: frame.header)
    // what desispec's write_sky records: the PCA coefficients of the adjustments (with a PCA file) and the
    // sky-gradient amplitudes (always present in 0.70, empty without --skygradpca)
    model.dwaveCoefficients = adjustments?.dwaveCoefficients
    model.dlsfCoefficients = adjustments?.dlsfCoefficients
    model.skyGradientCoefficients = []
    model.throughputCorrections = throughputCorrections(frame: frame, sky: model, log: log)
    return (model, adjustments)
}

/// The sector templates of `--fit-offsets` where there are any, checked against the frame and the sky model.
func checkedSectorTemplates(_ t: SkySectorTemplates?, nspec: Int, nwave: Int, nterms: Int) throws -> SkySectorTemplates? {
    guard let t, t.count > 0 else { return nil }
    guard t.nspec == nspec, t.nwave == nwave else {
        throw DESIError.mismatch("sector templates are [\(t.nspec), \(t.nwave)] for a frame of [\(nspec), \(nwave)]")
    }
    guard nterms == 1 else {
        throw DESIError.invalidArgument("sector offsets are fitted with a uniform sky only (angular variation degree 0), as desispec")
    }
    return t
}

/// Per fiber, the values of the model terms: [1] for a uniform sky, else the monomials x^a y^b (a + b <= degree)
/// of FIBER_X, FIBER_Y centred on the sky fibers' mean and scaled by their largest offset.
func focalPlaneTerms(fibermap: Fibermap, skyRows: [Int], degree: Int) -> [[Double]] {
    let n = fibermap.count
    if degree <= 0 { return [[Double]](repeating: [1], count: n) }
    let x = fibermap.fiberX, y = fibermap.fiberY
    let mx = skyRows.map { x[$0] }.reduce(0, +) / Double(skyRows.count)
    let my = skyRows.map { y[$0] }.reduce(0, +) / Double(skyRows.count)
    let sx = max(skyRows.map { abs(x[$0] - mx) }.max() ?? 1, 1e-6)
    let sy = max(skyRows.map { abs(y[$0] - my) }.max() ?? 1, 1e-6)
    return (0..<n).map { f in
        let u = (x[f] - mx) / sx, v = (y[f] - my) / sy
        var t = [Double]()
        for a in 0...degree { for b in 0...(degree - a) { t.append(pow(u, Double(a)) * pow(v, Double(b))) } }
        return t
    }
}

/// Drops windows of sky fibers whose weighted mean residual stands out from the other sky fibers'.
/// Returns the number of pixels newly rejected and the sky fibers (indices among the sky fibers) dropped whole.
func rejectBroadResiduals(wave: [Double], flux: [[Double]], models: [[Double]], ivar: inout [[Double]],
                          window: Double, nsig: Double, rejected: inout [[Bool]]) -> (Int, [Int]) {
    let nsky = flux.count, nwave = wave.count
    let dw = nwave > 1 ? (wave[nwave - 1] - wave[0]) / Double(nwave - 1) : 1
    let width = max(5, Int(window / dw))
    let nwin = max(1, nwave / width)
    var z = [[Double?]](repeating: [Double?](repeating: nil, count: nwin), count: nsky)
    for s in 0..<nsky {
        for b in 0..<nwin {
            let lo = b * width, hi = b == nwin - 1 ? nwave : (b + 1) * width
            var sw = 0.0, sr = 0.0, n = 0
            for i in lo..<hi where ivar[s][i] > 0 { sw += ivar[s][i]; sr += ivar[s][i] * (flux[s][i] - models[s][i]); n += 1 }
            if n * 2 >= hi - lo && sw > 0 { z[s][b] = sr / sw * sw.squareRoot() }
        }
    }
    var nout = 0
    var lost = [Int](repeating: 0, count: nsky)
    var valid = [Int](repeating: 0, count: nsky)
    for b in 0..<nwin {
        let vals = (0..<nsky).compactMap { z[$0][b] }
        if vals.count < 5 { continue }
        let med = Statistics.median(vals)
        let scale = max(1, Statistics.nmad(vals))
        for s in 0..<nsky {
            guard let v = z[s][b] else { continue }
            valid[s] += 1
            if abs(v - med) > nsig * scale {
                let lo = b * width, hi = b == nwin - 1 ? nwave : (b + 1) * width
                for i in lo..<hi where ivar[s][i] > 0 { ivar[s][i] = 0; nout += 1; rejected[s][i] = true }
                lost[s] += 1
            }
        }
    }
    var dropped = [Int]()
    for s in 0..<nsky where valid[s] > 0 && lost[s] * 4 > valid[s] {
        for i in 0..<nwave where ivar[s][i] > 0 { ivar[s][i] = 0; nout += 1; rejected[s][i] = true }
        dropped.append(s)
    }
    return (nout, dropped)
}
