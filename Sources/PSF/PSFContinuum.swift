import DESICore
import Foundation
import LinearAlgebra

/// The arc's continuum as specex models it (its CONTINUUM code, `--fit-continuum`, which desispec's
/// scripts/specex.py passes for the z cameras): in each bundle one Legendre polynomial of degree 2 in wavelength,
/// C(w) electrons per CCD row, common to the bundle's fibers; each fiber adds, at every row y, C(w(y)) times a
/// Gaussian of sigma 1 pixel across the dispersion, centred on the trace x(y) and evaluated at the pixel centres:
///   image(i, y) += sum_fibers C(w_f(y)) exp(-(i - x_f(y))^2 / 2) / sqrt(2 pi)
/// (specex_psf_fitter ComputeSpotsModel and specex_model_image). It is not part of the spots: the PSF file carries it
/// as the CONT parameter (per fiber, its bundle's polynomial; LEGDEGX 0, LEGDEGW 2, as specex_psf_proc writes it).
public enum ArcContinuum {
    /// Legendre degree of C(w) (specex ContinuumPol.deg).
    public static let degree = 2
    /// Sigma of the profile across the dispersion, pixels (specex continuum_sigma_x).
    static let sigmaX = 1.0
    /// Half width of the evaluated profile, pixels (exp(-6^2/2) = 1.5e-8 of the peak beyond).
    static let halfWidth = 6
    /// Columns used beyond the bundle's outer traces (specex min(MAX_X_MARGIN = 7, HSIZEX): half the gap between
    /// bundles) and the largest spot stamp half size blanked around each line (specex caps HSIZE at 12).
    static let maxMargin = 7
    static let maxStampHalfSize = 12

    /// Whether the fit runs by default: on the z cameras, as desispec's specex script asks for it.
    public static func fittedByDefault(camera: Camera?) -> Bool { camera?.arm == .z }

    /// The PSF's CONT parameter index, nil when the PSF has none.
    static func index(_ psf: GaussHermitePSF) -> Int? { psf.paramIndex["CONT"] }

    /// True when the PSF carries a continuum (some CONT coefficient non-zero): specex then keeps it in the model of
    /// every fit (its has_continuum), fitted or not.
    public static func isPresent(in psf: GaussHermitePSF) -> Bool {
        guard let k = index(psf) else { return false }
        return psf.parameters[k].traces.coefficients.contains { $0 != 0 }
    }

    /// `psf` with a CONT parameter (zero) when it has none: same domain and coefficient count as GHSIGX.
    static func withParameter(_ psf: GaussHermitePSF) throws -> GaussHermitePSF {
        if index(psf) != nil { return psf }
        let like = psf.parameters[psf.sigX].traces
        let zero = TraceSet(coefficients: [Double](repeating: 0, count: like.ntrace * like.ncoef), ntrace: like.ntrace,
                            ncoef: like.ncoef, domainMin: like.domainMin, domainMax: like.domainMax)
        return try GaussHermitePSF(xTrace: psf.xTrace, yTrace: psf.yTrace,
                                   parameters: psf.parameters + [PSFParameter(name: "CONT", traces: zero, legDegX: 0, legDegW: degree)],
                                   ghDegX: psf.ghDegX, ghDegY: psf.ghDegY, halfSizeX: psf.halfSizeX, halfSizeY: psf.halfSizeY,
                                   npixX: psf.npixX, npixY: psf.npixY, fiberMin: psf.fiberMin, psfType: psf.psfType,
                                   psfError: psf.psfError, headers: psf.headers,
                                   secondCoreDegrees: psf.core2.map { ($0.degX, $0.degY) })
    }

    /// Rows of `fiber`'s trace on the CCD with its wavelength and x there (specex's W_vs_Y, X_vs_Y).
    static func traceRows(_ psf: GaussHermitePSF, fiber f: Int) -> (y0: Int, w: [Double], x: [Double]) {
        let ya = psf.y(fiber: f, wavelength: psf.wavemin), yb = psf.y(fiber: f, wavelength: psf.wavemax)
        guard ya.isFinite, yb.isFinite else { return (0, [], []) }
        let y0 = max(0, Int(min(ya, yb).rounded(.up))), y1 = min(psf.npixY - 1, Int(max(ya, yb).rounded(.down)))
        guard y1 >= y0 else { return (y0, [], []) }
        let w = (y0...y1).map { psf.wavelength(fiber: f, y: Double($0)) }
        return (y0, w, w.map { psf.x(fiber: f, wavelength: $0) })
    }

    /// The continuum image of `psf` [npixY * npixX] (zero where no fiber's continuum falls), nil without one.
    public static func image(of psf: GaussHermitePSF, threads: Int) -> [Double]? {
        guard let k = index(psf), isPresent(in: psf) else { return nil }
        let cont = psf.parameters[k].traces, nx = psf.npixX
        let norm = 1 / ((2 * Double.pi).squareRoot() * sigmaX)
        // Per fiber its own rows (threads), summed in fiber order (the result does not depend on the thread count).
        let perFiber = parallelMap(psf.nspec, threads: threads) { f -> (y0: Int, x0: [Int], v: [[Double]]) in
            let t = traceRows(psf, fiber: f)
            var x0s = [Int](), vs = [[Double]]()
            for (r, w) in t.w.enumerated() {
                let c = cont.eval(f, w), xc = t.x[r]
                let a = max(0, Int(xc.rounded()) - halfWidth), b = min(nx - 1, Int(xc.rounded()) + halfWidth)
                x0s.append(a)
                vs.append(a <= b ? (a...b).map { i in c * norm * exp(-0.5 * pow((Double(i) - xc) / sigmaX, 2)) } : [])
            }
            return (t.y0, x0s, vs)
        }
        var out = [Double](repeating: 0, count: psf.npixY * nx)
        for p in perFiber {
            for (r, v) in p.v.enumerated() {
                let row = (p.y0 + r) * nx + p.x0[r]
                for (i, value) in v.enumerated() { out[row + i] += value }
            }
        }
        return out
    }

    /// The image with the continuum of `psf` subtracted, its photon noise added to the read-noise variance (so that
    /// the fits' weights, read noise^2 + model, still count it); the image unchanged without a continuum.
    public static func subtracted(from image: Image, psf: GaussHermitePSF, threads: Int) -> Image {
        guard let c = self.image(of: psf, threads: threads) else { return image }
        var out = image
        for k in 0..<c.count where c[k] != 0 {
            out.pix[k] = Float(Double(image.pix[k]) - c[k])
            let rn = Double(image.readnoise[k])
            out.readnoise[k] = Float((rn * rn + max(c[k], 0)).squareRoot())
        }
        return out
    }

    /// Fits CONT bundle by bundle on the arc `image` with the traces of `psf` held (specex's TAIL&CONTINUUM stage with
    /// the fluxes and the PSF fixed): the pixels from `margin` columns before the bundle's first trace to `margin`
    /// after its last, over the rows its lines' stamps span, without the stamps of the lines of `lines` (HSIZE capped
    /// at 12) of the bundle's fibers and of their neighbours, weighted by read noise^2 + model (specex weights by
    /// the image's inverse variance, which biases a faint continuum low; masked pixels out); a linear least-squares
    /// solve of the 3 Legendre coefficients per bundle. Returns the PSF with CONT set (every fiber its bundle's
    /// polynomial) and the fit of each bundle.
    public static func fit(image: Image, psf input: GaussHermitePSF, lines: [ArcLine], bundleSize: Int,
                           threads: Int) throws -> (psf: GaussHermitePSF, bundles: [ContinuumBundleFit]) {
        guard image.ny == input.npixY, image.nx == input.npixX else {
            throw DESIError.mismatch("the image is \(image.ny) x \(image.nx) pixels but the PSF describes \(input.npixY) x \(input.npixX)")
        }
        var psf = try withParameter(input)
        let k = index(psf)!
        let domain = psf.parameters[k].traces
        let deg = min(degree, domain.ncoef - 1)
        let waves = lines.map(\.wavelength).filter { $0 > psf.wavemin && $0 < psf.wavemax }
        let bundles = shapeFitBundles(psf: psf, bundleSize: bundleSize)
        let current = psf
        let rows = parallelMap(psf.nspec, threads: threads) { traceRows(current, fiber: $0) }
        let fits = parallelMap(bundles.count, threads: threads) { b in
            fitBundle(image: image, psf: current, fibers: bundles[b], rows: rows, waves: waves, degree: deg, domain: domain,
                      bundle: (current.fiberMin + bundles[b][0]) / max(bundleSize, 1))
        }
        for (b, fit) in fits.enumerated() {
            for f in bundles[b] {
                for q in 0..<domain.ncoef {
                    psf.parameters[k].traces.coefficients[f * domain.ncoef + q] = q <= deg ? fit.coefficients[q] : 0
                }
            }
        }
        psf.parameters[k].legDegX = 0
        psf.parameters[k].legDegW = deg
        return (psf, fits)
    }

    static func fitBundle(image: Image, psf: GaussHermitePSF, fibers: [Int], rows: [(y0: Int, w: [Double], x: [Double])],
                          waves: [Double], degree deg: Int, domain: TraceSet, bundle: Int) -> ContinuumBundleFit {
        let nx = image.nx, ny = image.ny, nc = deg + 1
        let margin = min(maxMargin, psf.halfSizeX)
        let hx = min(maxStampHalfSize, psf.halfSizeX), hy = min(maxStampHalfSize, psf.halfSizeY)
        let lo = max(0, fibers.min()! - 1), hi = min(psf.nspec - 1, fibers.max()! + 1)
        // Rows: those the stamps of the bundle's lines span (specex's compute_stamp over the bundle's spots).
        var yMin = Int.max, yMax = Int.min
        var blanked = Set<Int>()
        for f in lo...hi {
            for w in waves {
                let xc = psf.x(fiber: f, wavelength: w), yc = psf.y(fiber: f, wavelength: w)
                guard xc.isFinite, yc.isFinite, yc > -Double(hy), yc < Double(ny + hy) else { continue }
                let a = Int(yc.rounded()) - hy, bb = Int(yc.rounded()) + hy
                if fibers.contains(f) { yMin = min(yMin, a); yMax = max(yMax, bb) }
                for y in max(0, a)...min(ny - 1, max(0, bb)) {
                    for x in max(0, Int(xc.rounded()) - hx)...min(nx - 1, max(0, Int(xc.rounded()) + hx)) { blanked.insert(y * nx + x) }
                }
            }
        }
        guard yMin <= yMax else {
            return ContinuumBundleFit(bundle: bundle, coefficients: [Double](repeating: 0, count: nc), npix: 0, rchi2: 0)
        }
        let useReadNoise = image.readnoise.contains { $0 > 0 }
        let norm = 1 / ((2 * Double.pi).squareRoot() * sigmaX)
        /// One weighted least-squares solve; pixel variances read noise^2 + the model `previous` predicts (the
        /// image's own ivar would weight low fluctuations up and bias a faint continuum low: about 20 % at a few
        /// electrons per pixel), or the image's ivar without a read-noise image.
        func solve(previous: [Double]?) -> ContinuumBundleFit {
            var a = Matrix(rows: nc, cols: nc), rhs = [Double](repeating: 0, count: nc)
            var npix = 0, wdd = 0.0
            var design = [Double](), basis = [Double](repeating: 0, count: nc)
            for y in max(0, yMin)...min(ny - 1, yMax) {
                // The bundle's columns on this row and every fiber's contribution to the design there.
                var xs = [Double]()
                for f in fibers {
                    let r = rows[f], j = y - r.y0
                    if j >= 0 && j < r.x.count { xs.append(r.x[j]) }
                }
                guard let xa = xs.min(), let xb = xs.max() else { continue }
                let c0 = max(0, Int(xa.rounded()) - margin), c1 = min(nx - 1, Int(xb.rounded()) + margin)
                guard c1 >= c0 else { continue }
                design = [Double](repeating: 0, count: (c1 - c0 + 1) * nc)
                for f in fibers {
                    let r = rows[f], j = y - r.y0
                    guard j >= 0 && j < r.x.count else { continue }
                    basis.withUnsafeMutableBufferPointer { Legendre.basis(domain.reduced(r.w[j]), degree: deg, into: $0) }
                    let xc = r.x[j]
                    for i in max(c0, Int(xc.rounded()) - halfWidth)...min(c1, Int(xc.rounded()) + halfWidth) {
                        let g = norm * exp(-0.5 * pow((Double(i) - xc) / sigmaX, 2))
                        for q in 0..<nc { design[(i - c0) * nc + q] += g * basis[q] }
                    }
                }
                for i in c0...c1 {
                    let p = y * nx + i
                    guard image.mask[p] == 0, image.ivar[p] > 0, image.pix[p].isFinite, !blanked.contains(p) else { continue }
                    let d = Double(image.pix[p])
                    var m = 0.0
                    if let previous { for q in 0..<nc { m += design[(i - c0) * nc + q] * previous[q] } }
                    let rn = Double(image.readnoise[p])
                    let w = useReadNoise ? 1 / max(rn * rn + max(m, 0), 1e-6) : Double(image.ivar[p])
                    for q in 0..<nc {
                        let dq = design[(i - c0) * nc + q]
                        rhs[q] += w * dq * d
                        for s in 0..<nc { a[q, s] += w * dq * design[(i - c0) * nc + s] }
                    }
                    wdd += w * d * d
                    npix += 1
                }
            }
            let scale = (0..<nc).map { a[$0, $0] > 0 ? 1 / a[$0, $0].squareRoot() : 0 }
            var sa = Matrix(rows: nc, cols: nc)
            for i in 0..<nc { for j in 0..<nc { sa[i, j] = a[i, j] * scale[i] * scale[j] } }
            for i in 0..<nc where scale[i] == 0 { sa[i, i] = 1 }
            guard npix > nc, let ch = try? CholeskyFactor(sa) else {
                return ContinuumBundleFit(bundle: bundle, coefficients: [Double](repeating: 0, count: nc), npix: npix, rchi2: 0)
            }
            let sol = ch.solve((0..<nc).map { rhs[$0] * scale[$0] })
            let coef = (0..<nc).map { sol[$0] * scale[$0] }
            // chi2 = sum w d^2 - 2 c.b + c^T A c (the normal equations' own sums).
            var chi2 = wdd
            for q in 0..<nc {
                chi2 -= 2 * coef[q] * rhs[q]
                for s in 0..<nc { chi2 += coef[q] * a[q, s] * coef[s] }
            }
            return ContinuumBundleFit(bundle: bundle, coefficients: coef, npix: npix, rchi2: chi2 / Double(npix - nc))
        }
        // Read-noise weights first (unbiased), then read noise + that continuum.
        let first = solve(previous: nil)
        return useReadNoise ? solve(previous: first.coefficients) : first
    }
}

/// The continuum fit of one bundle: Legendre coefficients of C(w) (electrons per row) over the CONT parameter's
/// wavelength domain, the pixels used and their reduced chi2.
public struct ContinuumBundleFit: Sendable {
    public var bundle: Int
    public var coefficients: [Double]
    public var npix: Int
    public var rchi2: Double
}
