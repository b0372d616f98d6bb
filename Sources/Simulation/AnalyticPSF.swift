import DESICore
import Foundation
import PSF

/// The simulator's built-in PSF: a pixel-integrated 2-D Gaussian (the GH-0-0 term of a Gauss-Hermite PSF, no tail)
/// on smooth traces that are exact Legendre polynomials of degree 2 in the reduced wavelength
/// u = 2 (λ - wavemin) / (wavemax - wavemin) - 1, so that it is exactly a GAUSS-HERMITE PSF (`gaussHermite`, written
/// by the PSF module). Fibers come in bundles of 25 (7.3 px apart, wider gaps between bundles, as DESI's:
/// `FiberBundleLayout`); traces bend by `curvatureX` pixels across the CCD, rows follow the wavelength with a slight
/// non-linearity and a "smile" across fibers. Spots are evaluated here, not through `GaussHermitePSF.spot`: the
/// separable Gaussian is much faster (see `accumulate`) and is not renormalised over its stamp.
public struct AnalyticPSF: SpectralPSF, Sendable {
    public let nspec: Int
    public let wavemin: Double
    public let wavemax: Double
    public let npixX: Int
    public let npixY: Int
    public let sigmaX: Double
    public let sigmaY: Double
    /// Legendre coefficients [nspec][3] of x and y.
    public let xCoeff: [[Double]]
    public let yCoeff: [[Double]]
    /// Half-size of the stamps.
    public let halfX: Int
    public let halfY: Int

    public static let layout = FiberBundleLayout(pitch: 7.3, bundleSize: 25, gap: 12.0)
    public static let marginX = 12.0
    public static let marginY = 8.0

    /// CCD width that holds `nspec` fibers with margins.
    public static func requiredWidth(nspec: Int) -> Int {
        let span = layout.span(nspec)
        let w = Int((span + 2 * marginX + 6).rounded(.up))
        return w + (w % 2)
    }

    /// A PSF for `nspec` fibers on an npixY x npixX CCD whose rows span [wavemin, wavemax].
    public init(nspec: Int, npixX: Int, npixY: Int, wavemin: Double, wavemax: Double,
                sigmaX: Double = 1.05, sigmaY: Double = 1.1, curvatureX: Double = 1.5, smileFraction: Double = 0.004) throws {
        guard nspec > 0, npixY > 40 else {
            throw DESIError.invalidArgument("AnalyticPSF: need nspec > 0 and npixY > 40 (got \(nspec), \(npixY))")
        }
        guard npixX >= AnalyticPSF.requiredWidth(nspec: nspec) else {
            throw DESIError.invalidArgument("AnalyticPSF: \(nspec) fibers need a CCD at least "
                                            + "\(AnalyticPSF.requiredWidth(nspec: nspec)) pixels wide, got \(npixX)")
        }
        guard wavemax > wavemin else { throw DESIError.invalidArgument("AnalyticPSF: wavemax must exceed wavemin") }
        self.nspec = nspec; self.npixX = npixX; self.npixY = npixY
        self.wavemin = wavemin; self.wavemax = wavemax; self.sigmaX = sigmaX; self.sigmaY = sigmaY
        self.halfX = max(4, Int((4.5 * sigmaX).rounded(.up)))
        self.halfY = max(4, Int((4.5 * sigmaY).rounded(.up)))
        let span = AnalyticPSF.layout.span(nspec)
        let x0 = (Double(npixX - 1) - span) / 2 - curvatureX / 2
        let xc = Double(npixX - 1) / 2
        let smile = smileFraction * Double(npixY)
        let ymin = AnalyticPSF.marginY + smile, ymax = Double(npixY - 1) - AnalyticPSF.marginY
        let eps = 0.02 * (ymax - ymin)
        var xc0: [[Double]] = [], yc0: [[Double]] = []
        for f in 0..<nspec {
            let xf = AnalyticPSF.layout.position(f, first: x0)
            // x = xf + c u^2 = (xf + c/3) P0 + (2c/3) P2
            xc0.append([xf + curvatureX / 3, 0, 2 * curvatureX / 3])
            let d = (xf - xc) / max(xc, 1)
            let a = (ymin + ymax) / 2 - smile * d * d, b = (ymax - ymin) / 2
            // y = a + b u + eps (1 - u^2) = (a + 2 eps/3) P0 + b P1 - (2 eps/3) P2
            yc0.append([a + 2 * eps / 3, b, -2 * eps / 3])
        }
        xCoeff = xc0; yCoeff = yc0
    }

    @inline(__always) func reduced(_ w: Double) -> Double { 2 * (w - wavemin) / (wavemax - wavemin) - 1 }
    @inline(__always) static func legendre(_ c: [Double], _ u: Double) -> Double { c[0] + c[1] * u + c[2] * 0.5 * (3 * u * u - 1) }

    public func x(fiber: Int, wavelength: Double) -> Double { AnalyticPSF.legendre(xCoeff[fiber], reduced(wavelength)) }
    public func y(fiber: Int, wavelength: Double) -> Double { AnalyticPSF.legendre(yCoeff[fiber], reduced(wavelength)) }

    public func wavelength(fiber: Int, y: Double) -> Double {
        // y = A + B u + C u^2 with A = c0 - c2/2, B = c1, C = 1.5 c2; take the root continuous with the linear one
        let c = yCoeff[fiber]
        let a = c[0] - c[2] / 2, b = c[1], q = 1.5 * c[2]
        let r = y - a
        let disc = max(b * b + 4 * q * r, 0)
        let u = 2 * r / (b + disc.squareRoot())
        return wavemin + (u + 1) / 2 * (wavemax - wavemin)
    }

    /// Pixel-integrated Gaussian weights, times `scale`, of pixels lo...lo+out.count-1 for a centre c and width s.
    @inline(__always) static func integrated(center c: Double, sigma s: Double, lo: Int, scale: Double = 1,
                                             into out: UnsafeMutableBufferPointer<Double>) {
        let k = 1 / (s * 2.0.squareRoot())
        var prev = erf((Double(lo) - 0.5 - c) * k)
        for i in 0..<out.count {
            let next = erf((Double(lo + i) + 0.5 - c) * k)
            out[i] = scale * 0.5 * (next - prev)
            prev = next
        }
    }

    public func spot(fiber: Int, wavelength: Double) -> PSFSpot {
        let xc = x(fiber: fiber, wavelength: wavelength), yc = y(fiber: fiber, wavelength: wavelength)
        let x0 = Int(xc.rounded()) - halfX, y0 = Int(yc.rounded()) - halfY
        let nx = 2 * halfX + 1, ny = 2 * halfY + 1
        var px = [Double](repeating: 0, count: nx), py = [Double](repeating: 0, count: ny)
        px.withUnsafeMutableBufferPointer { AnalyticPSF.integrated(center: xc, sigma: sigmaX, lo: x0, into: $0) }
        py.withUnsafeMutableBufferPointer { AnalyticPSF.integrated(center: yc, sigma: sigmaY, lo: y0, into: $0) }
        var v = [Double](repeating: 0, count: nx * ny)
        for i in 0..<ny { for j in 0..<nx { v[i * nx + j] = py[i] * px[j] } }
        return PSFSpot(x0: x0, y0: y0, nx: nx, ny: ny, values: v)
    }

    /// The default PSF of a camera: its arm's wavelength range (padded by 10 A) over the CCD rows.
    public static func forCamera(_ arm: Camera.Arm, nspec: Int, npixX: Int, npixY: Int) throws -> AnalyticPSF {
        let r = Instrument.wavelengthRange(arm)
        let sigma: (Double, Double) = arm == .b ? (1.0, 1.05) : arm == .r ? (1.05, 1.1) : (1.1, 1.15)
        return try AnalyticPSF(nspec: nspec, npixX: npixX, npixY: npixY, wavemin: r.lowerBound - 10, wavemax: r.upperBound + 10,
                               sigmaX: sigma.0, sigmaY: sigma.1)
    }

    /// Adds the spots of a fiber's samples to a sub-image of columns [boxX0, boxX1) and `ny` rows
    /// (pixel (row, col) at row * (boxX1 - boxX0) + col - boxX0), exactly as `spot` would, without allocating.
    func accumulate(fiber: Int, samples: FiberSamples, into p: UnsafeMutableBufferPointer<Double>, boxX0: Int, boxX1: Int, ny: Int) {
        let nx = 2 * halfX + 1, nyS = 2 * halfY + 1
        let bw = boxX1 - boxX0
        var px = [Double](repeating: 0, count: nx), py = [Double](repeating: 0, count: nyS)
        px.withUnsafeMutableBufferPointer { pxb in
        py.withUnsafeMutableBufferPointer { pyb in
            for k in samples.electrons.indices {
                let e = samples.electrons[k]
                if e <= 0 { continue }
                let w = samples.meanWavelength[k]
                let xc = x(fiber: fiber, wavelength: w), yc = y(fiber: fiber, wavelength: w)
                let x0 = Int(xc.rounded()) - halfX, y0 = Int(yc.rounded()) - halfY
                AnalyticPSF.integrated(center: xc, sigma: sigmaX, lo: x0, into: pxb)
                AnalyticPSF.integrated(center: yc, sigma: sigmaY, lo: y0, scale: e, into: pyb)
                for i in 0..<nyS {
                    let row = y0 + i
                    if row < 0 || row >= ny { continue }
                    let base = row * bw - boxX0, wy = pyb[i]
                    for j in 0..<nx {
                        let col = x0 + j
                        if col < boxX0 || col >= boxX1 { continue }
                        p[base + col] += wy * pxb[j]
                    }
                }
            }
        }
        }
    }

    /// The same PSF as a `GaussHermitePSF` (traces of Legendre degree 2, constant GHSIGX/GHSIGY, GH-0-0 = 1, no tail),
    /// which the PSF module writes as specex does and desispec / specter read.
    public func gaussHermite(camera: String) throws -> GaussHermitePSF {
        func traces(_ c: [[Double]]) -> TraceSet {
            TraceSet(coefficients: c.flatMap { $0 }, ntrace: nspec, ncoef: 3, domainMin: wavemin, domainMax: wavemax)
        }
        func constant(_ v: Double) -> TraceSet { traces([[Double]](repeating: [v, 0, 0], count: nspec)) }
        var headers = PSFHeaders()
        for k in [\PSFHeaders.primary, \PSFHeaders.ytrace, \PSFHeaders.table] { headers[keyPath: k].set("CAMERA", camera) }
        headers.table.addComment("Simulated analytic PSF: pixel-integrated Gaussian core (GH-0-0 = 1), no tail")
        return try GaussHermitePSF.withConstantTerms(
            xTrace: traces(xCoeff), yTrace: traces(yCoeff), sigmaX: constant(sigmaX), sigmaY: constant(sigmaY),
            ghDegree: 2, gh: { i, j in i == 0 && j == 0 ? 1 : 0 }, tailAmplitude: 0, tailCore: 1, tailIndex: 1,
            halfSizeX: halfX, halfSizeY: halfY, npixX: npixX, npixY: npixY, headers: headers, legendreDegrees: (2, 2))
    }

    /// Writes the PSF as a GAUSS-HERMITE PSFVER 3 file (XTRACE, YTRACE, PSF table; see `GaussHermitePSF.write`).
    public func writeGaussHermite(path: String, camera: String, history: String) throws {
        try gaussHermite(camera: camera).write(to: path, history: [history])
    }
}
