import DESICore
import FITS
import Foundation
import LinearAlgebra

/// A specex GAUSS-HERMITE PSF (specter.psf.gausshermite.GaussHermitePSF): traces x(fiber, wavelength) and
/// y(fiber, wavelength) as Legendre series, and PSF parameters (GHSIGX, GHSIGY, GH-i-j, TAIL*, ...) each a
/// Legendre series in wavelength per fiber. A spot is the pixel-integrated Gauss-Hermite core
///   sum_ij GH-i-j * pgh_i(x; xc, GHSIGX) * pgh_j(y; yc, GHSIGY)
/// plus the power-law tail TAILAMP r2 / (TAILCORE^2 + r2)^(1 + TAILINDE/2), r2 = (dx TAILXSCA)^2 + (dy TAILYSCA)^2
/// evaluated at pixel centres, clipped at 0 and normalised to 1, on a (2 HSIZEY + 1) x (2 HSIZEX + 1) stamp.
/// A second core (GH2-i-j with GHSIGX2/GHSIGY2, GHDEGX2/GHDEGY2; core 1 cut at GHNSIG sigmas) is added when
/// the file has one (specter.psf.gausshermite2). CONT (arc continuum) is carried but is not part of the spot.
public struct GaussHermitePSF: SpectralPSF {
    public var xTrace: TraceSet
    public var yTrace: TraceSet
    /// PSF parameters in file order (not X and Y), each a trace set over wavelength.
    public var parameters: [PSFParameter]
    public var ghDegX: Int
    public var ghDegY: Int
    public var halfSizeX: Int
    public var halfSizeY: Int
    public var npixX: Int
    public var npixY: Int
    /// First fiber of the file (FIBERMIN): fiber indices here are relative to it.
    public var fiberMin: Int
    /// PSFTYPE: GAUSS-HERMITE, or GAUSS-HERMITE2 (stamp of 2 HSIZE pixels, as specter's GaussHermite2PSF).
    public var psfType: String
    /// Assumed fractional model error (PSFERR, default 0.01 as specter).
    public var psfError: Double
    /// Headers kept from the file (non-structural cards) to write back: primary/XTRACE, YTRACE, PSF table.
    public var headers: PSFHeaders

    // Derived, cached for speed.
    var wTrace: TraceSet
    var paramIndex: [String: Int]
    var ghIndex: [Int]          // (i * (ghDegY + 1) + j) -> parameter index of GH-i-j
    var core2: SecondCore?
    var sigX: Int, sigY: Int, tailAmp: Int, tailCore: Int, tailXSca: Int, tailYSca: Int, tailInde: Int

    struct SecondCore: Sendable {
        var degX: Int, degY: Int
        var sigX: Int, sigY: Int, nsig: Int
        var ghIndex: [Int]
    }

    public var nspec: Int { xTrace.ntrace }
    public var wavemin: Double { yTrace.domainMin }
    public var wavemax: Double { yTrace.domainMax }

    public init(xTrace: TraceSet, yTrace: TraceSet,
                parameters: [PSFParameter],
                ghDegX: Int, ghDegY: Int, halfSizeX: Int, halfSizeY: Int, npixX: Int, npixY: Int,
                fiberMin: Int = 0, psfType: String = "GAUSS-HERMITE", psfError: Double = 0.01,
                headers: PSFHeaders = PSFHeaders(), secondCoreDegrees: (Int, Int)? = nil) throws {
        guard xTrace.ntrace == yTrace.ntrace else {
            throw DESIError.invalidArgument("XTRACE has \(xTrace.ntrace) fibers but YTRACE \(yTrace.ntrace)")
        }
        self.xTrace = xTrace; self.yTrace = yTrace; self.parameters = parameters
        self.ghDegX = ghDegX; self.ghDegY = ghDegY; self.halfSizeX = halfSizeX; self.halfSizeY = halfSizeY
        self.npixX = npixX; self.npixY = npixY; self.fiberMin = fiberMin; self.psfType = psfType
        self.psfError = psfError; self.headers = headers
        var index: [String: Int] = [:]
        for (k, p) in parameters.enumerated() {
            guard p.traces.ntrace == xTrace.ntrace else {
                throw DESIError.invalidArgument("parameter \(p.name) has \(p.traces.ntrace) fibers, the traces \(xTrace.ntrace)")
            }
            index[p.name] = k
        }
        paramIndex = index
        func need(_ n: String) throws -> Int {
            guard let k = index[n] else { throw DESIError.invalidArgument("PSF parameter \(n) is missing") }
            return k
        }
        sigX = try need("GHSIGX"); sigY = try need("GHSIGY")
        tailAmp = try need("TAILAMP"); tailCore = try need("TAILCORE")
        tailXSca = try need("TAILXSCA"); tailYSca = try need("TAILYSCA"); tailInde = try need("TAILINDE")
        var gh = [Int]()
        for i in 0...ghDegX { for j in 0...ghDegY { gh.append(try need("GH-\(i)-\(j)")) } }
        ghIndex = gh
        if let (dx2, dy2) = secondCoreDegrees {
            var gh2 = [Int]()
            for i in 0...dx2 { for j in 0...dy2 { gh2.append(try need("GH2-\(i)-\(j)")) } }
            core2 = SecondCore(degX: dx2, degY: dy2, sigX: try need("GHSIGX2"), sigY: try need("GHSIGY2"),
                               nsig: try need("GHNSIG"), ghIndex: gh2)
        } else {
            core2 = nil
        }
        wTrace = yTrace.inverted()
    }

    /// Value of parameter `name` for `fiber` at `wavelength` (nil when the PSF has no such parameter).
    public func parameter(_ name: String, fiber: Int, wavelength: Double) -> Double? {
        guard let k = paramIndex[name] else { return nil }
        return parameters[k].traces.eval(fiber, wavelength)
    }

    public func x(fiber: Int, wavelength: Double) -> Double { xTrace.eval(fiber, wavelength) }
    public func y(fiber: Int, wavelength: Double) -> Double { yTrace.eval(fiber, wavelength) }
    /// wavelength(y) as specter and desispec compute it (Legendre fit of the inverted trace, see TraceSet.inverted).
    public func wavelength(fiber: Int, y: Double) -> Double { wTrace.eval(fiber, y) }
    /// The exact inverse of y(fiber, wavelength) (Newton iterations from the specter value).
    public func exactWavelength(fiber: Int, y: Double) -> Double {
        yTrace.solve(fiber, target: y, start: wTrace.eval(fiber, y))
    }
    /// Gaussian sigmas of the core in pixels (GHSIGX, GHSIGY), as specter's xsigma / ysigma.
    public func xsigma(fiber: Int, wavelength: Double) -> Double { xsigmaTraces.eval(fiber, wavelength) }
    /// The traces `xsigma` evaluates (GHSIGX).
    public var xsigmaTraces: TraceSet { parameters[sigX].traces }
    public func ysigma(fiber: Int, wavelength: Double) -> Double { parameters[sigY].traces.eval(fiber, wavelength) }

    /// First pixel of the stamp along one axis (specter: int(c - h + 0.5), Python int truncating toward zero).
    @inline(__always) func stampStart(_ c: Double, _ h: Int) -> (first: Int, count: Int) {
        if psfType == "GAUSS-HERMITE2" {
            let a = Int(c - Double(h)), b = Int(c + Double(h))
            return (a, b - a)
        }
        let a = Int(c - Double(h) + 0.5), b = Int(c + Double(h) + 1.5)
        return (a, b - a)
    }

    public func spot(fiber: Int, wavelength w: Double) -> PSFSpot {
        let xc = xTrace.eval(fiber, w), yc = yTrace.eval(fiber, w)
        let (x0, nx) = stampStart(xc, halfSizeX)
        let (y0, ny) = stampStart(yc, halfSizeY)
        guard nx > 0, ny > 0 else { return PSFSpot(x0: x0, y0: y0, nx: 0, ny: 0, values: []) }
        var img = [Double](repeating: 0, count: nx * ny)
        let p = { (k: Int) -> Double in parameters[k].traces.eval(fiber, w) }
        let sx = p(sigX), sy = p(sigY)
        img.withUnsafeMutableBufferPointer { out in
            GaussHermiteCore.render(into: out, x0: x0, nx: nx, y0: y0, ny: ny, xc: xc, yc: yc, sx: sx, sy: sy,
                                    degX: ghDegX, degY: ghDegY, coefficients: ghIndex.map(p), cutSigmas: core2.map { p($0.nsig) })
            if let c2 = core2 {
                GaussHermiteCore.render(into: out, x0: x0, nx: nx, y0: y0, ny: ny, xc: xc, yc: yc, sx: p(c2.sigX), sy: p(c2.sigY),
                                        degX: c2.degX, degY: c2.degY, coefficients: c2.ghIndex.map(p))
            }
            // Tail, at pixel centres.
            let amp = p(tailAmp), core = p(tailCore), xs = p(tailXSca), ys = p(tailYSca), inde = p(tailInde)
            if amp != 0 {
                Self.addTail(out, nx: nx, ny: ny, x0: x0, y0: y0, xc: xc, yc: yc,
                             amplitude: amp, core: core, xScale: xs, yScale: ys, index: inde)
            }
            var sum = 0.0
            for k in 0..<out.count { if out[k] < 0 { out[k] = 0 }; sum += out[k] }
            if sum > 0 { for k in 0..<out.count { out[k] /= sum } }
        }
        return PSFSpot(x0: x0, y0: y0, nx: nx, ny: ny, values: img)
    }

    /// Adds the PSF tail, amplitude * r^2 / (core^2 + r^2)^(1 + index/2) with r scaled by (xScale, yScale), at the
    /// pixel centres of the [ny, nx] box starting at (x0, y0) (specex's tail; also used by the arc-line fit).
    static func addTail(_ out: UnsafeMutableBufferPointer<Double>, nx: Int, ny: Int, x0: Int, y0: Int, xc: Double, yc: Double,
                        amplitude: Double, core: Double, xScale: Double, yScale: Double, index: Double) {
        let c2 = core * core, pw = 1 + index / 2
        for iy in 0..<ny {
            let dy = (Double(y0 + iy) - yc) * yScale
            for ix in 0..<nx {
                let dx = (Double(x0 + ix) - xc) * xScale
                let r2 = dx * dx + dy * dy
                out[iy * nx + ix] += amplitude * r2 / pow(c2 + r2, pw)
            }
        }
    }

    /// This PSF with traces moved: x + dx(fiber, wavelength), y + dy(fiber, wavelength), refitted on the same
    /// Legendre degrees (specter PSF.shift_xy for constants; desispec recompute_legendre_coefficients otherwise).
    public func shifted(dx: @escaping (Int, Double) -> Double, dy: @escaping (Int, Double) -> Double) throws -> GaussHermitePSF {
        try withTraces(x: xTrace.refitted { f, w, _ in dx(f, w) }, y: yTrace.refitted { f, w, _ in dy(f, w) })
    }

    /// This PSF with constant trace shifts.
    public func shifted(dx: Double, dy: Double) -> GaussHermitePSF {
        var p = self
        p.xTrace = xTrace.shifted(by: dx)
        p.yTrace = yTrace.shifted(by: dy)
        p.wTrace = p.yTrace.inverted()
        return p
    }

    /// This PSF with other traces (same fibers).
    public func withTraces(x: TraceSet, y: TraceSet) throws -> GaussHermitePSF {
        guard x.ntrace == nspec, y.ntrace == nspec else {
            throw DESIError.invalidArgument("new traces have \(x.ntrace)/\(y.ntrace) fibers, the PSF \(nspec)")
        }
        var p = self
        p.xTrace = x; p.yTrace = y
        p.wTrace = y.inverted()
        return p
    }
}

/// Headers kept from a PSF file.
public struct PSFHeaders: Sendable {
    public var primary: FITSHeader
    public var ytrace: FITSHeader
    public var table: FITSHeader
    public init(primary: FITSHeader = FITSHeader(), ytrace: FITSHeader = FITSHeader(), table: FITSHeader = FITSHeader()) {
        self.primary = primary; self.ytrace = ytrace; self.table = table
    }
}

/// One PSF parameter: a Legendre series in wavelength per fiber, with the LEGDEGX / LEGDEGW of the table
/// (carried to be written back; evaluation uses every coefficient, as specter does).
public struct PSFParameter: Sendable {
    public var name: String
    public var traces: TraceSet
    public var legDegX: Int
    public var legDegW: Int
    public init(name: String, traces: TraceSet, legDegX: Int = 0, legDegW: Int? = nil) {
        self.name = name; self.traces = traces; self.legDegX = legDegX; self.legDegW = legDegW ?? (traces.ncoef - 1)
    }
}
