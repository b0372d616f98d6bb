import DESICore
import Foundation
import LinearAlgebra

/// What the fit of one group of arc lines in one fiber measured, relative to the PSF it started from.
public struct ArcLineMeasurement: Sendable {
    public var fiber: Int
    /// Wavelengths of the lines fitted together (a blend when more than one).
    public var wavelengths: [Double]
    /// Flux-weighted mean wavelength of the group: where the offsets below apply.
    public var wavelength: Double
    /// Offsets of the measured centres from the PSF's x(wavelength), y(wavelength), pixels, and their errors.
    public var dx: Double, dy: Double, dxError: Double, dyError: Double
    /// Measured core sigma / the PSF's GHSIGX (GHSIGY), and errors; nil when the sigmas were held (blends).
    public var sigmaXRatio: Double?, sigmaYRatio: Double?, sigmaXRatioError: Double?, sigmaYRatioError: Double?
    /// Total line flux (electrons) and its signal-to-noise ratio.
    public var flux: Double, snr: Double
    public var chi2: Double, ndof: Int
    /// Measured centre (pixels).
    public var x: Double, y: Double
}

/// Options of the line fits.
struct ArcLineFitSettings: Sendable {
    /// Half width of the fit window across the dispersion, pixels (limited by the distance to the next fibers).
    var halfWidthX = 3
    /// Fit the core sigmas of isolated lines.
    var fitSigma = true
    /// Most lines fitted together.
    var maxBlend = 6
}

/// Groups the lines of one fiber whose windows overlap, fits each group on the image and returns the measurements
/// (the core of specex's spot fits, reduced to centre, sigmas and fluxes; see PSFFit).
func measureArcLines(image: Image, psf: GaussHermitePSF, fiber: Int, lines: [ArcLine], settings: ArcLineFitSettings,
                     useReadNoise: Bool) -> [ArcLineMeasurement] {
    let ny = image.ny, nx = image.nx
    // Lines inside the PSF's domain, with the shapes the PSF predicts.
    var shapes = [ArcLineShape]()
    for l in lines where l.wavelength > psf.wavemin && l.wavelength < psf.wavemax {
        let s = ArcLineShape(psf: psf, fiber: fiber, wavelength: l.wavelength)
        guard s.x.isFinite, s.y.isFinite, s.sx > 0.1, s.sy > 0.1 else { continue }
        shapes.append(s)
    }
    shapes.sort { $0.y < $1.y }
    // Window half heights: 3 sigmas and a pixel; groups: lines closer than two half heights plus 2 rows.
    let hy = { (s: ArcLineShape) -> Int in max(3, Int((3 * s.sy).rounded(.up)) + 1) }
    var groups = [[ArcLineShape]]()
    for s in shapes {
        if let last = groups.last?.last, s.y - last.y < Double(hy(last) + hy(s) + 2) {
            groups[groups.count - 1].append(s)
        } else {
            groups.append([s])
        }
    }
    // Columns: the fit window stays within half the distance to the neighbouring fibers.
    var out = [ArcLineMeasurement]()
    for g in groups where g.count <= settings.maxBlend {
        let h = g.map(hy).max()!
        let y0 = Int(g.first!.y.rounded(.down)) - h, y1 = Int(g.last!.y.rounded(.up)) + h
        let xm = g.map(\.x).reduce(0, +) / Double(g.count)
        var hw = settings.halfWidthX
        for nb in [fiber - 1, fiber + 1] where nb >= 0 && nb < psf.nspec {
            let d = abs(psf.xTrace.eval(nb, g[0].wavelength) - g[0].x)
            hw = min(hw, Int((d / 2 - 0.5).rounded(.down)))
        }
        guard hw >= 2 else { continue }
        let x0 = Int(xm.rounded()) - hw, x1 = Int(xm.rounded()) + hw
        guard y0 >= 0, y1 < ny, x0 >= 0, x1 < nx else { continue }
        if let m = fitLineGroup(image: image, shapes: g, fiber: fiber, x0: x0, nx: x1 - x0 + 1, y0: y0, ny: y1 - y0 + 1,
                                fitSigma: settings.fitSigma && g.count == 1, useReadNoise: useReadNoise) {
            out.append(m)
        }
    }
    return out
}

/// Weighted non-linear least-squares fit of a group of lines on a window of the image: one flux per line, a
/// constant background, common offsets (dx, dy) of the centres and, when `fitSigma`, common factors on the core
/// sigmas. Gauss-Newton with numerical derivatives; pixel variances readnoise^2 + model (electrons) when
/// `useReadNoise`, else 1/ivar; masked pixels have no weight. Returns nil when the fit fails or the lines are
/// not seen (flux S/N < 3) or a masked pixel sits on a line core.
func fitLineGroup(image: Image, shapes: [ArcLineShape], fiber: Int, x0: Int, nx: Int, y0: Int, ny: Int,
                  fitSigma: Bool, useReadNoise: Bool) -> ArcLineMeasurement? {
    let npix = nx * ny
    var data = [Double](repeating: 0, count: npix), good = [Bool](repeating: false, count: npix)
    var rn2 = [Double](repeating: 0, count: npix), ivar = rn2
    for iy in 0..<ny {
        for ix in 0..<nx {
            let p = (y0 + iy) * image.nx + x0 + ix, k = iy * nx + ix
            data[k] = Double(image.pix[p])
            ivar[k] = Double(image.ivar[p])
            good[k] = image.mask[p] == 0 && image.ivar[p] > 0 && data[k].isFinite
            let r = Double(image.readnoise[p])
            rn2[k] = r * r
        }
    }
    let nl = shapes.count
    let nnl = fitSigma ? 4 : 2            // dx, dy (, sigma factors x, y)
    let npar = nl + 1 + nnl               // fluxes, background, non-linear
    guard good.filter({ $0 }).count > npar + 3 else { return nil }
    var dx = 0.0, dy = 0.0, fx = 1.0, fy = 1.0
    var flux = [Double](repeating: 0, count: nl), bkg = 0.0

    /// Unit-flux spots of every line at the current non-linear parameters, each [npix].
    func spots(_ dx: Double, _ dy: Double, _ fx: Double, _ fy: Double) -> [[Double]] {
        shapes.map { s in
            var v = [Double](repeating: 0, count: npix)
            v.withUnsafeMutableBufferPointer {
                s.render(x0: x0, nx: nx, y0: y0, ny: ny, xc: s.x + dx, yc: s.y + dy, sx: s.sx * fx, sy: s.sy * fy, scale: 1, into: $0)
            }
            return v
        }
    }
    func model(_ sp: [[Double]], _ flux: [Double], _ bkg: Double) -> [Double] {
        var m = [Double](repeating: bkg, count: npix)
        for l in 0..<nl { for k in 0..<npix { m[k] += flux[l] * sp[l][k] } }
        return m
    }
    func weights(_ m: [Double]) -> [Double] {
        (0..<npix).map { k in
            guard good[k] else { return 0 }
            if useReadNoise { return 1 / max(rn2[k] + max(m[k], 0), 1e-6) }
            return ivar[k]
        }
    }
    /// Solves the weighted normal equations for the columns `cols` (each [npix]) against `rhs`.
    func solve(_ cols: [[Double]], _ rhs: [Double], _ w: [Double]) -> (x: [Double], cov: Matrix)? {
        let n = cols.count
        var a = Matrix(rows: n, cols: n), b = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in i..<n {
                var s = 0.0
                for k in 0..<npix where w[k] > 0 { s += w[k] * cols[i][k] * cols[j][k] }
                a[i, j] = s; a[j, i] = s
            }
            var s = 0.0
            for k in 0..<npix where w[k] > 0 { s += w[k] * cols[i][k] * rhs[k] }
            b[i] = s
        }
        // Scale to unit diagonal so that fluxes (1e4) and offsets (1e-2) are solved alike.
        let d = (0..<n).map { a[$0, $0] > 0 ? 1 / a[$0, $0].squareRoot() : 0 }
        guard !d.contains(0) else { return nil }
        var s = a
        for i in 0..<n { for j in 0..<n { s[i, j] = a[i, j] * d[i] * d[j] } }
        guard let c = try? CholeskyFactor(s), let inv = try? c.inverse() else { return nil }
        let y = c.solve((0..<n).map { b[$0] * d[$0] })
        var cov = inv
        for i in 0..<n { for j in 0..<n { cov[i, j] = inv[i, j] * d[i] * d[j] } }
        return ((0..<n).map { y[$0] * d[$0] }, cov)
    }

    // Linear start: fluxes and background at the predicted positions, variances from the data.
    var sp = spots(dx, dy, fx, fy)
    var w = weights(data)
    let ones = [Double](repeating: 1, count: npix)
    guard let lin = solve(sp + [ones], data, w) else { return nil }
    flux = Array(lin.x[0..<nl]); bkg = lin.x[nl]
    var cov = lin.cov
    // No line seen at the predicted place (dead fiber, line absent from the lamps): stop before the non-linear fit.
    var var0 = 0.0
    for i in 0..<nl { for j in 0..<nl { var0 += cov[i, j] } }
    guard flux.reduce(0, +) > 2 * max(var0, 1e-30).squareRoot() else { return nil }
    var converged = false
    let h = 1e-3
    for _ in 0..<20 {
        let m = model(sp, flux, bkg)
        w = weights(m)
        let r = (0..<npix).map { data[$0] - m[$0] }
        // Derivatives of the model with respect to the non-linear parameters (central differences).
        var nlCols = [[Double]]()
        let steps: [(Double, Double, Double, Double)] = fitSigma
            ? [(h, 0, 0, 0), (0, h, 0, 0), (0, 0, h, 0), (0, 0, 0, h)] : [(h, 0, 0, 0), (0, h, 0, 0)]
        for (a, b, c, e) in steps {
            let mp = model(spots(dx + a, dy + b, fx + c, fy + e), flux, bkg)
            let mm = model(spots(dx - a, dy - b, fx - c, fy - e), flux, bkg)
            nlCols.append((0..<npix).map { (mp[$0] - mm[$0]) / (2 * h) })
        }
        guard let step = solve(sp + [ones] + nlCols, r, w) else { return nil }
        cov = step.cov
        for l in 0..<nl { flux[l] += step.x[l] }
        bkg += step.x[nl]
        // Limited steps: at most half a pixel, sigma factors by 20 %.
        let sdx = max(-0.5, min(0.5, step.x[nl + 1])), sdy = max(-0.5, min(0.5, step.x[nl + 2]))
        dx += sdx; dy += sdy
        var sfx = 0.0, sfy = 0.0
        if fitSigma {
            sfx = max(-0.2, min(0.2, step.x[nl + 3])); sfy = max(-0.2, min(0.2, step.x[nl + 4]))
            fx = min(max(fx + sfx, 0.5), 2); fy = min(max(fy + sfy, 0.5), 2)
        }
        guard abs(dx) < 3, abs(dy) < 3 else { return nil }
        sp = spots(dx, dy, fx, fy)
        if abs(sdx) < 1e-5 && abs(sdy) < 1e-5 && abs(sfx) < 1e-6 && abs(sfy) < 1e-6 { converged = true; break }
    }
    guard converged else { return nil }
    let m = model(sp, flux, bkg)
    w = weights(m)
    var chi2 = 0.0, nvalid = 0
    for k in 0..<npix where w[k] > 0 { chi2 += w[k] * (data[k] - m[k]) * (data[k] - m[k]); nvalid += 1 }
    // A masked pixel on a core (> 2 % of a line's light) could bias the centre: reject.
    for l in 0..<nl {
        var lost = 0.0, total = 0.0
        for k in 0..<npix { total += sp[l][k]; if !good[k] { lost += sp[l][k] } }
        if total > 0 && lost / total > 0.02 { return nil }
    }
    let total = flux.reduce(0, +)
    var varTotal = 0.0
    for i in 0..<nl { for j in 0..<nl { varTotal += cov[i, j] } }
    let snr = total / max(varTotal, 1e-30).squareRoot()
    guard snr > 3, total > 0 else { return nil }
    let wsum = zip(shapes, flux).reduce(0.0) { $0 + max($1.1, 0) }
    let wave = wsum > 0 ? zip(shapes, flux).reduce(0.0) { $0 + $1.0.wavelength * max($1.1, 0) } / wsum
                        : shapes.map(\.wavelength).reduce(0, +) / Double(nl)
    let ix = nl + 1
    let xc = shapes.map(\.x).reduce(0, +) / Double(nl) + dx, yc = shapes.map(\.y).reduce(0, +) / Double(nl) + dy
    return ArcLineMeasurement(
        fiber: fiber, wavelengths: shapes.map(\.wavelength), wavelength: wave,
        dx: dx, dy: dy, dxError: cov[ix, ix].squareRoot(), dyError: cov[ix + 1, ix + 1].squareRoot(),
        sigmaXRatio: fitSigma ? fx : nil, sigmaYRatio: fitSigma ? fy : nil,
        sigmaXRatioError: fitSigma ? cov[ix + 2, ix + 2].squareRoot() : nil,
        sigmaYRatioError: fitSigma ? cov[ix + 3, ix + 3].squareRoot() : nil,
        flux: total, snr: snr, chi2: chi2, ndof: max(nvalid - npar, 1), x: xc, y: yc)
}
