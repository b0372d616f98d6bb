import DESICore
import Foundation
import LinearAlgebra

/// Settings of the coarse scan of the trace offsets that runs before the fine PSF fit.
public struct CoarseScanOptions: Sendable {
    /// Largest offset searched across the dispersion (x, pixels).
    public var maxShiftX: Double
    /// Largest offset searched along the dispersion (y, pixels).
    public var maxShiftY: Double
    /// Half size (pixels) of the box around each predicted line centre used in the correlation.
    public var coreHalfSize = 3
    /// Largest difference (pixels) of a bundle's offset from the whole CCD's offset, in x and y: the per-bundle
    /// search stays within it (rotations and small distortions), which keeps a bundle from locking on its
    /// neighbouring fibers (7.3 pixels apart).
    public var bundleFreedom = 2
    /// How far past the y limit (pixels) the scan looks for a better match, to tell a start that is too far off
    /// (`checkNoBetterMatchBeyond`; in x it looks one fiber pitch + 2 pixels past the limit).
    public var beyondY = 10
    public init(maxShiftX: Double = 5, maxShiftY: Double = 10) { self.maxShiftX = maxShiftX; self.maxShiftY = maxShiftY }
}

/// Offsets of the traces found by the coarse scan: one for the whole CCD and one per bundle of fibers.
public struct CoarseScanResult: Sendable {
    public var dx: Double, dy: Double
    /// Per bundle (`bundleSize` fibers), and whether the bundle had a clear peak of its own (else the CCD's offset).
    public var bundleDx: [Double], bundleDy: [Double], bundleFound: [Bool]
    public var bundleSize: Int

    /// `psf` with each bundle's traces moved by its offset.
    public func apply(to psf: GaussHermitePSF) throws -> GaussHermitePSF {
        let size = max(1, bundleSize)
        return try psf.shifted(dx: { f, _ in bundleDx[min(f / size, bundleDx.count - 1)] },
                               dy: { f, _ in bundleDy[min(f / size, bundleDy.count - 1)] })
    }

    public var summary: String {
        let found = bundleFound.filter { $0 }.count
        return String(format: "coarse scan: traces offset by dx %+.2f dy %+.2f pixel; per bundle dx %+.2f..%+.2f, dy %+.2f..%+.2f",
                      dx, dy, bundleDx.min() ?? 0, bundleDx.max() ?? 0, bundleDy.min() ?? 0, bundleDy.max() ?? 0)
            + " (\(found)/\(bundleFound.count) bundles with their own peak)"
    }
}

/// The coarse scan before the fine fit (as specex's and desispec's first step: a cross-correlation of the image with
/// the line pattern the PSF predicts; see desispec.trace_shifts for the y part). For every integer offset (sx, sy)
/// within the limits (+1 pixel), each lamp line l gives, summed over the fibers f of a bundle,
///   C_l(sx, sy) = sum_f sum_p m_fl(p) d(p + s),   N_l = sum_f sum_p m_fl(p)^2,
/// with m_fl the PSF's spot of line l in fiber f cut to a box of +-`coreHalfSize` pixels about the predicted centre
/// and d the image (masked pixels 0); the bundle's score is sum_l max(C_l, 0)^2 / N_l: the chi2 decrease of a fit of
/// one flux per line common to the bundle's fibers, so the pattern of lines in wavelength fixes y and the pattern of
/// fibers (bundle edges, gaps) fixes x. The sum of the bundles' scores gives the CCD's offset (its maximum on the
/// integer grid, refined by a Gaussian through the neighbours); each bundle then takes the maximum of its own
/// score within `bundleFreedom` pixels of it, when that maximum is clear (see `peak`; not on the edge of the
/// window), else the CCD's offset. Throws when the image shows no line pattern at all, and when the pattern
/// matches better beyond the limits than inside them (`checkNoBetterMatchBeyond`: a start too far off).
public func coarseScan(image: Image, psf: GaussHermitePSF, lines: [ArcLine], options o: CoarseScanOptions,
                       bundleSize: Int, threads: Int) throws -> CoarseScanResult {
    let kx = Int(o.maxShiftX.rounded(.up)) + 1, ky = Int(o.maxShiftY.rounded(.up)) + 1
    let nsx = 2 * kx + 1, nsy = 2 * ky + 1
    let size = max(1, bundleSize), nb = (psf.nspec + size - 1) / size
    let waves = lines.map(\.wavelength).filter { $0 > psf.wavemin && $0 < psf.wavemax }
    let nx = image.nx, ny = image.ny
    let data: [Double] = (0..<(nx * ny)).map { k in
        image.mask[k] == 0 && image.ivar[k] > 0 && image.pix[k].isFinite ? Double(image.pix[k]) : 0
    }
    let scan = ScanInputs(data: data, nx: nx, ny: ny, psf: psf, waves: waves, h: o.coreHalfSize, bundleSize: size)
    let scores = scan.bundleGrids(xs: -kx...kx, ys: -ky...ky, threads: threads)
    var total = [Double](repeating: 0, count: nsx * nsy)
    for s in scores { for k in 0..<total.count { total[k] += s[k] } }
    let noPattern = DESIError.failed("no arc line pattern found in the image within \(kx - 1) pixels across and "
                                     + "\(ky - 1) pixels along the dispersion of the PSF's traces (no lamp lines in the "
                                     + "image, or a start farther off: --scan-max-dx, --scan-max-dy)")
    let best = peak(total, nsx: nsx, nsy: nsy, window: nil)
    // A better match beyond the limits (the start is too far off) is an error, not a lock on the wrong fibers.
    let level = Statistics.median(total), spread = Statistics.nmad(total)
    try scan.checkNoBetterMatchBeyond(limits: o, grid: total, kx: kx, ky: ky,
                                      centre: best.map { (Int($0.x.rounded()) - kx, Int($0.y.rounded()) - ky) } ?? (0, 0),
                                      significant: { $0 > 2 * level && $0 - level > 8 * spread }, threads: threads)
    guard let g = best, g.clear else { throw noPattern }
    var bdx = [Double](repeating: g.x - Double(kx), count: nb), bdy = [Double](repeating: g.y - Double(ky), count: nb)
    var found = [Bool](repeating: false, count: nb)
    let window = (x: Int(g.x.rounded()), y: Int(g.y.rounded()), r: o.bundleFreedom)
    for b in 0..<nb {
        if let p = peak(scores[b], nsx: nsx, nsy: nsy, window: window), p.clear {
            bdx[b] = p.x - Double(kx); bdy[b] = p.y - Double(ky); found[b] = true
        }
    }
    return CoarseScanResult(dx: g.x - Double(kx), dy: g.y - Double(ky), bundleDx: bdx, bundleDy: bdy, bundleFound: found,
                            bundleSize: size)
}

/// The maximum of a score grid (within `window` of a grid point when given), refined in x and in y by a Gaussian
/// through the maximum and its two neighbours; clear when the maximum is twice the median of the grid (the level
/// of unrelated overlaps and noise) and above it by 8 robust deviations of the grid (a pure-noise image has maxima of
/// 3-4), inside the window's edge and positive.
private func peak(_ s: [Double], nsx: Int, nsy: Int,
                  window: (x: Int, y: Int, r: Int)?) -> (x: Double, y: Double, clear: Bool, significant: Bool)? {
    var best = -1, bestValue = -Double.infinity
    for iy in 0..<nsy {
        for ix in 0..<nsx {
            if let w = window, abs(ix - w.x) > w.r || abs(iy - w.y) > w.r { continue }
            if s[iy * nsx + ix] > bestValue { bestValue = s[iy * nsx + ix]; best = iy * nsx + ix }
        }
    }
    guard best >= 0, bestValue > 0 else { return nil }
    let ix = best % nsx, iy = best / nsx
    func refine(_ a: Double?, _ b: Double, _ c: Double?) -> Double {
        guard let a, let c, a > 0, c > 0 else { return 0 }
        let la = log(a), lb = log(b), lc = log(c), d = la - 2 * lb + lc
        return d < 0 ? min(0.5, max(-0.5, 0.5 * (la - lc) / d)) : 0
    }
    let fx = refine(ix > 0 ? s[best - 1] : nil, bestValue, ix < nsx - 1 ? s[best + 1] : nil)
    let fy = refine(iy > 0 ? s[best - nsx] : nil, bestValue, iy < nsy - 1 ? s[best + nsx] : nil)
    let median = Statistics.median(s), spread = Statistics.nmad(s)
    let significant = bestValue > 2 * median && bestValue - median > 8 * spread
    var edge = ix == 0 || ix == nsx - 1 || iy == 0 || iy == nsy - 1
    if let w = window { edge = edge || abs(ix - w.x) == w.r || abs(iy - w.y) == w.r }
    return (Double(ix) + fx, Double(iy) + fy, significant && !edge, significant)
}
