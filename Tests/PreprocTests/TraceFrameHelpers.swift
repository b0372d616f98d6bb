import DESICore
import FITS
import Foundation
import LinearAlgebra
import PSF
import Simulation

@testable import Preproc

/// A full-size camera with bright fiber traces at a real PSF's positions: per row, each fiber's counts spread over
/// the columns by a pixel-integrated Gaussian of the PSF's cross-dispersion sigma (the truth the tests compare
/// with), optionally plus a smooth background; Poisson noise, read out by a DESI-like CCD without dark current.
/// `badColumns`: hot or dead columns of the CCD (not in `expected`). `modelProfile`: the profile desispec's image model
/// assumes instead (a Gaussian of 1.1 sigma sampled at the pixel
/// centres over the 7 columns int(x - 3) ..< int(x + 4)), to test the model variance on the images it describes.
struct TraceFrame {
    var expected: [Double]
    var rawImage: RawImage
    var rawCamera: RawCamera
    var primary: FITSHeader
    var traces: FiberTraceGeometry
    var psf: any SpectralPSF
    var ny: Int
    var nx: Int
    /// The injected scattered light, if any (included in `expected`).
    var scattered: [Double]? = nil

    static func make(psfFile: String, camera: String, rowCounts: Double = 3000, seed: UInt64 = 7,
                     background: ((Int, Int) -> Double)? = nil, modelProfile: Bool = false,
                     scatteredLight: (([Double]) throws -> [Double])? = nil, badColumns: [BadColumn] = []) throws -> TraceFrame {
        let psf = try readPSF(psfFile)
        let ny = psf.npixY, nx = psf.npixX
        let sigma: (Int, Double) -> Double
        if let gh = psf as? GaussHermitePSF { sigma = { gh.xsigma(fiber: $0, wavelength: $1) } }
        else if let t = psf as? TraceOnlyPSF { sigma = { t.xsigma(fiber: $0, wavelength: $1) } }
        else { sigma = { _, _ in 1 } }
        let g = FiberTraceGeometry.sample(nspec: psf.nspec, ny: ny, wavemin: psf.wavemin, wavemax: psf.wavemax,
                                          x: { psf.x(fiber: $0, wavelength: $1) }, y: { psf.y(fiber: $0, wavelength: $1) },
                                          xsig: sigma)
        var expected = [Double](repeating: 0, count: ny * nx)
        for f in 0..<g.nspec {
            let scale = 0.4 + Double(f % 7) / 7
            for r in 0..<ny {
                let k = f * ny + r
                let flux = rowCounts * scale * (1 + 0.3 * sin(Double(r) / 150 + Double(f)))
                let xc = g.x[k], s = g.xsig![k]
                if modelProfile {
                    let cols = max(0, Int(xc - 3))..<min(nx, Int(xc + 4))
                    let w = cols.map { exp(-(Double($0) - xc) * (Double($0) - xc) / (2 * 1.21 * s * s)) }
                    let sum = w.reduce(0, +)
                    for (j, i) in cols.enumerated() { expected[r * nx + i] += flux * w[j] / sum }
                    continue
                }
                for i in max(0, Int(xc) - 6)...min(nx - 1, Int(xc) + 6) {
                    let a = (Double(i) + 0.5 - xc) / (s * 2.0.squareRoot()), b = (Double(i) - 0.5 - xc) / (s * 2.0.squareRoot())
                    expected[r * nx + i] += flux * 0.5 * (erf(a) - erf(b))
                }
            }
        }
        var scattered: [Double]? = nil
        if let light = scatteredLight {
            let s = try light(expected)
            for i in expected.indices { expected[i] += s[i] }
            scattered = s
        }
        if let bg = background { for r in 0..<ny { for i in 0..<nx { expected[r * nx + i] += bg(r, i) } } }
        let electrons = Projection.poisson(expected, ny: ny, nx: nx, seed: seed, stream: 1)
        var config = CCDConfig.desiDefault(ny: ny, nx: nx, camera: camera)
        for i in config.amplifiers.indices { config.amplifiers[i].darkCurrent = 0 }
        config.badColumns = badColumns
        var rng = SimulationRandom(seed: seed)
        let raw = config.readout(electrons: electrons, ny: ny, nx: nx, exptime: 900, rng: &rng)
        let primary = RawExposureWriter.primaryHeader(night: 20240101, expid: 1234, exptime: 900)
        var header = raw.header
        header.merge(primary)
        let rawImage = RawImage(ny: raw.ny, nx: raw.nx, data: raw.data.map(Float.init), header: header, primaryHeader: primary)
        return TraceFrame(expected: expected, rawImage: rawImage, rawCamera: raw, primary: primary, traces: g, psf: psf,
                          ny: ny, nx: nx, scattered: scattered)
    }

    /// The smooth background of the block-background tests: `amplitude` x (0.85 + 0.15 cos(pi x / nx)) x
    /// (1 + 0.05 sin(pi y / ny)) electrons (scripts/compare_preproc.py --bkgsub computes the same).
    static func smoothBackground(amplitude: Double, ny: Int, nx: Int) -> @Sendable (Int, Int) -> Double {
        let fx = Double(nx), fy = Double(ny)
        return { r, c in amplitude * (0.85 + 0.15 * cos(Double.pi * Double(c) / fx)) * (1 + 0.05 * sin(Double.pi * Double(r) / fy)) }
    }

    /// Scattered light to inject: the camera's kernel (`ScatteredLight.kernel`) convolved with the traces' light,
    /// times 0.03 (1 + 0.5 x / nx)(1 + 0.3 y / ny).
    static func scatteredLight(camera: String, ny: Int, nx: Int) -> ([Double]) throws -> [Double] {
        { direct in
            let (kern, hw) = try ScatteredLight.kernel(camera: camera)
            let conv = SameModeConvolution2D(kernel: kern, kny: 2 * hw + 1, knx: 2 * hw + 1, imageNy: ny, imageNx: nx)
            var s = conv.apply(direct, ny: ny, nx: nx)
            for y in 0..<ny {
                for x in 0..<nx { s[y * nx + x] *= 0.03 * (1 + 0.5 * Double(x) / Double(nx)) * (1 + 0.3 * Double(y) / Double(ny)) }
            }
            return s
        }
    }

    /// The traces provider `desispec preproc` builds from the PSF: its traces, x shifted by the median offset
    /// measured on the image when one is given.
    var tracesProvider: @Sendable (Int, Image?) throws -> FiberTraceGeometry {
        let psf = self.psf
        let (xTrace, yTrace): (TraceSet, TraceSet)
        if let gh = psf as? GaussHermitePSF { (xTrace, yTrace) = (gh.xTrace, gh.yTrace) }
        else { let t = psf as! TraceOnlyPSF; (xTrace, yTrace) = (t.xTrace, t.yTrace) }
        let base = traces
        return { ny, image in
            guard let image else { return base }
            let dx = medianTraceXShift(image: image, xTrace: xTrace, yTrace: yTrace)
            return FiberTraceGeometry(nspec: base.nspec, ny: ny, x: base.x.map { $0 + dx }, wave: base.wave, xsig: base.xsig)
        }
    }

    /// Mean and standard deviation of (image - expected) x sqrt(ivar) over the pixels where expected > `threshold`.
    func pulls(_ image: Image, threshold: Double) -> (mean: Double, std: Double, count: Int) {
        var s = 0.0, s2 = 0.0, n = 0
        for i in 0..<(ny * nx) where expected[i] > threshold && image.ivar[i] > 0 && image.mask[i] == 0 {
            let p = (Double(image.pix[i]) - expected[i]) * Double(image.ivar[i]).squareRoot()
            s += p; s2 += p * p; n += 1
        }
        let m = s / Double(n)
        return (m, (s2 / Double(n) - m * m).squareRoot(), n)
    }
}

/// A fiber flat of 1 for every fiber over the PSF's wavelengths (the image model then has its sky model).
func unitFiberFlat(nspec: Int, wavemin: Double, wavemax: Double) throws -> FiberFlat {
    let wave = (0..<200).map { wavemin + (wavemax - wavemin) * Double($0) / 199 }
    return try FiberFlat(wave: wave, flat: [Double](repeating: 1, count: nspec * 200), ivar: [Double](repeating: 1, count: nspec * 200))
}
