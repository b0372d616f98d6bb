import Foundation
import LinearAlgebra

/// One arc line of one fiber in the Gauss-Hermite shape fit: its stamp on the CCD (specex's and specter's
/// (2 HSIZEY + 1) x (2 HSIZEX + 1) box, clipped to the image) and the pixel-integrated Hermite functions of its
/// centre and core sigmas, which the shape fit keeps fixed (traces and GHSIGX/GHSIGY are fitted by the line fits).
/// The spot is  flux * [ sum_ij GH-i-j fx_i(x) fy_j(y) + TAILAMP tail(x, y) ], linear in GH-i-j and TAILAMP; for a
/// GAUSS-HERMITE2 PSF the first core is cut at GHNSIG sigmas and the second core sum_ij GH2-i-j gx_i(x) gy_j(y)
/// (sigmas GHSIGX2, GHSIGY2) is added, linear in GH2-i-j (specter's GaussHermite2PSF).
struct ShapeFitSpot: Sendable {
    var fiber: Int
    var wavelength: Double
    var x0: Int, nx: Int, y0: Int, ny: Int
    /// Pixel-integrated Gauss-Hermite functions, row-major [degX + 1, nx] and [degY + 1, ny] (Hermite.pixelIntegrated).
    var fx: [Double], fy: [Double]
    /// The first core's cut (GAUSS-HERMITE2), nil for GAUSS-HERMITE.
    var cut: GaussHermiteCore.Cut?
    /// The second core's Hermite functions [degX2 + 1, nx] and [degY2 + 1, ny] (GAUSS-HERMITE2), empty otherwise.
    var fx2: [Double] = [], fy2: [Double] = []
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
        if let c2 = psf.core2 {
            cut = GaussHermiteCore.Cut(xc: xc, yc: yc, sx: sx, sy: sy, nsig: p(c2.nsig))
            let sx2 = p(c2.sigX), sy2 = p(c2.sigY)
            guard sx2 > 0.1, sy2 > 0.1 else { return nil }
            var gx = [Double](repeating: 0, count: (c2.degX + 1) * cx), gy = [Double](repeating: 0, count: (c2.degY + 1) * cy)
            gx.withUnsafeMutableBufferPointer {
                Hermite.pixelIntegrated(first: ax, count: cx, centre: xc, sigma: sx2, degree: c2.degX, into: $0)
            }
            gy.withUnsafeMutableBufferPointer {
                Hermite.pixelIntegrated(first: ay, count: cy, centre: yc, sigma: sy2, degree: c2.degY, into: $0)
            }
            fx2 = gx; fy2 = gy
        } else {
            cut = nil
        }
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

    /// The unit-flux profile on the stamp [ny * nx] for the core terms `c` (GH-i-j at i * (degY + 1) + j, then for
    /// GAUSS-HERMITE2 GH2-i-j at n1 + i * (degY2 + 1) + j, n1 = (degX + 1)(degY + 1)) and tail amplitude `tailAmp`
    /// (no clipping of negatives and no normalisation to the stamp: the flux is free).
    func profile(_ c: [Double], cores: ShapeFitCores, tailAmp: Double) -> [Double] {
        var out = [Double](repeating: 0, count: npix)
        out.withUnsafeMutableBufferPointer { o in
            fx.withUnsafeBufferPointer { hx in fy.withUnsafeBufferPointer { hy in
                GaussHermiteCore.add(into: o, fx: hx, fy: hy, x0: x0, nx: nx, y0: y0, ny: ny, degX: cores.degX, degY: cores.degY,
                                     coefficients: Array(c[0..<cores.n1]), cut: cut)
            }}
            if let d2 = cores.second {
                fx2.withUnsafeBufferPointer { hx in fy2.withUnsafeBufferPointer { hy in
                    GaussHermiteCore.add(into: o, fx: hx, fy: hy, x0: x0, nx: nx, y0: y0, ny: ny, degX: d2.x, degY: d2.y,
                                         coefficients: Array(c[cores.n1..<cores.nterm]))
                }}
            }
        }
        if tailAmp != 0 && !tail.isEmpty { for k in 0..<npix { out[k] += tailAmp * tail[k] } }
        return out
    }
}

/// The Gauss-Hermite degrees of the shape fit's cores: the first (GH-i-j) and, for GAUSS-HERMITE2, the second
/// (GH2-i-j); the core terms are numbered first core then second core.
struct ShapeFitCores: Sendable {
    var degX: Int, degY: Int
    var second: (x: Int, y: Int)?
    var n1: Int { (degX + 1) * (degY + 1) }
    var nterm: Int { n1 + (second.map { ($0.x + 1) * ($0.y + 1) } ?? 0) }

    init(_ psf: GaussHermitePSF) {
        degX = psf.ghDegX; degY = psf.ghDegY
        second = psf.core2.map { ($0.degX, $0.degY) }
    }

    /// Parameter indices of the core terms of `psf`, in this numbering.
    static func termParameters(_ psf: GaussHermitePSF) -> [Int] { psf.ghIndex + (psf.core2?.ghIndex ?? []) }
}
