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

/// Geometry helpers on a PSF (the parts of specter.psf.PSF that ex2d needs).
struct PatchGeometry: Sendable {
    let psf: any SpectralPSF
    let grid: WaveGrid
    let options: ExtractionOptions
    /// Size of a typical spot (rows, columns), specter's `spotsize`.
    let spotRows: Int
    let spotCols: Int
    /// Half number of resolution diagonals kept.
    let ndiagHalf: Int

    init(psf: any SpectralPSF, grid: WaveGrid, fibers: Range<Int>, options: ExtractionOptions) {
        self.psf = psf; self.grid = grid; self.options = options
        let wmid = 0.5 * (psf.wavemin + psf.wavemax)
        let spot = psf.spot(fiber: 0, wavelength: wmid)
        spotRows = spot.ny; spotCols = spot.nx
        if let nd = options.ndiag {
            ndiagHalf = nd / 2
        } else {
            // specter: 9 sigma (in wavelength) of the largest spot of a few samples, at most half a spot.
            var h = 0
            let sampleFibers = [fibers.lowerBound, fibers.lowerBound + fibers.count / 2, fibers.upperBound - 1]
            for f in sampleFibers {
                for w in [psf.wavemin, wmid, psf.wavemax] {
                    let sigma = PatchGeometry.dispersionSigma(psf: psf, fiber: f, wavelength: w)
                    h = max(h, Int((9.0 * sigma / grid.dw).rounded()))
                }
            }
            ndiagHalf = min(h, spotRows / 2, spotCols / 2)
        }
    }

    /// Gaussian sigma of a spot along the dispersion, in Angstrom (specter's wdisp): second moment of the
    /// stamp in rows times Angstrom per row.
    static func dispersionSigma(psf: any SpectralPSF, fiber: Int, wavelength w: Double) -> Double {
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
        let sigmaPix = max(0, syy / sum - mean * mean).squareRoot()
        let yc = psf.y(fiber: fiber, wavelength: w)
        let dwdy = abs(psf.wavelength(fiber: fiber, y: yc + 0.5) - psf.wavelength(fiber: fiber, y: yc - 0.5))
        return sigmaPix * dwdy
    }

    /// Recommended pixel box covering fibers `fibers` over [wlo, whi] (specter.psf.PSF.xyrange).
    func xyRange(fibers: Range<Int>, wlo: Double, whi: Double) -> (xmin: Int, xmax: Int, ymin: Int, ymax: Int) {
        let wa = max(wlo, psf.wavemin), wb = min(whi, psf.wavemax)
        var ymin = Int.max, ymax = Int.min
        for f in fibers {
            let s0 = psf.spot(fiber: f, wavelength: wa)
            ymin = min(ymin, s0.y0)
            let s1 = psf.spot(fiber: f, wavelength: wb)
            ymax = max(ymax, s1.y0 + s1.ny)
        }
        ymin = max(0, ymin); ymax = min(psf.npixY, ymax)
        // x extremes of the first and last fiber over the range, sampled every few rows.
        func extreme(fiber: Int, lowest: Bool) -> Int {
            let ya = psf.y(fiber: fiber, wavelength: wa), yb = psf.y(fiber: fiber, wavelength: wb)
            let nsample = max(2, Int(abs(yb - ya) / 4) + 2)
            var best = lowest ? Double.infinity : -Double.infinity
            var bestW = wa
            for i in 0..<nsample {
                let w = wa + (wb - wa) * Double(i) / Double(nsample - 1)
                let y = psf.y(fiber: fiber, wavelength: w)
                guard y >= -0.5 && y < Double(psf.npixY) - 0.5 else { continue }
                let x = psf.x(fiber: fiber, wavelength: w)
                if lowest ? x < best : x > best { best = x; bestW = w }
            }
            let s = psf.spot(fiber: fiber, wavelength: bestW)
            return lowest ? s.x0 : s.x0 + s.nx
        }
        let xmin = max(0, extreme(fiber: fibers.lowerBound, lowest: true))
        let xmax = min(psf.npixX, extreme(fiber: fibers.upperBound - 1, lowest: false))
        return (xmin, xmax, ymin, ymax)
    }

    /// The patch for sub-bundle `extract` (core `core`) and core wavelength indices starting at `iwave`
    /// (specter.extract.ex2d's loop body).
    func patch(extract: Range<Int>, core: Range<Int>, iwave: Int) -> Patch {
        let ncore = min(options.waveStep, grid.count - iwave)
        let wlo = grid.wavelength(iwave), whi = grid.wavelength(iwave + ncore - 1)
        var (xmin, xmax, ylo, yhi) = xyRange(fibers: extract, wlo: wlo, whi: whi)
        let extraY = Int((options.pixPadFraction * Double(spotRows)).rounded())
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
