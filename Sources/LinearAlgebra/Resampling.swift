import Foundation

// Flux-conserving resampling of spectra (desispec.interpolation.resample_flux) and the bin widths it needs.

extension Interpolation {

    /// Flux-conserving resampling of a flux density (desispec.interpolation.resample_flux, unweighted).
    ///
    /// The input is read as the nodes of a piecewise-linear function; each output value is the mean of that
    /// function over the output bin, whose edges are the midpoints between output nodes (end bins extend by half
    /// a step). Outside the input range the function falls linearly to zero over one input step, or keeps the
    /// edge value when `extrapolate`. Both grids must be sorted increasing.
    public static func resampleFlux(xout: [Double], x: [Double], flux y: [Double], extrapolate: Bool = false) -> [Double] {
        let n = xout.count
        guard n > 0, x.count >= 2, y.count == x.count else { return [Double](repeating: 0, count: n) }
        // input nodes, extended as desispec does
        var ix = x, iy = y
        if !extrapolate {
            ix.insert(2 * x[0] - x[1], at: 0); iy.insert(0, at: 0)
            ix.append(2 * x[x.count - 1] - x[x.count - 2]); iy.append(0)
        }
        let edges = resamplingEdges(xout, inputStep: (ix[ix.count - 1] - ix[0]) / Double(ix.count - 1))
        // cumulative integral of the piecewise-linear function at each edge
        let m = ix.count
        var cum = [Double](repeating: 0, count: n + 1)
        ix.withUnsafeBufferPointer { px in
            iy.withUnsafeBufferPointer { py in
                var k = 0              // segment index: px[k] <= t < px[k+1]
                var acc = 0.0          // integral from px[0] to px[k]
                for e in 0...n {
                    let t = edges[e]
                    if t <= px[0] {
                        cum[e] = (t - px[0]) * py[0]   // constant extension (0 unless extrapolating)
                        continue
                    }
                    while k < m - 2 && px[k + 1] <= t {
                        acc += 0.5 * (py[k] + py[k + 1]) * (px[k + 1] - px[k]); k += 1
                    }
                    if t >= px[m - 1] {
                        // whole function plus constant extension beyond the last node
                        var total = acc
                        if px[k + 1] > px[k] { total += 0.5 * (py[k] + py[k + 1]) * (px[k + 1] - px[k]) }
                        cum[e] = total + (t - px[m - 1]) * py[m - 1]
                    } else {
                        cum[e] = acc + 0.5 * (py[k] + linear(px, py, at: t)) * (t - px[k])
                    }
                }
            }
        }
        var out = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let w = edges[j + 1] - edges[j]
            out[j] = w > 0 ? (cum[j + 1] - cum[j]) / w : 0
        }
        return out
    }

    /// Edges of the output bins of `resampleFlux`: midpoints between nodes, the end bins extended by half a step
    /// (1.5 x0 - 0.5 x1, as desispec writes it); a single node gets a bin of one `inputStep`.
    private static func resamplingEdges(_ xout: [Double], inputStep: Double) -> [Double] {
        let n = xout.count
        var edges = [Double](repeating: 0, count: n + 1)
        if n == 1 {
            edges[0] = xout[0] - inputStep / 2; edges[1] = xout[0] + inputStep / 2
        } else {
            for j in 1..<n { edges[j] = 0.5 * (xout[j - 1] + xout[j]) }
            edges[0] = 1.5 * xout[0] - 0.5 * xout[1]
            edges[n] = 1.5 * xout[n - 1] - 0.5 * xout[n - 2]
        }
        return edges
    }

    /// Weighted resampling (desispec resample_flux with ivar): flux = R(f*ivar)/R(ivar); ivar = R(ivar/dx)*dxout,
    /// with R the unweighted resampling and dx, dxout the bin widths (`gradient`) of the two grids.
    public static func resampleFlux(xout: [Double], x: [Double], flux y: [Double],
                                    ivar: [Double]) -> (flux: [Double], ivar: [Double]) {
        let fy = zip(y, ivar).map { $0 * $1 }
        let a = resampleFlux(xout: xout, x: x, flux: fy)
        let b = resampleFlux(xout: xout, x: x, flux: ivar)
        var flux = [Double](repeating: 0, count: xout.count)
        for j in 0..<xout.count where b[j] > 0 { flux[j] = a[j] / b[j] }
        let dx = gradient(x), dxo = gradient(xout)
        let ivdx = zip(ivar, dx).map { $1 != 0 ? $0 / $1 : 0 }
        var oiv = resampleFlux(xout: xout, x: x, flux: ivdx)
        for j in 0..<oiv.count { oiv[j] *= dxo[j] }
        return (flux, oiv)
    }

    /// numpy.gradient of a 1-D grid with unit spacing in index (central differences, one-sided at the ends):
    /// the width of each pixel of a wavelength grid.
    public static func gradient(_ x: [Double]) -> [Double] {
        let n = x.count
        guard n >= 2 else { return [Double](repeating: 0, count: n) }
        var g = [Double](repeating: 0, count: n)
        g[0] = x[1] - x[0]; g[n - 1] = x[n - 1] - x[n - 2]
        if n > 2 { for i in 1..<(n - 1) { g[i] = 0.5 * (x[i + 1] - x[i - 1]) } }
        return g
    }
}
