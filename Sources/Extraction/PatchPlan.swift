import Foundation
import PSF

/// Splits `n` fibers into `nsub` sub-bundles (specter.extract.ex2d.split_bundle): sizes differ by at most one,
/// the smaller ones in the middle; each extracted range adds one neighbour on each side (except at the edges).
/// Returns (core, extract) index ranges relative to the bundle start.
public func splitBundle(_ n: Int, into nsub: Int) -> [(core: Range<Int>, extract: Range<Int>)] {
    precondition(nsub >= 1 && nsub <= n, "splitBundle: need 1 <= nsub <= n")
    // numpy.array_split: the first n % nsub parts have one more element.
    var sizes = (0..<nsub).map { $0 < n % nsub ? n / nsub + 1 : n / nsub }
    // Move smaller parts towards the middle (one bubble pass, as specter does).
    var i = 0
    while i < nsub - 1 {
        if sizes[i] > sizes[i + 1] { sizes.swapAt(i, i + 1) }
        i += 1
    }
    var out: [(core: Range<Int>, extract: Range<Int>)] = []
    var start = 0
    for s in sizes {
        let core = start..<(start + s)
        let lo = core.lowerBound > 0 ? core.lowerBound - 1 : core.lowerBound
        let hi = core.upperBound < n ? core.upperBound + 1 : core.upperBound
        out.append((core, lo..<hi))
        start += s
    }
    return out
}

/// Geometry of one divide-and-conquer patch: fibers to fit, the extended wavelength grid (global indices
/// on the output grid, possibly beyond it), the CCD pixel box, and which part is kept.
struct Patch: Sendable {
    /// Fibers fitted (PSF fiber indices).
    var fibers: Range<Int>
    /// Fibers whose results are kept.
    var coreFibers: Range<Int>
    /// Global wavelength indices fitted: wavelength = wave0 + k * dw.
    var waveIndices: Range<Int>
    /// Global wavelength indices kept.
    var coreWaveIndices: Range<Int>
    /// Pixel box [xmin, xmax) x [ymin, ymax).
    var xmin: Int, xmax: Int, ymin: Int, ymax: Int

    var nx: Int { xmax - xmin }
    var ny: Int { ymax - ymin }
    var nspec: Int { fibers.count }
    var nwave: Int { waveIndices.count }
    /// Offset of the kept wavelengths inside the fitted ones.
    var coreWaveOffset: Int { coreWaveIndices.lowerBound - waveIndices.lowerBound }
}

/// The regular wavelength grid of an extraction, wave[k] = wave0 + k * dw, also for k outside 0..<count.
public struct WaveGrid: Sendable, Equatable {
    public var wave0: Double
    public var dw: Double
    public var count: Int

    public init(wave0: Double, dw: Double, count: Int) {
        self.wave0 = wave0; self.dw = dw; self.count = count
    }

    /// desispec's grid: np.arange(wmin, wmax + 0.5*dw, dw).
    public init(wmin: Double, wmax: Double, dw: Double) {
        precondition(dw > 0 && wmax >= wmin)
        self.init(wave0: wmin, dw: dw, count: Int(((wmax + 0.5 * dw - wmin) / dw).rounded(.up)))
    }

    @inlinable public func wavelength(_ k: Int) -> Double { wave0 + Double(k) * dw }
    public var wavelengths: [Double] { (0..<count).map { wavelength($0) } }
}

/// PSFs that know the Gaussian sigma of their core along the dispersion (specter's PSF.ysigma), in pixels.
protocol DispersionSigmaPSF {
    func ysigma(fiber: Int, wavelength: Double) -> Double
}
extension GaussHermitePSF: DispersionSigmaPSF {}
extension TraceOnlyPSF: DispersionSigmaPSF {}

/// Geometry helpers on a PSF: the parts of specter.psf.PSF that specter.extract.ex2d uses, with specter's
/// conventions (slices of PSF.xypix, PSF.xyrange, wdisp), so that patches cover the same pixels and wavelengths.
struct PatchGeometry: Sendable {
    let psf: any SpectralPSF
    let grid: WaveGrid
    let options: ExtractionOptions
    /// Wavelength of each fiber at the CCD edges y = -0.5 and y = npixY - 0.5 (specter's _wmin_spec, _wmax_spec):
    /// outside, a fiber has no spot.
    let wminSpec: [Double]
    let wmaxSpec: [Double]
    /// Smallest and largest wavelength seen by any fiber (specter's PSF.wmin, PSF.wmax).
    let wmin: Double
    let wmax: Double
    /// Size of a typical spot (rows, columns), specter's `spotsize`: fiber 0 at the middle of the range seen by all fibers.
    let spotRows: Int
    let spotCols: Int
    /// Half number of resolution diagonals kept.
    let ndiagHalf: Int

    init(psf: any SpectralPSF, grid: WaveGrid, fibers: Range<Int>, options: ExtractionOptions) {
        self.psf = psf; self.grid = grid; self.options = options
        let top = Double(psf.npixY) - 0.5
        wminSpec = (0..<psf.nspec).map { psf.wavelength(fiber: $0, y: -0.5) }
        wmaxSpec = (0..<psf.nspec).map { psf.wavelength(fiber: $0, y: top) }
        wmin = wminSpec.min() ?? psf.wavemin
        wmax = wmaxSpec.max() ?? psf.wavemax
        let wminAll = wminSpec.max() ?? psf.wavemin, wmaxAll = wmaxSpec.min() ?? psf.wavemax
        let spot = psf.spot(fiber: 0, wavelength: 0.5 * (wminAll + wmaxAll))
        // PSF.pix clips the stamp to the CCD
        spotRows = max(0, min(spot.y0 + spot.ny, psf.npixY) - max(spot.y0, 0))
        spotCols = max(0, min(spot.x0 + spot.nx, psf.npixX) - max(spot.x0, 0))
        if let nd = options.ndiag {
            ndiagHalf = nd / 2
        } else {
            // specter: 9 sigma (in wavelength) of the widest of a few sampled spots, at most half a spot.
            var h = 0
            let sampleFibers = [fibers.lowerBound, fibers.lowerBound + fibers.count / 2, fibers.upperBound - 1]
            for f in sampleFibers {
                for w in [wmin, 0.5 * (wmin + wmax), wmax] {
                    let sigma = PatchGeometry.dispersionSigma(psf: psf, fiber: f, wavelength: w)
                    h = max(h, Int((9.0 * sigma / grid.dw).rounded(.toNearestOrEven)))   // numpy round
                }
            }
            ndiagHalf = min(h, spotRows / 2, spotCols / 2)
        }
    }

    /// Gaussian sigma of a spot along the dispersion in Angstrom (specter's PSF.wdisp): ysigma in pixels times
    /// the Angstroms per pixel (np.gradient of the wavelength of each CCD row, interpolated). PSFs without a
    /// ysigma use the second moment of the spot's rows.
    static func dispersionSigma(psf: any SpectralPSF, fiber: Int, wavelength w: Double) -> Double {
        let sigmaPix: Double
        if let p = psf as? any DispersionSigmaPSF {
            sigmaPix = p.ysigma(fiber: fiber, wavelength: w)
        } else {
            let s = psf.spot(fiber: fiber, wavelength: w)
            var sum = 0.0, sy = 0.0, syy = 0.0
            for i in 0..<s.ny {
                var r = 0.0
                for j in 0..<s.nx { r += s.values[i * s.nx + j] }
                let y = Double(s.y0 + i)
                sum += r; sy += r * y; syy += r * y * y
            }
            guard sum > 0 else { return 0 }
            let mean = sy / sum
            sigmaPix = max(0, syy / sum - mean * mean).squareRoot()
        }
        return sigmaPix * angstromsPerPixel(psf: psf, fiber: fiber, wavelength: w)
    }

    /// specter's PSF.angstroms_per_pixel: np.interp(w, ww, np.gradient(ww)) with ww the wavelength of each row.
    static func angstromsPerPixel(psf: any SpectralPSF, fiber: Int, wavelength w: Double) -> Double {
        let n = psf.npixY
        guard n >= 2 else { return 0 }
        let wave = { (row: Int) in psf.wavelength(fiber: fiber, y: Double(row)) }
        func gradient(_ j: Int) -> Double {
            if j == 0 { return wave(1) - wave(0) }
            if j == n - 1 { return wave(n - 1) - wave(n - 2) }
            return 0.5 * (wave(j + 1) - wave(j - 1))
        }
        if w <= wave(0) { return gradient(0) }
        if w >= wave(n - 1) { return gradient(n - 1) }
        // bracketing rows: start from the trace position and walk (wavelength increases with the row)
        var j = min(max(Int(psf.y(fiber: fiber, wavelength: w).rounded(.down)), 0), n - 2)
        while j > 0 && wave(j) > w { j -= 1 }
        while j < n - 2 && wave(j + 1) < w { j += 1 }
        let w0 = wave(j), w1 = wave(j + 1)
        let t = w1 > w0 ? (w - w0) / (w1 - w0) : 0
        return gradient(j) + t * (gradient(j + 1) - gradient(j))
    }

    /// The spot of a fiber, nil where specter's PSF.xypix has none (wavelength beyond the fiber's CCD edges).
    func spot(fiber: Int, wavelength w: Double) -> PSFSpot? {
        (w < wminSpec[fiber] || w > wmaxSpec[fiber]) ? nil : psf.spot(fiber: fiber, wavelength: w)
    }

    /// The (x, y) slices of specter's PSF.xypix(fiber, w) on the whole CCD: the stamp clipped to the CCD, empty
    /// slices at the edge it falls off.
    func xypixSlices(fiber: Int, wavelength w: Double) -> (x: Range<Int>, y: Range<Int>) {
        let nx = psf.npixX, ny = psf.npixY
        guard let s = spot(fiber: fiber, wavelength: w) else {
            return w < wminSpec[fiber] ? (0..<0, 0..<0) : (0..<0, ny..<ny)
        }
        let xlo = s.x0, xhi = s.x0 + s.nx, ylo = s.y0, yhi = s.y0 + s.ny
        if ylo >= ny { return (0..<0, ny..<ny) }
        if yhi < 0 { return (0..<0, 0..<0) }
        if xlo >= nx { return (nx..<nx, 0..<0) }
        if xhi <= 0 { return (0..<0, 0..<0) }
        let xa = max(xlo, 0), xb = min(xhi, nx), ya = max(ylo, 0), yb = min(yhi, ny)
        return (xa..<max(xa, xb), ya..<max(ya, yb))
    }

    /// Recommended pixel box covering fibers `fibers` over [wlo, whi] (specter.psf.PSF.xyrange): rows from the
    /// spot of the fiber lowest at wlo to that of the fiber highest at whi; columns from the spot where the first
    /// fiber is leftmost to the spot where the last fiber is rightmost, checking the trace at every CCD row.
    func xyRange(fibers: Range<Int>, wlo: Double, whi: Double) -> (xmin: Int, xmax: Int, ymin: Int, ymax: Int) {
        let wa = max(wlo, wmin), wb = min(whi, wmax)
        var fLow = fibers.lowerBound, fHigh = fibers.lowerBound
        var yLow = Double.infinity, yHigh = -Double.infinity
        for f in fibers {
            let ya = psf.y(fiber: f, wavelength: wa), yb = psf.y(fiber: f, wavelength: wb)
            if ya < yLow { yLow = ya; fLow = f }          // np.argmin: first of equal values
            if yb > yHigh { yHigh = yb; fHigh = f }
        }
        let ymin = xypixSlices(fiber: fLow, wavelength: wa).y.lowerBound
        let ymax = xypixSlices(fiber: fHigh, wavelength: wb).y.upperBound

        // Wavelengths of the CCD rows of a fiber within [wa, wb], plus wa and wb; the (x, w) of those on the CCD.
        func traceSamples(fiber: Int, yLowerEdge: Double) -> [(x: Double, w: Double)] {
            let n = psf.npixY
            var ws: [Double] = []
            // rows are in increasing wavelength: walk from near the row of wa
            var j = min(max(Int(psf.y(fiber: fiber, wavelength: wa).rounded(.down)) - 2, 0), n - 1)
            while j > 0 && psf.wavelength(fiber: fiber, y: Double(j)) >= wa { j -= 1 }
            while j < n {
                let w = psf.wavelength(fiber: fiber, y: Double(j))
                if w > wb { break }
                if w >= wa { ws.append(w) }
                j += 1
            }
            ws.append(wa); ws.append(wb)
            var out: [(x: Double, w: Double)] = []
            for w in ws {
                let y = psf.y(fiber: fiber, wavelength: w)
                if yLowerEdge <= y && y < Double(n) - 0.5 { out.append((psf.x(fiber: fiber, wavelength: w), w)) }
            }
            return out
        }
        var xmin = 0
        let first = traceSamples(fiber: fibers.lowerBound, yLowerEdge: 0.5)   // specter: 0 <= y - 0.5
        if let lo = first.min(by: { $0.x < $1.x }), lo.x >= 0 {
            xmin = xypixSlices(fiber: fibers.lowerBound, wavelength: lo.w).x.lowerBound
        }
        var xmax = psf.npixX
        let last = traceSamples(fiber: fibers.upperBound - 1, yLowerEdge: -0.5)
        if let hi = last.max(by: { $0.x < $1.x }), hi.x <= Double(psf.npixX) {
            // specter uses the stamp unclipped here (_xypix); clipped to the CCD as the image is
            let s = psf.spot(fiber: fibers.upperBound - 1, wavelength: hi.w)
            xmax = min(s.x0 + s.nx, psf.npixX)
        }
        return (xmin, xmax, ymin, ymax)
    }

    /// The patch for sub-bundle `extract` (core `core`) and core wavelength indices starting at `iwave`
    /// (specter.extract.ex2d's loop body).
    func patch(extract: Range<Int>, core: Range<Int>, iwave: Int) -> Patch {
        let ncore = min(options.waveStep, grid.count - iwave)
        let wlo = grid.wavelength(iwave), whi = grid.wavelength(iwave + ncore - 1)
        var (xmin, xmax, ylo, yhi) = xyRange(fibers: extract, wlo: wlo, whi: whi)
        let extraY = Int((options.pixPadFraction * Double(spotRows)).rounded(.toNearestOrEven))   // Python round
        ylo = max(0, ylo - extraY)
        yhi = min(psf.npixY, yhi + extraY)
        if xmax < xmin { xmax = xmin }
        if yhi < ylo { yhi = ylo }
        let pad = Int(options.wavePadFraction * Double(spotRows))
        let f0 = extract.lowerBound
        let wAtLow = psf.wavelength(fiber: f0, y: Double(ylo - pad))
        let wAtHigh = psf.wavelength(fiber: f0, y: Double(yhi + pad))
        let nlo = max(Int((wlo - wAtLow) / grid.dw) - 1, ndiagHalf)
        let nhi = max(Int((wAtHigh - whi) / grid.dw) - 1, ndiagHalf)
        return Patch(fibers: extract, coreFibers: core,
                     waveIndices: (iwave - nlo)..<(iwave + ncore + nhi),
                     coreWaveIndices: iwave..<(iwave + ncore),
                     xmin: xmin, xmax: xmax, ymin: ylo, ymax: yhi)
    }
}
