import DESICore
import Foundation
import PSF
import Simulation

@testable import Extraction

/// A small test PSF: pixel-integrated Gaussian spots (stamps 11 rows x 17 columns as DESI's r camera),
/// slightly tilted traces, bundles of fibers separated by a gap.
struct GaussianTestPSF: SpectralPSF {
    let nspec: Int
    let npixX: Int
    let npixY: Int
    let wave0 = 4990.0          // wavelength at row 0 of fiber 0
    let angstromPerRow = 0.55
    let sigmaX = 1.1, sigmaY = 1.0
    let fiberSpacing = 8.0, bundleGap = 12.0, bundleSize: Int
    let halfX = 8, halfY = 5

    init(nspec: Int, bundleSize: Int, npixY: Int) {
        self.nspec = nspec; self.bundleSize = bundleSize; self.npixY = npixY
        let nb = (nspec + bundleSize - 1) / bundleSize
        npixX = Int(20 + fiberSpacing * Double(nspec) + bundleGap * Double(nb) + 20)
    }

    var wavemin: Double { wave0 }
    var wavemax: Double { wave0 + Double(npixY - 1) * angstromPerRow }

    func yOffset(_ fiber: Int) -> Double { 0.3 * Double(fiber) }
    func x(fiber: Int, wavelength: Double) -> Double {
        let y = (wavelength - wave0) / angstromPerRow
        return 20 + fiberSpacing * Double(fiber) + bundleGap * Double(fiber / bundleSize) + 0.004 * (y - Double(npixY) / 2)
    }
    func y(fiber: Int, wavelength: Double) -> Double { (wavelength - wave0) / angstromPerRow + yOffset(fiber) }
    func wavelength(fiber: Int, y: Double) -> Double { wave0 + (y - yOffset(fiber)) * angstromPerRow }

    private func integrated(_ a: Double, _ b: Double, _ s: Double) -> Double {
        0.5 * (erf(b / (s * 2.0.squareRoot())) - erf(a / (s * 2.0.squareRoot())))
    }

    func spot(fiber: Int, wavelength: Double) -> PSFSpot {
        let xc = x(fiber: fiber, wavelength: wavelength), yc = y(fiber: fiber, wavelength: wavelength)
        let ix = Int(xc.rounded()), iy = Int(yc.rounded())
        let x0 = ix - halfX, y0 = iy - halfY
        let nx = 2 * halfX + 1, ny = 2 * halfY + 1
        let px = (0..<nx).map { integrated(Double(x0 + $0) - 0.5 - xc, Double(x0 + $0) + 0.5 - xc, sigmaX) }
        let py = (0..<ny).map { integrated(Double(y0 + $0) - 0.5 - yc, Double(y0 + $0) + 0.5 - yc, sigmaY) }
        var v = [Double](repeating: 0, count: nx * ny)
        for i in 0..<ny { for j in 0..<nx { v[i * nx + j] = py[i] * px[j] } }
        return PSFSpot(x0: x0, y0: y0, nx: nx, ny: ny, values: v)
    }
}

/// A simulated exposure: image of known spectra (electrons per bin on `grid`, extended beyond it) + noise.
struct SimulatedScene {
    let psf: GaussianTestPSF
    let grid: WaveGrid
    /// True flux per bin, fibers x (kmin..<kmax) global wavelength indices.
    let kmin: Int, kmax: Int
    let truth: [Double]
    let image: Image

    func trueFlux(fiber: Int, k: Int) -> Double { truth[fiber * (kmax - kmin) + (k - kmin)] }

    init(nspec: Int, bundleSize: Int, npixY: Int, grid: WaveGrid, readNoise: Double = 3, noise: Bool = true, seed: UInt64 = 1) {
        let psf = GaussianTestPSF(nspec: nspec, bundleSize: bundleSize, npixY: npixY)
        self.psf = psf; self.grid = grid
        // cover the whole CCD with flux bins
        let kmin = Int(((psf.wavemin - 10 - grid.wave0) / grid.dw).rounded(.down))
        let kmax = Int(((psf.wavemax + 10 - grid.wave0) / grid.dw).rounded(.up))
        self.kmin = kmin; self.kmax = kmax
        var rng = SimulationRandom(seed: seed)
        var truth = [Double](repeating: 0, count: nspec * (kmax - kmin))
        for f in 0..<nspec {
            let amp = 300 + 150 * Double(f % 3)
            let lines = [(5020.0 + 3 * Double(f), 2500.0), (5060.5, 1200.0 + 100 * Double(f)), (5101.3 - Double(f), 4000.0)]
            for k in kmin..<kmax {
                let w = grid.wavelength(k)
                var v = amp * (1 + 0.3 * sin(w / 15))
                for (lw, la) in lines { v += la * exp(-0.5 * pow((w - lw) / 0.6, 2)) * grid.dw / (0.6 * (2 * Double.pi).squareRoot()) }
                truth[f * (kmax - kmin) + (k - kmin)] = v
            }
        }
        self.truth = truth
        var model = [Double](repeating: 0, count: psf.npixX * npixY)
        for f in 0..<nspec {
            for k in kmin..<kmax {
                let s = psf.spot(fiber: f, wavelength: grid.wavelength(k))
                let t = truth[f * (kmax - kmin) + (k - kmin)]
                for i in 0..<s.ny {
                    let y = s.y0 + i
                    if y < 0 || y >= npixY { continue }
                    for j in 0..<s.nx {
                        let x = s.x0 + j
                        if x < 0 || x >= psf.npixX { continue }
                        model[y * psf.npixX + x] += t * s.values[i * s.nx + j]
                    }
                }
            }
        }
        var pix = [Float](repeating: 0, count: model.count)
        var ivar = [Float](repeating: 0, count: model.count)
        for i in 0..<model.count {
            let v = readNoise * readNoise + model[i]
            ivar[i] = Float(1 / v)
            pix[i] = Float(model[i] + (noise ? v.squareRoot() * rng.gaussian() : 0))
        }
        image = Image(ny: npixY, nx: psf.npixX, pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: model.count),
                      readnoise: [Float](repeating: Float(readNoise), count: model.count))
    }

    /// (R * truth)[fiber, i] for interior bins, in electrons per bin.
    func convolvedTruth(_ r: ResolutionData, spec: Int, fiber: Int, bin i: Int) -> Double {
        var s = 0.0
        let h = r.ndiag / 2
        for j in (i - h)...(i + h) { s += Double(r.element(spec: spec, row: i, column: j)) * trueFlux(fiber: fiber, k: j) }
        return s
    }
}
