import DESICore
import Foundation
import LinearAlgebra
import PSF

/// Spectra extracted from a CCD image (the arrays of a desispec Frame before the fibermap is attached).
public struct ExtractionResult: Sendable {
    public var grid: WaveGrid
    /// PSF fiber indices extracted.
    public var fibers: Range<Int>
    /// [nspec, nwave] row-major: flux in electrons per Angstrom and its inverse variance.
    public var flux: [Double]
    public var ivar: [Double]
    public var mask: [UInt32]
    public var chi2pix: [Double]
    /// Fraction of the PSF weight of each bin that fell on masked pixels.
    public var maskedFraction: [Double]
    /// Deconvolved flux (electrons per bin), before the resolution convolution.
    public var deconvolvedFlux: [Double]
    public var resolution: ResolutionData
    /// 2D model of the image [npixY, npixX] when requested.
    public var model: [Float]?

    public var nspec: Int { fibers.count }
    public var nwave: Int { grid.count }
}

/// Spectroperfectionism extraction (Bolton & Schlegel 2010) of fibers `fibers` (PSF indices) on the
/// wavelength grid `grid`, by divide and conquer: bundles, overlapping sub-bundles and wavelength patches
/// padded on each side, keeping the core of each patch (specter.extract.ex2d as desispec.scripts.extract
/// calls it). Patches run in parallel; results do not depend on the number of threads.
public func extractSpectra(image: Image, psf: any SpectralPSF, fibers: Range<Int>, grid: WaveGrid,
                           options: ExtractionOptions = ExtractionOptions()) throws -> ExtractionResult {
    try ExtractionInputCheck.imageSize(image, psf: psf)
    try ExtractionInputCheck.fibers(first: fibers.lowerBound, count: fibers.count, psf: psf)
    guard grid.count >= 2, grid.dw > 0 else { throw DESIError.invalidArgument("the wavelength grid needs at least 2 values and dw > 0") }
    try ExtractionInputCheck.wavelengths(grid, psf: psf)
    let wfirst = grid.wavelength(0), wlast = grid.wavelength(grid.count - 1)
    guard options.bundleSize > 0, options.nSubBundles > 0, options.waveStep > 0 else {
        throw DESIError.invalidArgument("bundle size, number of sub-bundles and wavelength step must be positive")
    }
    if let nd = options.ndiag, nd < 1 || nd % 2 == 0 { throw DESIError.invalidArgument("ndiag must be odd and positive, got \(nd)") }

    let geometry = PatchGeometry(psf: psf, grid: grid, fibers: fibers, options: options)
    let h = geometry.ndiagHalf
    let ndiag = 2 * h + 1
    let nspec = fibers.count, nwave = grid.count

    // Work units: (sub-bundle) with all its wavelength patches, in order.
    struct Unit: Sendable { var extract: Range<Int>; var core: Range<Int> }
    var unitList: [Unit] = []
    var unitBundles: [Range<Int>] = []     // the units of each bundle
    var b = fibers.lowerBound
    while b < fibers.upperBound {
        let bhi = min(b + options.bundleSize, fibers.upperBound)
        let nsub = min(bhi - b, options.nSubBundles)
        let first = unitList.count
        for s in splitBundle(bhi - b, into: nsub) {
            unitList.append(Unit(extract: (b + s.extract.lowerBound)..<(b + s.extract.upperBound),
                              core: (b + s.core.lowerBound)..<(b + s.core.upperBound)))
        }
        unitBundles.append(first..<unitList.count)
        b = bhi
    }
    let units = unitList

    // Pixel weights: ivar, zero on masked pixels (desispec: ivar * ((mask & extractmaskval) == 0)), taken
    // patch by patch below.
    let maskBits = options.pixelMaskBits
    let pixelIvar = image.ivar, pixelMask = image.mask

    struct UnitOutput: Sendable {
        var flux: [Double], ivar: [Double], xflux: [Double], chi2: [Double], masked: [Double], rdata: [Double]
        var modelX0: Int, modelNX: Int, model: [Float]
    }
    let pix = image.pix, nxImg = image.nx, nyImg = image.ny

    // One unit: its patches in wavelength order. `cache` may hold spots of a previous unit of the same chain;
    // the spots of the fibers the next unit of the chain also fits (`keep`) are kept for it.
    let runUnit: @Sendable (Int, SpotCache, Range<Int>) throws -> UnitOutput = { u, cache, keep in
        let unit = units[u]
        let nc = unit.core.count
        var out = UnitOutput(flux: .init(repeating: 0, count: nc * nwave), ivar: .init(repeating: 0, count: nc * nwave),
                             xflux: .init(repeating: 0, count: nc * nwave), chi2: .init(repeating: 0, count: nc * nwave),
                             masked: .init(repeating: 0, count: nc * nwave), rdata: .init(repeating: 0, count: nc * ndiag * nwave),
                             modelX0: 0, modelNX: 0, model: [])
        if options.computeModel {
            let box = geometry.xyRange(fibers: unit.core, wlo: wfirst, whi: wlast)
            out.modelX0 = box.xmin; out.modelNX = max(0, box.xmax - box.xmin)
            out.model = [Float](repeating: 0, count: out.modelNX * nyImg)
        }
        cache.keepOnly(fibers: unit.extract)
        let workspace = PatchWorkspace()
        var iwave = 0
        while iwave < nwave {
            let patch = geometry.patch(extract: unit.extract, core: unit.core, iwave: iwave)
            cache.evict(below: patch.waveIndices.lowerBound, except: keep)
            let a = ProjectionMatrix(patch: patch, cache: cache)
            // the patch's pixels and weights, every element written once (no zero-fill first)
            let npixPatch = patch.nx * patch.ny
            var w = [Double]()
            let p = [Double](unsafeUninitializedCapacity: npixPatch) { pOut, pCount in
                w = [Double](unsafeUninitializedCapacity: npixPatch) { wOut, wCount in
                    pix.withUnsafeBufferPointer { pp in
                    pixelIvar.withUnsafeBufferPointer { iv in
                    pixelMask.withUnsafeBufferPointer { mk in
                        for y in patch.ymin..<patch.ymax {
                            for x in patch.xmin..<patch.xmax {
                                let i = (y - patch.ymin) * patch.nx + (x - patch.xmin), j = y * nxImg + x
                                pOut[i] = Double(pp[j])
                                wOut[i] = (mk[j] & maskBits) == 0 ? Double(max(0, iv[j])) : 0
                            }
                        }
                    }}}
                    wCount = npixPatch
                }
                pCount = npixPatch
            }
            let r = try solvePatch(patch: patch, projection: a, pixels: p, weights: w, options: options, workspace: workspace)
            let off = patch.coreWaveOffset
            for f in unit.core {
                let s = f - patch.fibers.lowerBound          // fiber inside the patch
                let o = f - unit.core.lowerBound             // fiber inside the unit's output
                let block = r.resolutionBlocks[f - patch.coreFibers.lowerBound]
                for j in 0..<patch.coreWaveIndices.count {
                    let src = s * patch.nwave + off + j
                    let k = patch.coreWaveIndices.lowerBound + j
                    let dst = o * nwave + k
                    out.flux[dst] = r.flux[src]; out.ivar[dst] = r.ivar[src]; out.xflux[dst] = r.xflux[src]
                    out.chi2[dst] = r.chi2[src]; out.masked[dst] = r.maskedFraction[src]
                    let jl = off + j
                    for d in 0..<ndiag {
                        // DIA storage: data[spec, d, col] = R[col - (h - d), col]
                        out.rdata[(o * ndiag + d) * nwave + k] = block[jl - h + d, jl]
                    }
                    if options.computeModel, out.modelNX > 0, r.xflux[src] != 0,
                       let spot = cache.spot(fiber: f, waveIndex: k) {
                        let xf = r.xflux[src]
                        let ya = max(0, spot.y0), yb = min(nyImg, spot.y0 + spot.ny)
                        let xa = max(out.modelX0, spot.x0), xb = min(out.modelX0 + out.modelNX, spot.x0 + spot.nx)
                        if ya < yb && xa < xb {
                            for y in ya..<yb {
                                for x in xa..<xb {
                                    out.model[y * out.modelNX + (x - out.modelX0)] +=
                                        Float(xf * spot.values[(y - spot.y0) * spot.nx + (x - spot.x0)])
                                }
                            }
                        }
                    }
                }
            }
            iwave += options.waveStep
        }
        return out
    }

    let nthreads = max(1, min(options.threads ?? defaultThreadCount(), units.count))
    let previousBLAS = BLASThreads.count
    BLASThreads.set(1)
    defer { BLASThreads.set(previousBLAS) }
    let progress = ProgressLine("extraction", total: units.count)
    defer { progress.finish() }
    // Chains of consecutive units of one bundle run by one worker, sharing the spots of the fibers two
    // neighbouring sub-bundles both fit (each sub-bundle fits one neighbour on each side: a quarter of the spots
    // of a bundle of 25 fibers in 5 sub-bundles). Enough chains to keep the workers busy; each unit is
    // computed the same way whatever the chains, so the results do not depend on them (nor on the threads).
    let chains = unitChains(unitBundles, minimumCount: 4 * nthreads)
    let chainOutputs = try parallelMap(chains.count, threads: nthreads) { c in
        let cache = SpotCache(geometry: geometry)
        var outs: [UnitOutput] = []
        for u in chains[c] {
            let next = u + 1 < chains[c].upperBound ? units[u + 1].extract : 0..<0
            let keep = units[u].extract.clamped(to: next)
            do { outs.append(try runUnit(u, cache, keep)) } catch {
                let extract = units[u].extract
                throw DESIError.failed("extraction failed for fibers \(extract.lowerBound)..<\(extract.upperBound): \(error)")
            }
            progress.advance()
        }
        return outs
    }
    let outputs = chainOutputs.flatMap { $0 }

    // Assemble in unit order.
    var flux = [Double](repeating: 0, count: nspec * nwave)
    var ivar = flux, xflux = flux, chi2 = flux, masked = flux
    var rdata = [Float](repeating: 0, count: nspec * ndiag * nwave)
    var model: [Float]? = options.computeModel ? [Float](repeating: 0, count: nyImg * nxImg) : nil
    for (u, unit) in units.enumerated() {
        let out = outputs[u]
        for f in unit.core {
            let o = f - unit.core.lowerBound, g = f - fibers.lowerBound
            for k in 0..<nwave {
                flux[g * nwave + k] = out.flux[o * nwave + k]; ivar[g * nwave + k] = out.ivar[o * nwave + k]
                xflux[g * nwave + k] = out.xflux[o * nwave + k]; chi2[g * nwave + k] = out.chi2[o * nwave + k]
                masked[g * nwave + k] = out.masked[o * nwave + k]
            }
            for i in 0..<(ndiag * nwave) { rdata[g * ndiag * nwave + i] = Float(out.rdata[o * ndiag * nwave + i]) }
        }
        if model != nil && out.modelNX > 0 {
            for y in 0..<nyImg {
                for x in 0..<out.modelNX { model![y * nxImg + out.modelX0 + x] += out.model[y * out.modelNX + x] }
            }
        }
    }
    // Electrons per bin -> electrons per Angstrom (specter: flux /= gradient(wave)).
    let dw = grid.dw
    for i in 0..<(nspec * nwave) {
        flux[i] /= dw
        ivar[i] *= dw * dw
    }
    let mask = ExtractionMask.spectralMask(maskedFraction: masked, chi2pix: chi2, nspec: nspec, nwave: nwave,
                                           rule: options.bad2DFitRule)
    return ExtractionResult(grid: grid, fibers: fibers, flux: flux, ivar: ivar, mask: mask, chi2pix: chi2,
                            maskedFraction: masked, deconvolvedFlux: xflux,
                            resolution: ResolutionData(nspec: nspec, ndiag: ndiag, nwave: nwave, data: rdata), model: model)
}

/// Splits the units of each bundle (`bundles`: consecutive unit ranges) into chains of consecutive units, the
/// bundles cut into equal parts until there are at least `minimumCount` chains or every unit is its own chain.
func unitChains(_ bundles: [Range<Int>], minimumCount: Int) -> [Range<Int>] {
    let longest = bundles.map(\.count).max() ?? 0
    var parts = 1
    while parts < longest && bundles.count * parts < minimumCount { parts += 1 }
    var chains: [Range<Int>] = []
    for bundle in bundles {
        let n = min(parts, bundle.count)
        for i in 0..<n {   // part i: units [i * count / n, (i + 1) * count / n) of the bundle
            chains.append((bundle.lowerBound + i * bundle.count / n)..<(bundle.lowerBound + (i + 1) * bundle.count / n))
        }
    }
    return chains
}
