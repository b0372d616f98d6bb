import DESICore
import Foundation
import LinearAlgebra

/// The image as the shape fit reads it (pixels, read-noise variances, usable pixels) and the fit's steps: the model
/// of every spot, the flux fit, one bundle's linear shape step and its chi2.
struct ShapeFitPixels: Sendable {
    let nx: Int, ny: Int
    let data: [Float], ivar: [Float], rn2: [Float]
    let good: [Bool]
    /// Variances from read noise + signal when the image has its read noise, else from its ivar.
    let useReadNoise: Bool

    init(image: Image) {
        nx = image.nx; ny = image.ny
        data = image.pix; ivar = image.ivar
        rn2 = image.readnoise.map { $0 * $0 }
        good = (0..<image.pix.count).map { image.mask[$0] == 0 && image.ivar[$0] > 0 && image.pix[$0].isFinite }
        useReadNoise = image.readnoise.contains { $0 > 0 }
    }

    /// Weight of pixel k for model value m (data value when `model` is nil).
    @inline(__always) func weight(_ k: Int, model m: Double?) -> Double {
        guard good[k] else { return 0 }
        guard useReadNoise else { return Double(ivar[k]) }
        return 1 / max(Double(rn2[k]) + max(m ?? Double(data[k]), 0), 1e-6)
    }

    /// The core terms (GH-i-j, then GH2-i-j for GAUSS-HERMITE2: ShapeFitCores) and TAILAMP of `psf` at a spot.
    static func coefficients(_ psf: GaussHermitePSF, _ s: ShapeFitSpot) -> (gh: [Double], tail: Double) {
        (ShapeFitCores.termParameters(psf).map { psf.parameters[$0].traces.eval(s.fiber, s.wavelength) },
         psf.parameters[psf.tailAmp].traces.eval(s.fiber, s.wavelength))
    }

    static func profile(_ psf: GaussHermitePSF, _ s: ShapeFitSpot) -> [Double] {
        let c = coefficients(psf, s)
        return s.profile(c.gh, cores: ShapeFitCores(psf), tailAmp: c.tail)
    }

    /// The model image: sum of flux x profile of every spot with a positive flux.
    func model(spots: [[ShapeFitSpot]], psf: GaussHermitePSF, threads: Int) -> [Double] {
        let profiles = parallelMap(spots.count, threads: threads) { f in
            spots[f].map { $0.flux > 0 ? Self.profile(psf, $0) : [] }
        }
        var m = [Double](repeating: 0, count: nx * ny)
        for (f, list) in spots.enumerated() {
            for (k, s) in list.enumerated() where s.flux > 0 {
                let p = profiles[f][k]
                for iy in 0..<s.ny {
                    let row = (s.y0 + iy) * nx + s.x0
                    for ix in 0..<s.nx { m[row + ix] += s.flux * p[iy * s.nx + ix] }
                }
            }
        }
        return m
    }

    /// New fluxes of every spot: per fiber, the lines of the fiber together (blends), the light of the other fibers
    /// from `model`; a spot is used by the shape fit when 80 % of its light falls on usable pixels and its flux S/N
    /// exceeds `minSNR`. Fluxes are kept positive (specex force_positive_flux).
    func fitFluxes(_ spots: [[ShapeFitSpot]], model: [Double], useModelVariance: Bool, psf: GaussHermitePSF,
                   minSNR: Double, threads: Int) -> [[ShapeFitSpot]] {
        parallelMap(spots.count, threads: threads) { f in
            var list = spots[f]
            let n = list.count
            guard n > 0 else { return list }
            let prof = list.map { Self.profile(psf, $0) }
            var a = Matrix(rows: n, cols: n), b = [Double](repeating: 0, count: n)
            var goodFraction = [Double](repeating: 0, count: n)
            for s in 0..<n {
                let sp = list[s]
                var tot = 0.0, ok = 0.0
                for iy in 0..<sp.ny {
                    for ix in 0..<sp.nx {
                        let k = (sp.y0 + iy) * nx + sp.x0 + ix, p = prof[s][iy * sp.nx + ix]
                        tot += abs(p)
                        let w = weight(k, model: useModelVariance ? model[k] : nil)
                        guard w > 0 else { continue }
                        ok += abs(p)
                        a[s, s] += w * p * p
                        b[s] += w * p * (Double(data[k]) - model[k])
                    }
                }
                goodFraction[s] = tot > 0 ? ok / tot : 0
                // Blended lines of the same fiber: the overlap of their stamps.
                for t in (s + 1)..<n where list[t].y0 < sp.y0 + sp.ny {
                    let st = list[t]
                    let x0 = max(sp.x0, st.x0), x1 = min(sp.x0 + sp.nx, st.x0 + st.nx)
                    let y0 = max(sp.y0, st.y0), y1 = min(sp.y0 + sp.ny, st.y0 + st.ny)
                    guard x0 < x1, y0 < y1 else { continue }
                    var c = 0.0
                    for y in y0..<y1 {
                        for x in x0..<x1 {
                            let k = y * nx + x
                            let w = weight(k, model: useModelVariance ? model[k] : nil)
                            if w > 0 { c += w * prof[s][(y - sp.y0) * sp.nx + x - sp.x0] * prof[t][(y - st.y0) * st.nx + x - st.x0] }
                        }
                    }
                    a[s, t] = c; a[t, s] = c
                }
            }
            // b holds the residual's projection: add back the current fluxes (A F) to solve for the new ones.
            for s in 0..<n { for t in 0..<n where a[s, t] != 0 { b[s] += a[s, t] * list[t].flux } }
            let d = (0..<n).map { a[$0, $0] > 0 ? 1 / a[$0, $0].squareRoot() : 0 }
            var sa = Matrix(rows: n, cols: n)
            for i in 0..<n { for j in 0..<n { sa[i, j] = a[i, j] * d[i] * d[j] } }
            for i in 0..<n { sa[i, i] = d[i] > 0 ? 1 + 1e-9 : 1 }
            guard let ch = try? CholeskyFactor(sa), let inv = try? ch.inverse() else {
                for s in 0..<n { list[s].used = false }
                return list
            }
            let x = ch.solve((0..<n).map { b[$0] * d[$0] })
            for s in 0..<n {
                let flux = x[s] * d[s], err = d[s] > 0 ? inv[s, s].squareRoot() * d[s] : 0
                list[s].flux = d[s] > 0 ? max(flux, 0) : 0
                list[s].fluxError = err
                list[s].used = d[s] > 0 && goodFraction[s] >= 0.8 && err > 0 && flux > minSNR * err
            }
            return list
        }
    }

    /// One linear step of the shape of a bundle's fitted parameters: the weighted least-squares change of their
    /// Legendre coefficients (fiber in bundle x wavelength) for the residuals of `model`, fluxes fixed. The normal
    /// matrix sums each spot's own block (overlaps of different spots are left out: the gradient is exact, so
    /// the iterations converge to the full solution); nil when the bundle has no usable line.
    func shapeStep(spots: [[ShapeFitSpot]], fibers: [Int], model: [Double], psf: GaussHermitePSF,
                   fitted: ShapeFitParameters) -> ShapeStep? {
        let usedCount = fibers.map { f in spots[f].filter(\.used).count }
        let nfib = usedCount.filter { $0 > 0 }.count
        guard nfib > 0, let maxLines = usedCount.max(), maxLines > 0 else { return nil }
        let deg = fitted.degrees(fibersWithLines: nfib, maxLinesPerFiber: maxLines)
        let na = deg.count
        var offW = [Int](), offF = [Int](), nw = 0, nfull = 0
        for d in deg { offW.append(nw); nw += d.w + 1; offF.append(nfull); nfull += (d.x + 1) * (d.w + 1) }
        var h = Matrix(rows: nfull, cols: nfull), g = [Double](repeating: 0, count: nfull)
        let cores = ShapeFitCores(psf), nterm = cores.nterm
        let tailTerm = nterm
        let termOf = fitted.terms.map { $0 < 0 ? tailTerm : $0 }
        let withTail = spots.contains { $0.contains { !$0.tail.isEmpty } }
        // Legendre polynomials of the fiber's place in the bundle, t in [-1, 1].
        let maxDegX = deg.map(\.x).max() ?? 0
        let fiberBasis = { (k: Int) -> [Double] in
            let t = fibers.count > 1 ? 2 * Double(k) / Double(fibers.count - 1) - 1 : 0
            var v = [Double](repeating: 0, count: maxDegX + 1)
            v.withUnsafeMutableBufferPointer { Legendre.basis(t, degree: maxDegX, into: $0) }
            return v
        }
        for (kf, f) in fibers.enumerated() where usedCount[kf] > 0 {
            // Per fiber: the normal equations in (parameter, wavelength degree), then spread over the fiber degree.
            var hf = Matrix(rows: nw, cols: nw), gf = [Double](repeating: 0, count: nw)
            for s in spots[f] where s.used {
                var (gm, gv) = spotNormal(s, model: model, cores: cores, withTail: withTail)
                eliminateFlux(&gm, &gv, coefficients: Self.coefficients(psf, s), nterm: nterm)
                var lw = [[Double]]()
                for a in 0..<na {
                    var v = [Double](repeating: 0, count: deg[a].w + 1)
                    let u = psf.parameters[fitted.parameters[a]].traces.reduced(s.wavelength)
                    v.withUnsafeMutableBufferPointer { Legendre.basis(u, degree: deg[a].w, into: $0) }
                    lw.append(v)
                }
                let f2 = s.flux * s.flux
                for a in 0..<na {
                    let ta = termOf[a]
                    for qa in 0...deg[a].w {
                        gf[offW[a] + qa] += s.flux * gv[ta] * lw[a][qa]
                        for b in a..<na {
                            let gab = f2 * gm[ta * (nterm + 1) + termOf[b]] * lw[a][qa]
                            if gab == 0 { continue }
                            for qb in 0...deg[b].w { hf[offW[a] + qa, offW[b] + qb] += gab * lw[b][qb] }
                        }
                    }
                }
            }
            let pt = fiberBasis(kf)
            for a in 0..<na {
                for pa in 0...deg[a].x {
                    for qa in 0...deg[a].w {
                        let i = offF[a] + pa * (deg[a].w + 1) + qa
                        g[i] += pt[pa] * gf[offW[a] + qa]
                        for b in a..<na {
                            for pb in 0...deg[b].x {
                                let c = pt[pa] * pt[pb]
                                for qb in 0...deg[b].w {
                                    h[i, offF[b] + pb * (deg[b].w + 1) + qb] += c * hf[offW[a] + qa, offW[b] + qb]
                                }
                            }
                        }
                    }
                }
            }
        }
        // The blocks a < b were filled above the diagonal, a == b fully: symmetrise from the upper part.
        for i in 0..<nfull { for j in (i + 1)..<nfull { h[j, i] = h[i, j] } }
        let d = (0..<nfull).map { h[$0, $0] > 0 ? 1 / h[$0, $0].squareRoot() : 0 }
        var s = Matrix(rows: nfull, cols: nfull)
        for i in 0..<nfull { for j in 0..<nfull { s[i, j] = h[i, j] * d[i] * d[j] } }
        // A weak ridge (1e-8 of the scaled diagonal) keeps directions the lines do not constrain where they are.
        for i in 0..<nfull { s[i, i] = d[i] > 0 ? 1 + 1e-8 : 1 }
        guard let ch = try? CholeskyFactor(s) else { return nil }
        let y = ch.solve((0..<nfull).map { g[$0] * d[$0] })
        let delta = (0..<nfull).map { y[$0] * d[$0] }
        var out = [[[Double]]]()
        for kf in 0..<fibers.count {
            let pt = fiberBasis(kf)
            var perParameter = [[Double]]()
            for a in 0..<na {
                var c = [Double](repeating: 0, count: deg[a].w + 1)
                for q in 0...deg[a].w {
                    for p in 0...deg[a].x { c[q] += pt[p] * delta[offF[a] + p * (deg[a].w + 1) + q] }
                }
                perParameter.append(c)
            }
            out.append(perParameter)
        }
        return ShapeStep(deltas: out)
    }

    /// The spot's flux solved together with the shape: its change is eliminated from the spot's normal block
    /// (Schur complement). With P = sum_k c_k T_k the unit profile, v = sum w T P = gm c, the block becomes
    /// gm - v v^T / (c^T gm c) and gv - v (c^T gv) / (c^T gm c): a joint Gauss-Newton step of fluxes and shape (as
    /// specex's PSF+FLUX stage), so the flux / shape alternation does not crawl along their correlation.
    func eliminateFlux(_ gm: inout [Double], _ gv: inout [Double], coefficients c: (gh: [Double], tail: Double), nterm: Int) {
        let nt = nterm + 1
        let cf = c.gh + [c.tail]
        var v = [Double](repeating: 0, count: nt)
        for a in 0..<nt { var x = 0.0; for k in 0..<nt { x += gm[a * nt + k] * cf[k] }; v[a] = x }
        var pp = 0.0, pr = 0.0
        for k in 0..<nt { pp += cf[k] * v[k]; pr += cf[k] * gv[k] }
        guard pp > 0 else { return }
        for a in 0..<nt {
            gv[a] -= v[a] * pr / pp
            for b in 0..<nt { gm[a * nt + b] -= v[a] * v[b] / pp }
        }
    }

    /// Unit-flux normal block of one spot over every core term (ShapeFitCores numbering) and the tail (last) for the
    /// residuals of `model`: gm[(nterm + 1) x (nterm + 1)] = sum w T_a T_b, gv = sum w T_a r. Separable: the x and y
    /// Hermite functions factor, so sum_p w fx_i fy_j gx_k gy_l = sum_x fx_i gx_k (sum_y w fy_j gy_l); the first core's
    /// cut (GAUSS-HERMITE2) multiplies the weight of its terms (a 0/1 mask, so the product of two cut terms too).
    func spotNormal(_ s: ShapeFitSpot, model: [Double], cores: ShapeFitCores, withTail: Bool) -> (gm: [Double], gv: [Double]) {
        let nterm = cores.nterm, nt = nterm + 1, npx = s.nx, npy = s.ny
        var w = [Double](repeating: 0, count: s.npix), wr = w
        for iy in 0..<npy {
            for ix in 0..<npx {
                let k = (s.y0 + iy) * nx + s.x0 + ix
                let wk = weight(k, model: model[k])
                w[iy * npx + ix] = wk
                wr[iy * npx + ix] = wk * (Double(data[k]) - model[k])
            }
        }
        // The weights inside the first core's cut (all of the stamp without a cut).
        var wCut = w, wrCut = wr
        if let cut = s.cut {
            for iy in 0..<npy {
                for ix in 0..<npx where !cut.inside(s.x0 + ix, s.y0 + iy) { wCut[iy * npx + ix] = 0; wrCut[iy * npx + ix] = 0 }
            }
        }
        // Each core: its Hermite functions, degrees and first term index; the first one carries the cut.
        var list = [(fx: s.fx, fy: s.fy, dx: cores.degX, dy: cores.degY, first: 0, isCut: true)]
        if let d2 = cores.second { list.append((s.fx2, s.fy2, d2.x, d2.y, cores.n1, false)) }
        var gm = [Double](repeating: 0, count: nt * nt), gv = [Double](repeating: 0, count: nt)
        var wjl = [Double](repeating: 0, count: npx)
        for (ia, a) in list.enumerated() {
            for b in list[ia...] {
                let wab = a.isCut || b.isCut ? wCut : w
                for j in 0...a.dy {
                    for l in 0...b.dy {
                        if a.first == b.first && l < j { continue }      // same core: the lower triangle by symmetry
                        for ix in 0..<npx { wjl[ix] = 0 }
                        for iy in 0..<npy {
                            let c = a.fy[j * npy + iy] * b.fy[l * npy + iy]
                            if c == 0 { continue }
                            for ix in 0..<npx { wjl[ix] += c * wab[iy * npx + ix] }
                        }
                        for i in 0...a.dx {
                            for k in 0...b.dx {
                                var v = 0.0
                                for ix in 0..<npx { v += wjl[ix] * a.fx[i * npx + ix] * b.fx[k * npx + ix] }
                                let p = a.first + i * (a.dy + 1) + j, q = b.first + k * (b.dy + 1) + l
                                gm[p * nt + q] = v; gm[q * nt + p] = v
                            }
                        }
                    }
                }
            }
            // Residual projections of this core's terms.
            let wra = a.isCut ? wrCut : wr
            var rx = [Double](repeating: 0, count: npy)
            for i in 0...a.dx {
                for iy in 0..<npy {
                    var v = 0.0
                    for ix in 0..<npx { v += wra[iy * npx + ix] * a.fx[i * npx + ix] }
                    rx[iy] = v
                }
                for j in 0...a.dy {
                    var v = 0.0
                    for iy in 0..<npy { v += a.fy[j * npy + iy] * rx[iy] }
                    gv[a.first + i * (a.dy + 1) + j] = v
                }
            }
            if withTail && !s.tail.isEmpty {
                let wa = a.isCut ? wCut : w
                for i in 0...a.dx {
                    for j in 0...a.dy {
                        var v = 0.0
                        for iy in 0..<npy {
                            for ix in 0..<npx { v += wa[iy * npx + ix] * s.tail[iy * npx + ix] * a.fx[i * npx + ix] * a.fy[j * npy + iy] }
                        }
                        let p = a.first + i * (a.dy + 1) + j
                        gm[p * nt + nterm] = v; gm[nterm * nt + p] = v
                    }
                }
            }
        }
        if withTail && !s.tail.isEmpty {
            var tt = 0.0, tr = 0.0
            for k in 0..<s.npix { tt += w[k] * s.tail[k] * s.tail[k]; tr += wr[k] * s.tail[k] }
            gm[nterm * nt + nterm] = tt; gv[nterm] = tr
        }
        return (gm, gv)
    }

    /// Chi2 of a bundle's spots (each pixel of the union of their stamps once), with its data count and parameters.
    func chi2(spots: [[ShapeFitSpot]], fibers: [Int], model: [Double], bundle: Int, nparPerFiberSet: Int) -> ShapeFitBundle {
        var seen = Set<Int>(), c = 0.0, n = 0, nspots = 0, nfib = 0
        for f in fibers {
            let used = spots[f].filter(\.used)
            if !used.isEmpty { nfib += 1 }
            nspots += used.count
            for s in used {
                for iy in 0..<s.ny {
                    for ix in 0..<s.nx {
                        let k = (s.y0 + iy) * nx + s.x0 + ix
                        guard seen.insert(k).inserted else { continue }
                        let w = weight(k, model: model[k])
                        guard w > 0 else { continue }
                        let r = Double(data[k]) - model[k]
                        c += w * r * r; n += 1
                    }
                }
            }
        }
        let npar = nparPerFiberSet + nspots
        return ShapeFitBundle(bundle: bundle, rchi2: n > npar ? c / Double(n - npar) : 0, ndata: n, npar: npar,
                              nspots: nspots, nfibers: nfib)
    }
}

/// The change of a bundle's fitted parameters: per fiber of the bundle (its index in the bundle), per fitted
/// parameter, the change of its Legendre coefficients in wavelength.
struct ShapeStep: Sendable {
    var deltas: [[[Double]]]
    func delta(fiberIndex k: Int, parameter a: Int) -> [Double] { deltas[k][a] }
}
