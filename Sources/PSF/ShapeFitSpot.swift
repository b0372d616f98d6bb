import Foundation
import LinearAlgebra

/// One arc line of one fiber in the Gauss-Hermite shape fit: its stamp on the CCD (specex's and specter's
/// (2 HSIZEY + 1) x (2 HSIZEX + 1) box, clipped to the image) and the pixel-integrated Hermite functions of its
/// centre and core sigmas, which the shape fit keeps fixed (traces and GHSIGX/GHSIGY are fitted by the line fits).
/// The spot is  flux * [ sum_ij GH-i-j fx_i(x) fy_j(y) + TAILAMP tail(x, y) ], linear in GH-i-j and TAILAMP.
struct ShapeFitSpot: Sendable {
    var fiber: Int
    var wavelength: Double
    var x0: Int, nx: Int, y0: Int, ny: Int
    /// Pixel-integrated Gauss-Hermite functions, row-major [degX + 1, nx] and [degY + 1, ny] (Hermite.pixelIntegrated).
    var fx: [Double], fy: [Double]
    /// The tail of unit amplitude at the pixel centres (TAILCORE, TAILXSCA, TAILYSCA, TAILINDE of the PSF), [ny * nx];
    /// empty when the PSF has no tail and the fit does not fit one.
    var tail: [Double]
    var flux = 0.0
    /// Flux error (from the flux fit with the shape fixed), 0 until measured.
    var fluxError = 0.0
    /// Used in the fit (on the CCD, enough unmasked pixels, S/N above the threshold).
    var used = true

    var npix: Int { nx * ny }

    /// The spot of `fiber` at `wavelength` of `psf`, or nil when its stamp misses the CCD or its centre is off it.
    init?(psf: GaussHermitePSF, fiber: Int, wavelength w: Double, withTail: Bool) {
        let xc = psf.x(fiber: fiber, wavelength: w), yc = psf.y(fiber: fiber, wavelength: w)
        guard xc.isFinite, yc.isFinite, xc >= 0, yc >= 0, xc < Double(psf.npixX), yc < Double(psf.npixY) else { return nil }
        let sx = psf.xsigma(fiber: fiber, wavelength: w), sy = psf.ysigma(fiber: fiber, wavelength: w)
        guard sx > 0.1, sy > 0.1 else { return nil }
        var (ax, cx) = psf.stampStart(xc, psf.halfSizeX)
        var (ay, cy) = psf.stampStart(yc, psf.halfSizeY)
        if ax < 0 { cx += ax; ax = 0 }
        if ay < 0 { cy += ay; ay = 0 }
        cx = min(cx, psf.npixX - ax); cy = min(cy, psf.npixY - ay)
        guard cx > 0, cy > 0 else { return nil }
        self.fiber = fiber; wavelength = w
        x0 = ax; nx = cx; y0 = ay; ny = cy
        let dx = psf.ghDegX, dy = psf.ghDegY
        var hx = [Double](repeating: 0, count: (dx + 1) * cx), hy = [Double](repeating: 0, count: (dy + 1) * cy)
        hx.withUnsafeMutableBufferPointer {
            Hermite.pixelIntegrated(first: ax, count: cx, centre: xc, sigma: sx, degree: dx, into: $0)
        }
        hy.withUnsafeMutableBufferPointer {
            Hermite.pixelIntegrated(first: ay, count: cy, centre: yc, sigma: sy, degree: dy, into: $0)
        }
        fx = hx; fy = hy
        let p = { (k: Int) in psf.parameters[k].traces.eval(fiber, w) }
        if withTail {
            var t = [Double](repeating: 0, count: cx * cy)
            t.withUnsafeMutableBufferPointer {
                GaussHermitePSF.addTail($0, nx: cx, ny: cy, x0: ax, y0: ay, xc: xc, yc: yc, amplitude: 1, core: p(psf.tailCore),
                                        xScale: p(psf.tailXSca), yScale: p(psf.tailYSca), index: p(psf.tailInde))
            }
            tail = t
        } else {
            tail = []
        }
    }

    /// The unit-flux profile on the stamp [ny * nx] for GH coefficients `gh` (index i * (degY + 1) + j) and tail
    /// amplitude `tailAmp` (no clipping of negatives and no normalisation to the stamp: the flux is free).
    func profile(gh: [Double], degX: Int, degY: Int, tailAmp: Double) -> [Double] {
        var out = [Double](repeating: 0, count: npix)
        var row = [Double](repeating: 0, count: nx)
        for j in 0...degY {
            for ix in 0..<nx { row[ix] = 0 }
            var any = false
            for i in 0...degX {
                let c = gh[i * (degY + 1) + j]
                if c == 0 { continue }
                any = true
                for ix in 0..<nx { row[ix] += c * fx[i * nx + ix] }
            }
            if !any { continue }
            for iy in 0..<ny {
                let f = fy[j * ny + iy]
                for ix in 0..<nx { out[iy * nx + ix] += f * row[ix] }
            }
        }
        if tailAmp != 0 && !tail.isEmpty { for k in 0..<npix { out[k] += tailAmp * tail[k] } }
        return out
    }
}
