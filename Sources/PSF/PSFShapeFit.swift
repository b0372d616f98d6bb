import DESICore
import Foundation
import LinearAlgebra

/// Options of the Gauss-Hermite shape fit (specex's "PSF" stage: every GH-i-j but GH-0-0, and TAILAMP with
/// specex's --fit-psf-tails).
public struct PSFShapeFitOptions: Sendable {
    /// Fit TAILAMP too (specex --fit-psf-tails; desispec does not ask for it). TAILCORE, TAILXSCA, TAILYSCA and
    /// TAILINDE are always the input's, as specex keeps them.
    public var fitTails = false
    /// Flux / shape alternations (the shape step is an exact linear solve for given fluxes).
    public var iterations = 4
    /// Minimum S/N of a line's flux for the line to enter the shape fit (specex min_snr_linear_terms, 3).
    public var minSNR = 3.0
    /// Fibers per bundle (DESI: 25).
    public var bundleSize = 25
    /// Threads (fibers and bundles are spread over them; the result does not depend on the count).
    public var ncpu = defaultThreadCount()
    public init() {}
}

/// The fit of one bundle: reduced chi2 of the pixels of its spots (specex's BnnRCHI2, BnnNDATA, BnnNPAR), lines
/// and fibers that entered the fit.
public struct ShapeFitBundle: Sendable {
    public var bundle: Int
    public var rchi2: Double
    public var ndata: Int
    public var npar: Int
    public var nspots: Int
    public var nfibers: Int
}

public struct PSFShapeFitResult: Sendable {
    public var psf: GaussHermitePSF
    public var bundles: [ShapeFitBundle]
}

/// Fits the Gauss-Hermite shape of `psf` on a preprocessed arc image, bundle by bundle, with the traces and the core
/// sigmas held (specex_psf_fitter FitEverything, its stage with fit_psf and every parameter but GHSIGX/GHSIGY and
/// the tail free; with `fitTails` its TAILAMP stage as well):
/// - every line of every fiber is a spot flux * [sum_ij GH-i-j fx_i fy_j + TAILAMP tail] on its stamp, the centre
///   and sigmas from the PSF; GH-0-0 is held (it sets the normalisation, the flux is free);
/// - each fitted parameter changes, in each bundle, by a Legendre polynomial of degree LEGDEGX in the fiber's
///   place in the bundle times LEGDEGW in wavelength (the input table's degrees, lowered when the bundle has too
///   few fibers or lines, as specex does), added to each fiber's wavelength coefficients;
/// - fluxes (per fiber, the fiber's blended lines together, the other fibers' light from the current model) and
///   shape (for given fluxes the image is linear in the coefficients: one weighted linear solve per bundle, with
///   the whole image model in the residuals and the spots' own blocks in the normal matrix, the step's length
///   then set by an exact line search per bundle: `stepLengths`) alternate `iterations` times. Pixel variances:
///   read noise^2 + model; masked pixels have no weight.
public func fitPSFShape(image: Image, psf input: GaussHermitePSF, lines: [ArcLine],
                        options o: PSFShapeFitOptions = PSFShapeFitOptions(),
                        log: ((String) -> Void)? = nil) throws -> PSFShapeFitResult {
    guard image.ny == input.npixY, image.nx == input.npixX else {
        throw DESIError.mismatch("the image is \(image.ny) x \(image.nx) pixels but the PSF describes \(input.npixY) x \(input.npixX)")
    }
    let waves = Array(Set(lines.map(\.wavelength).filter { $0 > input.wavemin && $0 < input.wavemax })).sorted()
    var psf = input
    let hasTail = psf.parameters[psf.tailAmp].traces.coefficients.contains { $0 != 0 }
    let withTail = o.fitTails || hasTail
    let nf = psf.nspec
    let ctx = ShapeFitPixels(image: image)
    let current = psf
    var spots: [[ShapeFitSpot]] = parallelMap(nf, threads: o.ncpu) { f in
        waves.compactMap { ShapeFitSpot(psf: current, fiber: f, wavelength: $0, withTail: withTail) }
    }
    let fitted = ShapeFitParameters(psf: psf, fitTails: o.fitTails)
    let bundles = shapeFitBundles(psf: psf, bundleSize: o.bundleSize)
    var model = ctx.model(spots: spots, psf: psf, threads: o.ncpu)
    spots = ctx.fitFluxes(spots, model: model, useModelVariance: false, psf: psf, minSNR: o.minSNR, threads: o.ncpu)
    for it in 0..<max(1, o.iterations) {
        model = ctx.model(spots: spots, psf: psf, threads: o.ncpu)
        let before = psf, m = model, sp = spots
        let steps = parallelMap(bundles.count, threads: o.ncpu) { b in
            ctx.shapeStep(spots: sp, fibers: bundles[b], model: m, psf: before, fitted: fitted)
        }
        // Each bundle's step, scaled by its exact line search along it (ShapeFitLineSearch.swift).
        func stepped(_ lengths: [Double]) -> (psf: GaussHermitePSF, largest: Double) {
            var out = before, largest = 0.0
            for (b, step) in steps.enumerated() {
                guard let step, lengths[b] > 0 else { continue }
                for (k, f) in bundles[b].enumerated() {
                    for (a, p) in fitted.parameters.enumerated() {
                        let nc = out.parameters[p].traces.ncoef
                        for (q, d) in step.delta(fiberIndex: k, parameter: a).enumerated() where q < nc {
                            out.parameters[p].traces.coefficients[f * nc + q] += lengths[b] * d
                            largest = max(largest, abs(lengths[b] * d))
                        }
                    }
                }
            }
            return (out, largest)
        }
        let full = stepped([Double](repeating: 1, count: bundles.count)).psf
        let lengths = ctx.stepLengths(spots: spots, bundles: bundles, model: m,
                                      trialModel: ctx.model(spots: spots, psf: full, threads: o.ncpu))
        let largest: Double
        (psf, largest) = stepped(lengths)
        model = ctx.model(spots: spots, psf: psf, threads: o.ncpu)
        spots = ctx.fitFluxes(spots, model: model, useModelVariance: true, psf: psf, minSNR: o.minSNR, threads: o.ncpu)
        let sorted = lengths.sorted()
        log?("shape fit, iteration \(it + 1): largest coefficient change \(String(format: "%.5f", largest)), step length "
             + "per bundle \(String(format: "%.3f", sorted.first ?? 1))-\(String(format: "%.3f", sorted.last ?? 1))")
        if largest < 1e-5 { break }
    }
    model = ctx.model(spots: spots, psf: psf, threads: o.ncpu)
    let m = model, sp = spots, final = psf
    let summaries = parallelMap(bundles.count, threads: o.ncpu) { b in
        ctx.chi2(spots: sp, fibers: bundles[b], model: m, bundle: (final.fiberMin + bundles[b][0]) / o.bundleSize,
                 nparPerFiberSet: fitted.parameterCount(fiberCount: bundles[b].filter { f in sp[f].contains { $0.used } }.count,
                                                        spots: sp, fibers: bundles[b]))
    }
    return PSFShapeFitResult(psf: psf, bundles: summaries)
}

/// The fibers (PSF indices) of each bundle, in order: DESI's bundles of `bundleSize` fibers by absolute fiber number.
func shapeFitBundles(psf: GaussHermitePSF, bundleSize: Int) -> [[Int]] {
    var out = [[Int]](), lastBundle = Int.min
    for f in 0..<psf.nspec {
        let b = (psf.fiberMin + f) / max(bundleSize, 1)
        if b != lastBundle { out.append([]); lastBundle = b }
        out[out.count - 1].append(f)
    }
    return out
}

/// The parameters the shape fit changes: every GH-i-j but GH-0-0, for GAUSS-HERMITE2 every GH2-i-j (GH2-0-0 included:
/// the second core's weight relative to GH-0-0, which is held as the normalisation, the flux being free), and TAILAMP
/// when asked; each with its term in the spot's basis (ShapeFitCores numbering, or -1 for the tail) and its Legendre
/// degrees in the table. specex's PSF stage frees the same parameters (all but the sigmas, GHNSIG and the tail).
struct ShapeFitParameters: Sendable {
    var parameters: [Int]           // indices in psf.parameters
    var terms: [Int]                // GH term index, or -1 for the tail
    var degX: [Int], degW: [Int]

    init(psf: GaussHermitePSF, fitTails: Bool) {
        parameters = []; terms = []; degX = []; degW = []
        for (k, p) in ShapeFitCores.termParameters(psf).enumerated() where k > 0 {
            parameters.append(p); terms.append(k)
        }
        if fitTails { parameters.append(psf.tailAmp); terms.append(-1) }
        for p in parameters {
            degX.append(max(0, psf.parameters[p].legDegX))
            degW.append(max(0, min(psf.parameters[p].legDegW, psf.parameters[p].traces.ncoef - 1)))
        }
    }

    /// The degrees used in a bundle: lowered to the fibers with lines - 1 and the most lines of a fiber - 1.
    func degrees(fibersWithLines nfib: Int, maxLinesPerFiber nl: Int) -> [(x: Int, w: Int)] {
        zip(degX, degW).map { (max(0, min($0, nfib - 1)), max(0, min($1, nl - 1))) }
    }

    /// Free parameters of a bundle's linear solve (for the reduced chi2).
    func parameterCount(fiberCount nfib: Int, spots: [[ShapeFitSpot]], fibers list: [Int]) -> Int {
        let nl = list.map { f in spots[f].filter(\.used).count }.max() ?? 0
        return degrees(fibersWithLines: nfib, maxLinesPerFiber: nl).reduce(0) { $0 + ($1.x + 1) * ($1.w + 1) }
    }
}
