import DESICore
import Foundation
import LinearAlgebra

/// Options of the arc PSF fit.
public struct PSFFitOptions: Sendable {
    /// Legendre degree in wavelength of each fiber's x and y trace corrections (lowered when a fiber has few lines).
    public var traceDegree = 1
    /// Legendre degree in wavelength of each fiber's GHSIGX and GHSIGY correction factors.
    public var sigmaDegree = 1
    /// Legendre degree across the fibers of a bundle of the smooth part of the trace corrections (fitted per
    /// bundle, to which each fiber adds its own constant offset); nil: one fit of degree traceDegree per fiber.
    public var traceFiberDegree: Int? = 1
    /// Legendre degree across the fibers of a bundle (25 fibers) of the GHSIGX and GHSIGY factors, fitted per
    /// bundle as specex fits GHSIGX/GHSIGY (its LEGDEGX = 1 for the values; 0 here by default because these are
    /// factors on the input PSF's values, which keep its variation across the bundle); nil: one fit per fiber.
    public var sigmaFiberDegree: Int? = 0
    /// Fibers per bundle (DESI: 25).
    public var bundleSize = 25
    /// Refit GHSIGX / GHSIGY (else traces only, as specex --only-trace-fit).
    public var fitSigma = true
    /// Minimum S/N of a line group used for the traces, and of an isolated line used for the sigmas.
    public var minSNR = 10.0
    public var sigmaMinSNR = 40.0
    /// Half width of the fit window across the dispersion (pixels).
    public var halfWidthX = 3
    /// Measure / update cycles (each measures what is left from the previous one).
    public var iterations = 3
    /// Lines rejected from a fiber's polynomial fit beyond this many (robust) standard deviations.
    public var clipSigma = 4.0
    /// Threads (fibers are spread over them; the result does not depend on the count).
    public var ncpu = defaultThreadCount()
    /// The coarse scan of the trace offsets before the fine fit (CoarseScan.swift); nil: none.
    public var coarseScan: CoarseScanOptions? = CoarseScanOptions()
    /// The full fit (specex's default): after traces and widths, the Gauss-Hermite shape (every GH-i-j but GH-0-0)
    /// bundle by bundle (`fitPSFShape`), then traces and widths again with the new shape, and so on
    /// (`shapeCycles` shape fits). False: traces and widths only, the input's shape kept.
    public var fitShape = true
    public var shapeCycles = 2
    /// Fit TAILAMP as well (specex --fit-psf-tails; off by default, as desispec runs specex).
    public var fitTails = false
    /// Flux / shape alternations of each shape fit.
    public var shapeIterations = 4
    /// Fit the arc's continuum CONT (specex --fit-continuum; ArcContinuum): nil as desispec, on the z cameras only.
    public var fitContinuum: Bool? = nil
    public init() {}
}

/// Result of the PSF fit: the new PSF and what was measured on the last cycle.
public struct PSFFitResult: Sendable {
    public var psf: GaussHermitePSF
    /// Line measurements of the last cycle (relative to the PSF of that cycle).
    public var measurements: [ArcLineMeasurement]
    /// Per fiber: lines (groups) used for the traces and isolated lines used for the sigmas; fiberFitted is false
    /// where neither the fiber nor its bundle had lines enough and the corrections come from the nearest fibers.
    public var linesPerFiber: [Int]
    public var sigmaLinesPerFiber: [Int]
    public var fiberFitted: [Bool]
    /// Weighted rms of the line centres about the fitted traces of the last cycle, pixels, per fiber.
    public var rmsX: [Double], rmsY: [Double]
    /// Change from the input PSF at 5 wavelengths of every fiber: trace shifts (pixels) and sigma ratios.
    public var meanDx: Double, meanDy: Double, maxAbsDx: Double, maxAbsDy: Double
    public var meanSigmaXRatio: Double, meanSigmaYRatio: Double
    /// Reduced chi2 of the line fits of each bundle of 25 fibers (specex's B00RCHI2 ...).
    public var bundleRChi2: [Double]
    public var cycles: Int
    /// What the coarse scan found (nil when it did not run).
    public var coarseScan: CoarseScanResult? = nil
    /// The last shape fit's bundles (reduced chi2 of the spots' pixels, data, parameters, lines, fibers); empty
    /// without a shape fit.
    public var shapeBundles: [ShapeFitBundle] = []
    /// The last continuum fit's bundles; empty when CONT was not fitted.
    public var continuumBundles: [ContinuumBundleFit] = []
}

/// Fits the PSF of a camera on a preprocessed arc image, starting from `psf` (specex's
/// desi_psf_fit; see Docs/psf.md):
/// 1. every line of `lines` inside a fiber's range is predicted by the PSF; lines whose windows overlap are
///    fitted together; each group is fitted on a window of the image (flux per line, background, common
///    centre offset, and for isolated lines the factors on GHSIGX / GHSIGY), the GH-i-j and tail terms of the
///    input PSF held;
/// 2. the x and y offsets of the line groups (S/N >= minSNR) are fitted, bundle by bundle, by Legendre polynomials
///    of degree traceFiberDegree across the fibers times traceDegree in wavelength (weighted, clipped), plus a
///    constant offset per fiber (or, with traceFiberDegree nil, per fiber by Legendre polynomials of degree
///    traceDegree), and added to XTRACE / YTRACE (refitted on their own degree, as desispec's
///    recompute_legendre_coefficients): per-fiber positions with the wavelength dependence of the change
///    constrained by the whole bundle, as the night-to-night changes are smooth across the slit; the sigma
///    factors of the isolated lines
///    (S/N >= sigmaMinSNR) are fitted, bundle by bundle, by Legendre polynomials of degree sigmaFiberDegree across
///    the fibers times sigmaDegree in wavelength (as specex's LEGDEGX / LEGDEGW parametrisation; per fiber when
///    sigmaFiberDegree is nil) and multiply GHSIGX / GHSIGY;
///    fibers with too few lines take the corrections interpolated from their nearest fitted neighbours;
/// 3. the cycle repeats `iterations` times, or until the corrections are below 0.001 pixel and 0.05 %.
/// With `fitShape` (the default) the shape follows (`fitPSFShape`: GH-i-j, and TAILAMP with `fitTails`, per bundle),
/// then traces and widths again, `shapeCycles` times, ending on a shape fit (specex's order: traces, sigmas, PSF).
public func fitPSF(image: Image, psf input: GaussHermitePSF, lines: [ArcLine], options o: PSFFitOptions = PSFFitOptions(),
                   log: ((String) -> Void)? = nil) throws -> PSFFitResult {
    var start = input, scan: CoarseScanResult? = nil
    if let so = o.coarseScan {
        // Once, before the fine fit: traces off by several pixels would be fitted on the neighbouring lines.
        let inRange = try checkedFitInputs(image: image, psf: input, lines: lines)
        let r = try coarseScan(image: image, psf: input, lines: inRange, options: so, bundleSize: o.bundleSize, threads: o.ncpu)
        start = try r.apply(to: input)
        scan = r
        log?(r.summary)
    }
    // The continuum (CONT) is part of the model of every fit once known, as specex's: the input's when it has one,
    // fitted after each trace and width fit when asked (z cameras by default). The fits then see the arc minus it.
    let fitContinuum = o.fitContinuum ?? ArcContinuum.fittedByDefault(camera: image.camera)
    var work = ArcContinuum.subtracted(from: image, psf: start, threads: o.ncpu)
    var continuumBundles = [ContinuumBundleFit]()
    func refitContinuum(_ psf: GaussHermitePSF) throws -> GaussHermitePSF {
        let c = try ArcContinuum.fit(image: image, psf: psf, lines: lines, bundleSize: o.bundleSize, threads: o.ncpu)
        continuumBundles = c.bundles
        work = ArcContinuum.subtracted(from: image, psf: c.psf, threads: o.ncpu)
        log?("continuum fit: C at the middle of the wavelength range (electrons per row) per bundle "
             + c.bundles.map { String(format: "%.2f", Legendre.value(0, $0.coefficients)) }.joined(separator: " "))
        return c.psf
    }
    var stage = try fitTracesAndWidths(image: work, psf: start, lines: lines, options: o, log: log)
    log?(String(format: "line centres about the fitted traces: median rms %.3f pixel", stage.medianLineScatter.rms))
    try stage.checkLockedOnLines(scan: scan)
    if fitContinuum {
        stage.psf = try refitContinuum(stage.psf)
        if !(o.fitShape && o.fitSigma) { stage = try fitTracesAndWidths(image: work, psf: stage.psf, lines: lines, options: o, log: log) }
    }
    var shapeBundles = [ShapeFitBundle]()
    if o.fitShape && o.fitSigma {
        var so = PSFShapeFitOptions()
        so.fitTails = o.fitTails; so.iterations = o.shapeIterations; so.bundleSize = o.bundleSize; so.ncpu = o.ncpu
        for c in 0..<max(1, o.shapeCycles) {
            let shape = try fitPSFShape(image: work, psf: stage.psf, lines: lines, options: so, log: log)
            shapeBundles = shape.bundles
            log?("shape fit \(c + 1): reduced chi2 per bundle "
                 + shape.bundles.map { String(format: "%.3f", $0.rchi2) }.joined(separator: " "))
            if c + 1 < max(1, o.shapeCycles) {
                stage = try fitTracesAndWidths(image: work, psf: shape.psf, lines: lines, options: o, log: log)
                if fitContinuum { stage.psf = try refitContinuum(stage.psf) }
            } else {
                stage.psf = shape.psf
            }
        }
    }
    var r = stage.summary(input: input)
    r.shapeBundles = shapeBundles
    r.continuumBundles = continuumBundles
    r.coarseScan = scan
    return r
}

/// Traces and widths from the line fits, `iterations` cycles (see fitPSF).
struct TraceWidthFit {
    var psf: GaussHermitePSF
    var last: [[ArcLineMeasurement]]
    var corrections: FiberCorrections
    var cycles: Int
}

/// The lines inside the PSF's range, after checking that the image and the PSF describe the same CCD, that the
/// image has unmasked pixels and that at least two lines fall in the range.
func checkedFitInputs(image: Image, psf input: GaussHermitePSF, lines: [ArcLine]) throws -> [ArcLine] {
    guard image.ny == input.npixY, image.nx == input.npixX else {
        throw DESIError.mismatch("the image is \(image.ny) x \(image.nx) pixels but the PSF describes \(input.npixY) x \(input.npixX)")
    }
    guard image.ivar.contains(where: { $0 > 0 }) else { throw DESIError.invalidArgument("the image is entirely masked") }
    let inRange = lines.filter { $0.wavelength > input.wavemin && $0.wavelength < input.wavemax }
    guard inRange.count >= 2 else {
        let range = "\(Int(input.wavemin))-\(Int(input.wavemax)) A"
        throw DESIError.invalidArgument("only \(inRange.count) arc line(s) fall in the PSF range \(range)")
    }
    return inRange
}

func fitTracesAndWidths(image: Image, psf input: GaussHermitePSF, lines: [ArcLine], options o: PSFFitOptions,
                        log: ((String) -> Void)?) throws -> TraceWidthFit {
    let inRange = try checkedFitInputs(image: image, psf: input, lines: lines)
    let useReadNoise = image.readnoise.contains { $0 > 0 }
    var s = ArcLineFitSettings()
    s.halfWidthX = o.halfWidthX
    s.fitSigma = o.fitSigma
    let settings = s
    var psf = input
    let nf = psf.nspec
    var last: [[ArcLineMeasurement]] = []
    var corrections = FiberCorrections(nfiber: nf)
    var cycles = 0
    for cycle in 0..<max(1, o.iterations) {
        cycles = cycle + 1
        let current = psf
        let progress = ProgressLine("PSF fit, cycle \(cycle + 1)", total: nf)
        last = parallelMap(nf, threads: o.ncpu) { f in
            defer { progress.advance() }
            return measureArcLines(image: image, psf: current, fiber: f, lines: inRange, settings: settings,
                                   useReadNoise: useReadNoise)
        }
        progress.finish()
        corrections = try fitCorrections(last, psf: psf, options: o)
        guard corrections.fitted.contains(true) else {
            throw DESIError.failed("no fiber has \(o.traceDegree > 0 ? 2 : 1) or more arc lines with S/N > \(o.minSNR): cannot fit the PSF")
        }
        psf = try corrections.apply(to: psf, fitSigma: o.fitSigma)
        let (mx, ms) = corrections.maxChange(psf: psf)
        log?("cycle \(cycle + 1): \(corrections.fitted.filter { $0 }.count)/\(nf) fibers fitted, "
             + "\(corrections.nlines.reduce(0, +)) line groups; largest trace change \(String(format: "%.4f", mx)) pixel, "
             + "sigma change \(String(format: "%.4f", ms))")
        if mx < 0.001 && ms < 0.0005 { break }
    }
    return TraceWidthFit(psf: psf, last: last, corrections: corrections, cycles: cycles)
}

extension TraceWidthFit {
    /// The fit's result with its summary against the input PSF.
    func summary(input: GaussHermitePSF) -> PSFFitResult {
    let nf = psf.nspec
    // Summary against the input PSF.
    let ws = (0..<5).map { input.wavemin + (input.wavemax - input.wavemin) * Double($0) / 4 }
    var dxs = [Double](), dys = [Double](), rx = [Double](), ry = [Double]()
    for f in 0..<nf {
        for w in ws {
            dxs.append(psf.x(fiber: f, wavelength: w) - input.x(fiber: f, wavelength: w))
            dys.append(psf.y(fiber: f, wavelength: w) - input.y(fiber: f, wavelength: w))
            rx.append(psf.xsigma(fiber: f, wavelength: w) / input.xsigma(fiber: f, wavelength: w))
            ry.append(psf.ysigma(fiber: f, wavelength: w) / input.ysigma(fiber: f, wavelength: w))
        }
    }
    let mean = { (a: [Double]) in a.reduce(0, +) / Double(max(a.count, 1)) }
    let nb = (nf + 24) / 25
    var bundle = [Double](repeating: 0, count: nb)
    for b in 0..<nb {
        var c = 0.0, d = 0
        for f in (b * 25)..<min(nf, b * 25 + 25) { for m in last[f] { c += m.chi2; d += m.ndof } }
        bundle[b] = d > 0 ? c / Double(d) : 0
    }
    return PSFFitResult(psf: psf, measurements: last.flatMap { $0 }, linesPerFiber: corrections.nlines,
                        sigmaLinesPerFiber: corrections.nsigmaLines, fiberFitted: corrections.fitted,
                        rmsX: corrections.rmsX, rmsY: corrections.rmsY,
                        meanDx: mean(dxs), meanDy: mean(dys), maxAbsDx: dxs.map(abs).max() ?? 0, maxAbsDy: dys.map(abs).max() ?? 0,
                        meanSigmaXRatio: mean(rx), meanSigmaYRatio: mean(ry), bundleRChi2: bundle, cycles: cycles)
    }
}

/// Per-fiber Legendre corrections in the reduced wavelength of the PSF: x and y offsets (pixels), sigma factors.
struct FiberCorrections {
    var dx: [[Double]], dy: [[Double]], sx: [[Double]], sy: [[Double]]
    var fitted: [Bool], sigmaFitted: [Bool]
    var nlines: [Int], nsigmaLines: [Int]
    var rmsX: [Double], rmsY: [Double]
    var wavemin = 0.0, wavemax = 1.0

    init(nfiber n: Int) {
        dx = [[Double]](repeating: [0], count: n); dy = dx; sx = [[Double]](repeating: [1], count: n); sy = sx
        fitted = [Bool](repeating: false, count: n); sigmaFitted = fitted
        nlines = [Int](repeating: 0, count: n); nsigmaLines = nlines
        rmsX = [Double](repeating: 0, count: n); rmsY = rmsX
    }

    func u(_ w: Double) -> Double { Legendre.reduced(w, min: wavemin, max: wavemax) }

    /// The PSF with these corrections: traces moved, sigmas scaled, each refitted on its own Legendre degree.
    func apply(to psf: GaussHermitePSF, fitSigma: Bool) throws -> GaussHermitePSF {
        var p = psf
        if fitSigma {
            p.parameters[psf.sigX].traces = try psf.parameters[psf.sigX].traces.refitted { f, w, v in
                v * (Legendre.value(u(w), sx[f]) - 1)
            }
            p.parameters[psf.sigY].traces = try psf.parameters[psf.sigY].traces.refitted { f, w, v in
                v * (Legendre.value(u(w), sy[f]) - 1)
            }
        }
        return try p.withTraces(x: psf.xTrace.refitted { f, w, _ in Legendre.value(u(w), dx[f]) },
                                y: psf.yTrace.refitted { f, w, _ in Legendre.value(u(w), dy[f]) })
    }

    /// Largest |offset| (pixels) and |factor - 1| over fibers at 11 wavelengths.
    func maxChange(psf: GaussHermitePSF) -> (Double, Double) {
        var mx = 0.0, ms = 0.0
        for f in 0..<dx.count {
            for k in 0...10 {
                let t = -1 + 0.2 * Double(k)
                mx = max(mx, abs(Legendre.value(t, dx[f])), abs(Legendre.value(t, dy[f])))
                ms = max(ms, abs(Legendre.value(t, sx[f]) - 1), abs(Legendre.value(t, sy[f]) - 1))
            }
        }
        return (mx, ms)
    }
}

/// Weighted Legendre fit of values at reduced wavelengths with iterative clipping at `clip` robust sigmas;
/// degree lowered to points - 2 (at least 0). Returns the coefficients, points kept and weighted rms, or nil.
func clippedLegendreFit(u: [Double], v: [Double], err: [Double], degree: Int, clip: Double,
                        minPoints: Int = 2) -> (c: [Double], n: Int, rms: Double)? {
    var keep = Array(0..<u.count)
    for _ in 0..<10 {
        guard keep.count >= minPoints, !keep.isEmpty else { return nil }
        let deg = max(0, min(degree, keep.count - 2))
        let weights = keep.map { 1 / err[$0] }
        guard let c = try? Legendre.fit(x: keep.map { u[$0] }, y: keep.map { v[$0] }, degree: deg, weights: weights) else { return nil }
        let norm = keep.map { (v[$0] - Legendre.value(u[$0], c)) / err[$0] }
        // Robust scale of the normalised residuals, at least 1 (errors can be underestimated, never trusted lower).
        let scale = max(1, Statistics.nmad(norm))
        let bad = Set(keep.indices.filter { abs(norm[$0]) > clip * scale })
        if bad.isEmpty || keep.count - bad.count < max(minPoints, 1) {
            var sw = 0.0, swr = 0.0
            for (i, k) in keep.enumerated() { let w = 1 / (err[k] * err[k]); sw += w; swr += w * pow(norm[i] * err[k], 2) }
            return (c, keep.count, sw > 0 ? (swr / sw).squareRoot() : 0)
        }
        keep = keep.enumerated().filter { !bad.contains($0.offset) }.map(\.element)
    }
    return nil
}

/// Weighted fit of v(t, u) = sum_ij a[i * (degW + 1) + j] P_i(t) P_j(u) (t: fiber in bundle, u: wavelength, both
/// reduced) with iterative clipping at `clip` robust sigmas (normal equations, unit-diagonal scaled Cholesky).
func clippedBundleFit(t: [Double], u: [Double], v: [Double], err: [Double], degF: Int, degW: Int, clip: Double) -> (a: [Double], n: Int)? {
    let nc = (degF + 1) * (degW + 1)
    let rows: [[Double]] = (0..<t.count).map { k in
        var pt = [Double](repeating: 0, count: degF + 1), pu = [Double](repeating: 0, count: degW + 1)
        pt.withUnsafeMutableBufferPointer { Legendre.basis(t[k], degree: degF, into: $0) }
        pu.withUnsafeMutableBufferPointer { Legendre.basis(u[k], degree: degW, into: $0) }
        return (0..<nc).map { pt[$0 / (degW + 1)] * pu[$0 % (degW + 1)] }
    }
    var keep = Array(0..<t.count)
    for _ in 0..<10 {
        guard keep.count > nc else { return nil }
        var a = Matrix(rows: nc, cols: nc), b = [Double](repeating: 0, count: nc)
        for k in keep {
            let w = 1 / (err[k] * err[k])
            for i in 0..<nc {
                b[i] += w * rows[k][i] * v[k]
                for j in 0..<nc { a[i, j] += w * rows[k][i] * rows[k][j] }
            }
        }
        let d = (0..<nc).map { a[$0, $0] > 0 ? 1 / a[$0, $0].squareRoot() : 0 }
        guard !d.contains(0) else { return nil }
        var s = a
        for i in 0..<nc { for j in 0..<nc { s[i, j] = a[i, j] * d[i] * d[j] } }
        guard let ch = try? CholeskyFactor(s) else { return nil }
        let y = ch.solve((0..<nc).map { b[$0] * d[$0] })
        let coef = (0..<nc).map { y[$0] * d[$0] }
        let norm = keep.map { k in (v[k] - zip(rows[k], coef).reduce(0.0) { $0 + $1.0 * $1.1 }) / err[k] }
        let scale = max(1, Statistics.nmad(norm))
        let bad = Set(keep.indices.filter { abs(norm[$0]) > clip * scale })
        if bad.isEmpty || keep.count - bad.count <= nc { return (coef, keep.count) }
        keep = keep.enumerated().filter { !bad.contains($0.offset) }.map(\.element)
    }
    return nil
}

/// The Legendre coefficients in wavelength at fiber coordinate t of a bundle fit.
func bundleCoefficients(_ a: [Double], t: Double, degF: Int, degW: Int) -> [Double] {
    var pt = [Double](repeating: 0, count: degF + 1)
    pt.withUnsafeMutableBufferPointer { Legendre.basis(t, degree: degF, into: $0) }
    return (0...degW).map { j in (0...degF).reduce(0.0) { $0 + a[$1 * (degW + 1) + j] * pt[$1] } }
}

/// The fits of one bundle of an x and a y quantity of its lines (trace offsets, or sigma factors), each in fiber
/// and in wavelength (`clippedBundleFit`).
struct BundleFit {
    var x: [Double], y: [Double]
    var fiberDegree: Int, wavelengthDegree: Int

    /// The Legendre coefficients in wavelength of the x and y fits at fiber coordinate t.
    func coefficients(at t: Double) -> (x: [Double], y: [Double]) {
        (bundleCoefficients(x, t: t, degF: fiberDegree, degW: wavelengthDegree),
         bundleCoefficients(y, t: t, degF: fiberDegree, degW: wavelengthDegree))
    }
}

/// Fits the x and y quantities (value, error) of the lines of a bundle's fibers against the fiber coordinate and the
/// `reduced` wavelength, the degrees lowered to the bundle's fibers - 1 and distinct wavelengths - 2; nil when the
/// bundle has too few lines or a fit fails.
func fitBundle(_ bundle: (fibers: [Int], t: (Int) -> Double), lines: [[ArcLineMeasurement]], reduced: (Double) -> Double,
               fiberDegree: Int, wavelengthDegree: Int, clip: Double,
               x: (ArcLineMeasurement) -> (Double, Double), y: (ArcLineMeasurement) -> (Double, Double)) -> BundleFit? {
    let pts = bundle.fibers.flatMap { f in lines[f].map { (f, $0) } }
    let nfib = Set(pts.map(\.0)).count, nwave = Set(pts.map { $0.1.wavelengths[0] }).count
    let dw = max(0, min(wavelengthDegree, nwave - 2)), df = max(0, min(fiberDegree, nfib - 1))
    guard pts.count >= (df + 1) * (dw + 1) + 1 else { return nil }
    let ts = pts.map { bundle.t($0.0) }, us = pts.map { reduced($0.1.wavelength) }
    let xs = pts.map { x($0.1) }, ys = pts.map { y($0.1) }
    guard let ax = clippedBundleFit(t: ts, u: us, v: xs.map(\.0), err: xs.map(\.1), degF: df, degW: dw, clip: clip),
          let ay = clippedBundleFit(t: ts, u: us, v: ys.map(\.0), err: ys.map(\.1), degF: df, degW: dw, clip: clip)
    else { return nil }
    return BundleFit(x: ax.a, y: ay.a, fiberDegree: df, wavelengthDegree: dw)
}

/// Fits each fiber's corrections to its line measurements; fibers without enough lines get their neighbours'.
func fitCorrections(_ meas: [[ArcLineMeasurement]], psf: GaussHermitePSF, options o: PSFFitOptions) throws -> FiberCorrections {
    let nf = meas.count
    var c = FiberCorrections(nfiber: nf)
    c.wavemin = psf.wavemin; c.wavemax = psf.wavemax
    var isolated = [[ArcLineMeasurement]](repeating: [], count: nf), used = isolated
    for f in 0..<nf {
        let good = meas[f].filter { $0.snr >= o.minSNR && $0.dxError > 0 && $0.dyError > 0 }
        // Reject grossly bad fits (reduced chi2 far above the fiber's typical value).
        let rchi = good.map { $0.chi2 / Double($0.ndof) }
        let limit = max(4, 5 * (rchi.isEmpty ? 1 : Statistics.median(rchi)))
        let use = good.filter { $0.chi2 / Double($0.ndof) <= limit }
        used[f] = use
        if o.traceFiberDegree == nil {
            let u = use.map { c.u($0.wavelength) }
            if let fx = clippedLegendreFit(u: u, v: use.map(\.dx), err: use.map(\.dxError), degree: o.traceDegree, clip: o.clipSigma),
               let fy = clippedLegendreFit(u: u, v: use.map(\.dy), err: use.map(\.dyError), degree: o.traceDegree, clip: o.clipSigma) {
                c.dx[f] = fx.c; c.dy[f] = fy.c; c.fitted[f] = true
                c.nlines[f] = min(fx.n, fy.n); c.rmsX[f] = fx.rms; c.rmsY[f] = fy.rms
            }
        }
        isolated[f] = use.filter { $0.sigmaXRatio != nil && $0.snr >= o.sigmaMinSNR }
    }
    if let fdeg = o.traceFiberDegree {
        for bundle in fiberBundles(count: nf, size: o.bundleSize) {
            guard let fit = fitBundle(bundle, lines: used, reduced: c.u, fiberDegree: fdeg, wavelengthDegree: o.traceDegree,
                                      clip: o.clipSigma, x: { ($0.dx, $0.dxError) }, y: { ($0.dy, $0.dyError) })
            else { continue }
            for f in bundle.fibers {
                var (cx, cy) = fit.coefficients(at: bundle.t(f))
                // The fiber's own constant offset from the bundle's smooth correction (clipped weighted mean).
                let m = used[f], um = m.map { c.u($0.wavelength) }
                let ox = clippedLegendreFit(u: um, v: zip(m, um).map { $0.0.dx - Legendre.value($0.1, cx) }, err: m.map(\.dxError),
                                            degree: 0, clip: o.clipSigma, minPoints: 1)
                let oy = clippedLegendreFit(u: um, v: zip(m, um).map { $0.0.dy - Legendre.value($0.1, cy) }, err: m.map(\.dyError),
                                            degree: 0, clip: o.clipSigma, minPoints: 1)
                if let ox, let oy {
                    cx[0] += ox.c[0]; cy[0] += oy.c[0]
                    c.nlines[f] = min(ox.n, oy.n); c.rmsX[f] = ox.rms; c.rmsY[f] = oy.rms
                }
                c.dx[f] = cx; c.dy[f] = cy; c.fitted[f] = true
            }
        }
    }
    if o.fitSigma {
        if let fdeg = o.sigmaFiberDegree {
            // Per bundle: factor(fiber, wavelength) = sum_ij a_ij P_i(fiber in bundle) P_j(wavelength).
            for bundle in fiberBundles(count: nf, size: o.bundleSize) {
                guard let fit = fitBundle(bundle, lines: isolated, reduced: c.u, fiberDegree: fdeg, wavelengthDegree: o.sigmaDegree,
                                          clip: o.clipSigma, x: { ($0.sigmaXRatio!, $0.sigmaXRatioError!) },
                                          y: { ($0.sigmaYRatio!, $0.sigmaYRatioError!) })
                else { continue }
                for f in bundle.fibers {
                    (c.sx[f], c.sy[f]) = fit.coefficients(at: bundle.t(f))
                    c.sigmaFitted[f] = true
                    c.nsigmaLines[f] = isolated[f].count
                }
            }
        } else {
            for f in 0..<nf {
                let iso = isolated[f], ui = iso.map { c.u($0.wavelength) }
                if let sx = clippedLegendreFit(u: ui, v: iso.map { $0.sigmaXRatio! }, err: iso.map { $0.sigmaXRatioError! },
                                               degree: o.sigmaDegree, clip: o.clipSigma),
                   let sy = clippedLegendreFit(u: ui, v: iso.map { $0.sigmaYRatio! }, err: iso.map { $0.sigmaYRatioError! },
                                               degree: o.sigmaDegree, clip: o.clipSigma) {
                    c.sx[f] = sx.c; c.sy[f] = sy.c; c.sigmaFitted[f] = true; c.nsigmaLines[f] = min(sx.n, sy.n)
                }
            }
        }
    }
    c.dx = fillFromNeighbours(c.dx, c.fitted, fallback: [0]); c.dy = fillFromNeighbours(c.dy, c.fitted, fallback: [0])
    c.sx = fillFromNeighbours(c.sx, c.sigmaFitted, fallback: [1]); c.sy = fillFromNeighbours(c.sy, c.sigmaFitted, fallback: [1])
    return c
}

/// Coefficients of fibers not fitted: linear interpolation in fiber number between the nearest fitted fibers on
/// each side (the nearest one at the ends); `fallback` when no fiber was fitted.
func fillFromNeighbours(_ coef: [[Double]], _ ok: [Bool], fallback: [Double]) -> [[Double]] {
    let n = coef.count
    let good = (0..<n).filter { ok[$0] }
    guard !good.isEmpty else { return [[Double]](repeating: fallback, count: n) }
    func padded(_ a: [Double], _ m: Int) -> [Double] { a + [Double](repeating: 0, count: max(0, m - a.count)) }
    var out = coef
    for f in 0..<n where !ok[f] {
        let lo = good.last { $0 < f }, hi = good.first { $0 > f }
        switch (lo, hi) {
        case let (a?, b?):
            let m = max(coef[a].count, coef[b].count)
            let ca = padded(coef[a], m), cb = padded(coef[b], m), t = Double(f - a) / Double(b - a)
            out[f] = (0..<m).map { ca[$0] + t * (cb[$0] - ca[$0]) }
        case let (a?, nil): out[f] = coef[a]
        case let (nil, b?): out[f] = coef[b]
        default: out[f] = fallback
        }
    }
    return out
}

/// The fibers in bundles of `size` (the last may be shorter), each with the fiber coordinate mapped to [-1, 1] across
/// its bundle, for the bundle-wise Legendre fits of trace offsets and widths (as specex fits per bundle).
func fiberBundles(count nf: Int, size: Int) -> [(fibers: [Int], t: (Int) -> Double)] {
    stride(from: 0, to: nf, by: max(1, size)).map { b0 in
        let fibers = Array(b0..<min(nf, b0 + max(1, size)))
        let n = fibers.count
        return (fibers, { f in n > 1 ? 2 * Double(f - b0) / Double(n - 1) - 1 : 0 })
    }
}
