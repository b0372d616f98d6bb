import DESICore
import Foundation
import PSF
import Simulation
import XCTest

@testable import Extraction

/// The shared DESI test files (env DESISPEC_TESTDATA, default ../shared/data beside the package).
func realPSFPath() throws -> String {
    let base = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data").standardized.path
    let path = (base as NSString).appendingPathComponent("psf/psf-r0-00051060.fits")
    guard FileManager.default.fileExists(atPath: path) else {
        throw XCTSkip("psf/psf-r0-00051060.fits not found under \(base) (set DESISPEC_TESTDATA)")
    }
    return path
}

/// A window [y0, y0 + npixY) x [x0, x0 + npixX) of a PSF's CCD, seen as a whole CCD: the real spots on a
/// small image.
struct CroppedPSF: SpectralPSF {
    let base: any SpectralPSF
    let x0: Int, y0: Int
    let npixX: Int, npixY: Int
    var nspec: Int { base.nspec }
    var wavemin: Double { base.wavemin }
    var wavemax: Double { base.wavemax }
    func x(fiber: Int, wavelength: Double) -> Double { base.x(fiber: fiber, wavelength: wavelength) - Double(x0) }
    func y(fiber: Int, wavelength: Double) -> Double { base.y(fiber: fiber, wavelength: wavelength) - Double(y0) }
    func wavelength(fiber: Int, y: Double) -> Double { base.wavelength(fiber: fiber, y: y + Double(y0)) }
    func spot(fiber: Int, wavelength: Double) -> PSFSpot {
        var s = base.spot(fiber: fiber, wavelength: wavelength)
        s.x0 -= x0; s.y0 -= y0
        return s
    }
}

final class RealPSFExtractionTests: XCTestCase {
    /// specter's patch geometry on the real r0 PSF (values printed by specter 0.11: psf.pix(0, wmid).shape,
    /// ndiag, psf.xyrange((0, 6), (6000, 6039.2)) and ex2d's nlo, nhi for that patch).
    func testPatchGeometryAsSpecter() throws {
        let psf = try readPSF(try realPSFPath())
        let grid = WaveGrid(wmin: 5760, wmax: 7620, dw: 0.8)
        let g = PatchGeometry(psf: psf, grid: grid, fibers: 0..<500, options: ExtractionOptions())
        XCTAssertEqual(g.spotRows, 11); XCTAssertEqual(g.spotCols, 17)
        XCTAssertEqual(g.ndiagHalf, 5)
        XCTAssertEqual(g.wmin, 5545.887612768853, accuracy: 1e-6)
        XCTAssertEqual(g.wmax, 7801.212472513282, accuracy: 1e-6)
        let box = g.xyRange(fibers: 0..<6, wlo: 6000, whi: 6039.2)
        XCTAssertEqual(box.xmin, 113); XCTAssertEqual(box.xmax, 166); XCTAssertEqual(box.ymin, 793); XCTAssertEqual(box.ymax, 879)
        let iwave = Int(((6000 - 5760) / 0.8).rounded())
        let p = g.patch(extract: 0..<6, core: 0..<5, iwave: iwave)
        XCTAssertEqual(p.waveIndices, (iwave - 12)..<(iwave + 50 + 11))
        XCTAssertEqual(p.ymin, 793 - 9); XCTAssertEqual(p.ymax, 879 + 9)
    }

    /// Issue 3's truth test: an image made with the real PSF's spots (Poisson noise as Gaussian of variance
    /// signal + read noise^2), extracted with desispec's options; flux against R times the true spectrum.
    func testPullsAgainstConvolvedTruthWithRealPSF() throws {
        let full = try readPSF(try realPSFPath())
        let nfib = 20
        let grid = WaveGrid(wmin: 6000, wmax: 6199.2, dw: 0.8)          // 250 bins
        // rows of the window: the grid plus a margin of 40 rows on each side
        let ylo = Int(full.y(fiber: 0, wavelength: grid.wavelength(0)).rounded(.down)) - 40
        let yhi = Int(full.y(fiber: nfib - 1, wavelength: grid.wavelength(grid.count - 1)).rounded(.up)) + 40
        let xhi = Int(full.x(fiber: nfib - 1, wavelength: 6100).rounded(.up)) + 30
        let psf = CroppedPSF(base: full, x0: 0, y0: ylo, npixX: xhi, npixY: yhi - ylo)

        // truth: electrons per 0.8 A bin on every bin whose spot can touch the window
        let kmin = Int(((psf.wavelength(fiber: 0, y: -15) - grid.wave0) / grid.dw).rounded(.down))
        let kmax = Int(((psf.wavelength(fiber: nfib - 1, y: Double(psf.npixY) + 15) - grid.wave0) / grid.dw).rounded(.up))
        let nk = kmax - kmin
        var truth = [Double](repeating: 0, count: nfib * nk)
        for f in 0..<nfib {
            let amp = 200 + 40 * Double(f % 5)
            for k in kmin..<kmax {
                let w = grid.wavelength(k)
                var v = amp * (1 + 0.3 * sin(w / 12 + Double(f)))
                for (lw, la) in [(6040.0 + 2 * Double(f), 3000.0), (6123.7, 1500.0), (6170.2 - Double(f), 800.0)] {
                    v += la * exp(-0.5 * pow((w - lw) / 0.5, 2)) * grid.dw / (0.5 * (2 * Double.pi).squareRoot())
                }
                truth[f * nk + (k - kmin)] = v
            }
        }
        let nx = psf.npixX, ny = psf.npixY
        var model = [Double](repeating: 0, count: nx * ny)
        for f in 0..<nfib {
            for k in kmin..<kmax {
                let s = psf.spot(fiber: f, wavelength: grid.wavelength(k))
                let t = truth[f * nk + (k - kmin)]
                for i in 0..<s.ny where s.y0 + i >= 0 && s.y0 + i < ny {
                    for j in 0..<s.nx where s.x0 + j >= 0 && s.x0 + j < nx {
                        model[(s.y0 + i) * nx + s.x0 + j] += t * s.values[i * s.nx + j]
                    }
                }
            }
        }
        var rng = SimulationRandom(seed: 2026)
        let rn = 3.0
        var pix = [Float](repeating: 0, count: nx * ny), ivar = pix
        for i in 0..<(nx * ny) {
            let v = rn * rn + model[i]
            ivar[i] = Float(1 / v)
            pix[i] = Float(model[i] + v.squareRoot() * rng.gaussian())
        }
        let image = Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: nx * ny),
                          readnoise: [Float](repeating: Float(rn), count: nx * ny))

        let r = try extractSpectra(image: image, psf: psf, fibers: 0..<nfib, grid: grid,
                                   options: ExtractionOptions(bundleSize: 25, nSubBundles: 5, waveStep: 50))
        XCTAssertEqual(r.resolution.ndiag, 11)
        let h = r.resolution.ndiag / 2
        var chi2 = 0.0, sumPull = 0.0, n = 0
        for f in 0..<nfib {
            for i in h..<(grid.count - h) {
                var expected = 0.0     // (R truth)[i], electrons per bin -> per Angstrom
                for j in (i - h)...(i + h) {
                    expected += Double(r.resolution.element(spec: f, row: i, column: j)) * truth[f * nk + (j - kmin)]
                }
                expected /= grid.dw
                let idx = f * grid.count + i
                let pull = (r.flux[idx] - expected) * r.ivar[idx].squareRoot()
                chi2 += pull * pull; sumPull += pull; n += 1
            }
        }
        let chi2dof = chi2 / Double(n), meanPull = sumPull / Double(n)
        print("real PSF extraction: n=\(n) chi2/dof=\(chi2dof) mean pull=\(meanPull)")
        // 4800 bins: chi2/dof has a spread of 0.02, the mean pull of 0.015
        XCTAssertGreaterThan(chi2dof, 0.95); XCTAssertLessThan(chi2dof, 1.10)
        XCTAssertLessThan(abs(meanPull), 0.1)
    }
}
