import Foundation
import LinearAlgebra

/// The spot of one arc line in one fiber with the shape of a GAUSS-HERMITE PSF frozen at that (fiber, wavelength)
/// (GH-i-j, tail, second core), but with a free centre (xc, yc) and free core sigmas (sx, sy): the model the PSF
/// fit adjusts to the arc image. Same terms as GaussHermitePSF.spot (pixel-integrated Gauss-Hermite core, tail at
/// pixel centres, negatives clipped) except the normalisation to the stamp: the fit has a free flux per line.
struct ArcLineShape: Sendable {
    var wavelength: Double
    /// Centre and core sigmas predicted by the PSF.
    var x: Double, y: Double, sx: Double, sy: Double
    var degX: Int, degY: Int
    /// GH-i-j at index i * (degY + 1) + j.
    var gh: [Double]
    var tailAmp: Double, tailCore: Double, tailXSca: Double, tailYSca: Double, tailInde: Double
    var second: Second?

    /// Second core of GAUSS-HERMITE2 PSFs, kept as is (sigmas in pixels not refitted); the first core is cut at
    /// `nsig` of its sigmas.
    struct Second: Sendable {
        var degX: Int, degY: Int, sx: Double, sy: Double, nsig: Double
        var gh: [Double]
    }

    init(psf: GaussHermitePSF, fiber: Int, wavelength w: Double) {
        func p(_ k: Int) -> Double { psf.parameters[k].traces.eval(fiber, w) }
        wavelength = w
        x = psf.xTrace.eval(fiber, w); y = psf.yTrace.eval(fiber, w)
        sx = p(psf.sigX); sy = p(psf.sigY)
        degX = psf.ghDegX; degY = psf.ghDegY
        gh = psf.ghIndex.map(p)
        tailAmp = p(psf.tailAmp); tailCore = p(psf.tailCore); tailXSca = p(psf.tailXSca)
        tailYSca = p(psf.tailYSca); tailInde = p(psf.tailInde)
        if let c2 = psf.core2 {
            second = Second(degX: c2.degX, degY: c2.degY, sx: p(c2.sigX), sy: p(c2.sigY), nsig: p(c2.nsig), gh: c2.ghIndex.map(p))
        }
    }

    /// Adds `scale` times the spot centred at (xc, yc) with core sigmas (sx, sy) to `out`, a window of
    /// `ny` rows from `y0` and `nx` columns from `x0`, row-major.
    func render(x0: Int, nx: Int, y0: Int, ny: Int, xc: Double, yc: Double, sx: Double, sy: Double, scale: Double,
                into out: UnsafeMutableBufferPointer<Double>) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: nx * ny) { v in
            for k in 0..<(nx * ny) { v[k] = 0 }
            GaussHermiteCore.render(into: v, x0: x0, nx: nx, y0: y0, ny: ny, xc: xc, yc: yc, sx: sx, sy: sy, degX: degX, degY: degY,
                                    coefficients: gh, cutSigmas: second.map { $0.nsig })
            if let s = second {
                GaussHermiteCore.render(into: v, x0: x0, nx: nx, y0: y0, ny: ny, xc: xc, yc: yc, sx: s.sx, sy: s.sy,
                                        degX: s.degX, degY: s.degY, coefficients: s.gh)
            }
            if tailAmp != 0 {
                GaussHermitePSF.addTail(v, nx: nx, ny: ny, x0: x0, y0: y0, xc: xc, yc: yc, amplitude: tailAmp, core: tailCore,
                                        xScale: tailXSca, yScale: tailYSca, index: tailInde)
            }
            for k in 0..<(nx * ny) where v[k] > 0 { out[k] += scale * v[k] }
        }
    }
}
