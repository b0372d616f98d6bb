import Foundation
import LinearAlgebra

/// The Gauss-Hermite core of a spot, sum_ij c_ij fx_i(x) fy_j(y) with fx, fy the pixel-integrated Gauss-Hermite
/// functions (specter's `pgh`), as specter's GaussHermitePSF._xypix and GaussHermite2PSF._xypix sum it: the one
/// implementation that the PSF's spots, the arc-line fits and the shape fit call.
enum GaussHermiteCore {
    /// The inner core of a GAUSS-HERMITE2 PSF is zeroed at pixels whose centre lies `nsig` or more sigmas from the
    /// spot's centre (specter gausshermite2: `core1 *= (r2 < ghnsig**2)`, r2 in units of GHSIGX, GHSIGY).
    struct Cut {
        var xc: Double, yc: Double, sx: Double, sy: Double, nsig: Double
        @inline(__always) func inside(_ x: Int, _ y: Int) -> Bool {
            let rx = (Double(x) - xc) / sx, ry = (Double(y) - yc) / sy
            return rx * rx + ry * ry < nsig * nsig
        }
    }

    /// Adds sum_ij c[i * (degY + 1) + j] fx[i * nx + ix] fy[j * ny + iy] to `out` [ny, nx] (row-major, first pixel
    /// (x0, y0)); with `cut`, only at the pixels inside it. Terms with c = 0 are skipped.
    static func add(into out: UnsafeMutableBufferPointer<Double>, fx: UnsafeBufferPointer<Double>, fy: UnsafeBufferPointer<Double>,
                    x0: Int, nx: Int, y0: Int, ny: Int, degX: Int, degY: Int, coefficients c: [Double], cut: Cut? = nil) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: nx) { row in
            for j in 0...degY {
                // row[ix] = sum_i c_ij fx_i(ix)
                for ix in 0..<nx { row[ix] = 0 }
                var any = false
                for i in 0...degX {
                    let cij = c[i * (degY + 1) + j]
                    if cij == 0 { continue }
                    any = true
                    let fxi = fx.baseAddress! + i * nx
                    for ix in 0..<nx { row[ix] += cij * fxi[ix] }
                }
                if !any { continue }
                for iy in 0..<ny {
                    let f = fy[j * ny + iy]
                    // the output row through a pointer (no index arithmetic with overflow checks in the loop, so
                    // the compiler vectorises it: the same product and sum for each pixel, the same bits)
                    let orow = out.baseAddress! + iy * nx
                    if let cut {
                        for ix in 0..<nx where cut.inside(x0 + ix, y0 + iy) { orow[ix] += f * row[ix] }
                    } else {
                        for ix in 0..<nx { orow[ix] += f * row[ix] }
                    }
                }
            }
        }
    }

    /// Adds the core centred at (xc, yc) with sigmas (sx, sy) to `out`, a window of `ny` rows from `y0` and `nx`
    /// columns from `x0`: the Hermite functions computed here, then `add`.
    static func render(into out: UnsafeMutableBufferPointer<Double>, x0: Int, nx: Int, y0: Int, ny: Int,
                       xc: Double, yc: Double, sx: Double, sy: Double, degX: Int, degY: Int, coefficients c: [Double],
                       cutSigmas: Double? = nil) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: (degX + 1) * nx) { fx in
        withUnsafeTemporaryAllocation(of: Double.self, capacity: (degY + 1) * ny) { fy in
            Hermite.pixelIntegrated(first: x0, count: nx, centre: xc, sigma: sx, degree: degX, into: fx)
            Hermite.pixelIntegrated(first: y0, count: ny, centre: yc, sigma: sy, degree: degY, into: fy)
            add(into: out, fx: UnsafeBufferPointer(fx), fy: UnsafeBufferPointer(fy), x0: x0, nx: nx, y0: y0, ny: ny,
                degX: degX, degY: degY, coefficients: c,
                cut: cutSigmas.map { Cut(xc: xc, yc: yc, sx: sx, sy: sy, nsig: $0) })
        }}
    }
}
