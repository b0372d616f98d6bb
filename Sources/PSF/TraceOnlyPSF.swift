import DESICore
import FITS
import Foundation
import LinearAlgebra

/// A PSF known only by its traces and Gaussian widths (quick-look / boxcar PSFs, desispec XYTraceSet):
/// spots are pixel-integrated 2-D Gaussians of sigma xsigma (pixels, XSIG Legendre series or XSIGMA constant
/// per fiber) and ysigma (pixels, YSIG, or WSIGMA in Angstrom times dy/dwavelength).
public struct TraceOnlyPSF: SpectralPSF {
    public var xTrace: TraceSet
    public var yTrace: TraceSet
    public var npixX: Int
    public var npixY: Int
    /// Cross-dispersion sigma: Legendre series in wavelength (pixels); default 1 pixel.
    public var xSigma: TraceSet?
    /// Dispersion sigma in pixels (YSIG).
    public var ySigma: TraceSet?
    /// Dispersion sigma in Angstrom (deprecated WSIGMA).
    public var wSigma: TraceSet?
    /// Stamp half sizes.
    public var halfSizeX: Int
    public var halfSizeY: Int
    var wTrace: TraceSet

    public var nspec: Int { xTrace.ntrace }
    public var wavemin: Double { yTrace.domainMin }
    public var wavemax: Double { yTrace.domainMax }

    public init(xTrace: TraceSet, yTrace: TraceSet, npixX: Int, npixY: Int, xSigma: TraceSet? = nil,
                ySigma: TraceSet? = nil, wSigma: TraceSet? = nil, halfSizeX: Int = 8, halfSizeY: Int = 5) {
        self.xTrace = xTrace; self.yTrace = yTrace; self.npixX = npixX; self.npixY = npixY
        self.xSigma = xSigma; self.ySigma = ySigma; self.wSigma = wSigma
        self.halfSizeX = halfSizeX; self.halfSizeY = halfSizeY
        wTrace = yTrace.inverted()
    }

    public func x(fiber: Int, wavelength: Double) -> Double { xTrace.eval(fiber, wavelength) }
    public func y(fiber: Int, wavelength: Double) -> Double { yTrace.eval(fiber, wavelength) }
    public func wavelength(fiber: Int, y: Double) -> Double { wTrace.eval(fiber, y) }

    public func xsigma(fiber: Int, wavelength: Double) -> Double { xSigma?.eval(fiber, wavelength) ?? 1.0 }
    public func ysigma(fiber: Int, wavelength: Double) -> Double {
        if let s = ySigma { return s.eval(fiber, wavelength) }
        if let s = wSigma { return s.eval(fiber, wavelength) * yTrace.derivative(fiber, wavelength) }
        return 1.0
    }

    public func spot(fiber: Int, wavelength w: Double) -> PSFSpot {
        let xc = x(fiber: fiber, wavelength: w), yc = y(fiber: fiber, wavelength: w)
        let sx = xsigma(fiber: fiber, wavelength: w), sy = ysigma(fiber: fiber, wavelength: w)
        let x0 = Int(xc - Double(halfSizeX) + 0.5), y0 = Int(yc - Double(halfSizeY) + 0.5)
        let nx = 2 * halfSizeX + 1, ny = 2 * halfSizeY + 1
        var px = [Double](repeating: 0, count: nx), py = [Double](repeating: 0, count: ny)
        px.withUnsafeMutableBufferPointer { Hermite.pixelIntegrated(first: x0, count: nx, centre: xc, sigma: sx, degree: 0, into: $0) }
        py.withUnsafeMutableBufferPointer { Hermite.pixelIntegrated(first: y0, count: ny, centre: yc, sigma: sy, degree: 0, into: $0) }
        var v = [Double](repeating: 0, count: nx * ny)
        var sum = 0.0
        for i in 0..<ny { for j in 0..<nx { v[i * nx + j] = py[i] * px[j]; sum += v[i * nx + j] } }
        if sum > 0 { for k in 0..<v.count { v[k] /= sum } }
        return PSFSpot(x0: x0, y0: y0, nx: nx, ny: ny, values: v)
    }

    /// Deprecated WSIGMA (Angstrom) to YSIG (pixels) as desispec.io.xytraceset.read_xytraceset does it: 100
    /// wavelengths, wsigma * dy/dwavelength with numpy.gradient differences, Legendre refit of the same degree.
    static func ySigmaFromWSigma(_ wsig: TraceSet, yTrace: TraceSet) throws -> TraceSet {
        let nw = 100
        let lo = yTrace.domainMin, hi = yTrace.domainMax
        let wave = (0..<nw).map { lo + (hi - lo) * Double($0) / Double(nw - 1) }
        func gradient(_ f: [Double]) -> [Double] {
            (0..<nw).map { i in
                if i == 0 { return f[1] - f[0] }
                if i == nw - 1 { return f[nw - 1] - f[nw - 2] }
                return (f[i + 1] - f[i - 1]) / 2
            }
        }
        let gw = gradient(wave)
        let values = (0..<wsig.ntrace).map { f -> [Double] in
            let gy = gradient(wave.map { yTrace.eval(f, $0) })
            return (0..<nw).map { wsig.eval(f, wave[$0]) * gy[$0] / gw[$0] }
        }
        return try TraceSet.fit(v: wave, values: values, degree: wsig.ncoef - 1, domain: (lo, hi))
    }

    /// Reads the traces (and widths) of any PSF file (desispec.io.xytraceset.read_xytraceset).
    /// CCD width of a file without NPIX_X: 20 pixels past the largest trace x at the middle wavelength.
    private static func widthFromTraces(_ xTrace: TraceSet, path: String) throws -> Int {
        let x = (0..<xTrace.ntrace).map { xTrace.eval($0, 0.5 * (xTrace.domainMin + xTrace.domainMax)) }.max() ?? 0
        guard x.isFinite, let nx = Int(exactly: x.rounded(.towardZero)), (0...PSFLimits.ccdSide).contains(nx + 20) else {
            throw DESIError.badFile(path: path, problem: "XTRACE gives x = \(x) at the middle wavelength, no CCD width")
        }
        return nx + 20
    }

    public static func read(_ path: String) throws -> TraceOnlyPSF {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: 0)
        let primary = try f.readHeader()
        let type = (primary.string("PSFTYPE") ?? "").trimmingCharacters(in: .whitespaces)
        var npixY: Int? = primary.int("NPIX_Y"), npixX: Int? = primary.int("NPIX_X")
        for h in ["XTRACE", "PSF"] where f.hasHDU(h) && (npixY == nil || npixX == nil) {
            try f.moveTo(name: h)
            let hh = try f.readHeader()
            npixY = npixY ?? hh.int("NPIX_Y"); npixX = npixX ?? hh.int("NPIX_X")
        }
        guard let ny = npixY else { throw DESIError.badFile(path: path, problem: "no NPIX_Y in HDU 0, XTRACE or PSF") }
        _ = try headerCount(Double(ny), "NPIX_Y", in: 1...PSFLimits.ccdSide, hdu: "0, XTRACE or PSF", path: path)
        if let nx = npixX { _ = try headerCount(Double(nx), "NPIX_X", in: 1...PSFLimits.ccdSide, hdu: "0, XTRACE or PSF", path: path) }
        var xt: TraceSet? = nil, yt: TraceSet? = nil
        if type == "bootcalib" {
            try f.moveTo(index: 0)
            let xi = try f.readImage(as: Double.self)
            try f.moveTo(index: 1)
            let yi = try f.readImage(as: Double.self)
            guard let lo = xi.header.double("WAVEMIN"), let hi = xi.header.double("WAVEMAX"),
                  xi.shape.count == 2, yi.shape.count == 2 else {
                throw DESIError.badFile(path: path, problem: "bootcalib PSF without WAVEMIN/WAVEMAX or 2-D coefficients")
            }
            try checkDomain(lo, hi, what: "HDU 0", path: path)
            xt = TraceSet(coefficients: xi.data, ntrace: xi.shape[0], ncoef: xi.shape[1], domainMin: lo, domainMax: hi)
            yt = TraceSet(coefficients: yi.data, ntrace: yi.shape[0], ncoef: yi.shape[1], domainMin: lo, domainMax: hi)
        } else {
            for k in ["XTRACE", "XCOEF", "XCOEFF"] where f.hasHDU(k) { xt = try readTraceImage(f, k, path: path) }
            for k in ["YTRACE", "YCOEF", "YCOEFF"] where f.hasHDU(k) { yt = try readTraceImage(f, k, path: path) }
        }
        if (xt == nil || yt == nil) && type == "GAUSS-HERMITE" {
            let g = try GaussHermitePSF.read(path)
            return TraceOnlyPSF(xTrace: g.xTrace, yTrace: g.yTrace, npixX: g.npixX, npixY: g.npixY,
                                xSigma: g.parameters.first { $0.name == "GHSIGX" }?.traces,
                                ySigma: g.parameters.first { $0.name == "GHSIGY" }?.traces)
        }
        guard let xTrace = xt, let yTrace = yt else {
            throw DESIError.badFile(path: path, problem: "no XTRACE/XCOEF and YTRACE/YCOEF HDUs")
        }
        guard xTrace.ntrace == yTrace.ntrace else {
            throw DESIError.badFile(path: path, problem: "XTRACE has \(xTrace.ntrace) fibers, YTRACE \(yTrace.ntrace)")
        }
        for (a, b) in [(xTrace.domainMin, yTrace.domainMin), (xTrace.domainMax, yTrace.domainMax)] where abs(a - b) > 0.001 {
            throw DESIError.badFile(path: path, problem: "WAVEMIN/WAVEMAX differ between XTRACE and YTRACE")
        }
        var xs: TraceSet? = nil, ys: TraceSet? = nil, ws: TraceSet? = nil
        if f.hasHDU("XSIG") { xs = try readTraceImage(f, "XSIG", path: path) }
        if f.hasHDU("YSIG") { ys = try readTraceImage(f, "YSIG", path: path) }
        if xs == nil && f.hasHDU("XSIGMA") {
            let img = try f.readImage("XSIGMA", as: Double.self)
            let nc = img.shape.count == 2 ? img.shape[1] : 1
            xs = TraceSet(coefficients: img.data, ntrace: img.data.count / nc, ncoef: nc,
                          domainMin: yTrace.domainMin, domainMax: yTrace.domainMax)
        }
        if ys == nil && f.hasHDU("WSIGMA") {
            let img = try f.readImage("WSIGMA", as: Double.self)
            let nc = img.shape.count == 2 ? img.shape[1] : 1
            let wsig = TraceSet(coefficients: img.data, ntrace: img.data.count / nc, ncoef: nc,
                                domainMin: yTrace.domainMin, domainMax: yTrace.domainMax)
            guard wsig.ntrace == yTrace.ntrace else {
                throw DESIError.badFile(path: path, problem: "WSIGMA has \(wsig.ntrace) fibers, YTRACE \(yTrace.ntrace)")
            }
            ys = try ySigmaFromWSigma(wsig, yTrace: yTrace)
            ws = wsig
        }
        for (name, set) in [("XSIG or XSIGMA", xs), ("YSIG or WSIGMA", ys)] where set != nil && set?.ntrace != xTrace.ntrace {
            throw DESIError.badFile(path: path, problem: "\(name) has \(set?.ntrace ?? 0) fibers, XTRACE \(xTrace.ntrace)")
        }
        let nx = try npixX ?? widthFromTraces(xTrace, path: path)
        return TraceOnlyPSF(xTrace: xTrace, yTrace: yTrace, npixX: nx, npixY: ny, xSigma: xs, ySigma: ys, wSigma: ws)
    }
}
