import DESICore
import Foundation
import PSF
import Simulation
import XCTest

@testable import Extraction

/// Issue 16: the sub-bundles of a bundle run in chains that share the spots of their common fibers; the chains
/// follow the thread count, the results must not.
final class ExtractionChainTests: XCTestCase {
    func testChainsCoverEveryUnitInOrder() {
        let bundles = [0..<5, 5..<10, 10..<12]
        for minimum in [1, 2, 3, 4, 6, 8, 100] {
            let chains = unitChains(bundles, minimumCount: minimum)
            XCTAssertEqual(chains.flatMap { Array($0) }, Array(0..<12), "minimum \(minimum)")
            XCTAssertFalse(chains.contains { $0.isEmpty })
            // no chain crosses a bundle boundary
            for c in chains { XCTAssertTrue(bundles.contains { $0.contains(c.lowerBound) && $0.contains(c.upperBound - 1) }) }
            XCTAssertTrue(chains.count >= min(minimum, 12), "minimum \(minimum): \(chains.count) chains")
        }
        XCTAssertEqual(unitChains(bundles, minimumCount: 3), bundles)
        XCTAssertEqual(unitChains(bundles, minimumCount: 6), [0..<2, 2..<5, 5..<7, 7..<10, 10..<11, 11..<12])
    }

    /// The real r0 PSF on a window of the CCD, 2 bundles of 12 fibers in 4 sub-bundles: 1 thread (at least 4
    /// chains: 2 sub-bundles each, sharing spots), 2 and 5 threads (at least 8 and 20 chains: one sub-bundle
    /// each, nothing shared) give the same bits, the model image included.
    func testSameBitsWhateverTheChainsWithRealPSF() throws {
        let full = try readPSF(try realPSFPath())
        let nfib = 24
        let grid = WaveGrid(wmin: 6000, wmax: 6079.2, dw: 0.8)          // 100 bins, 2 patches per sub-bundle
        let ylo = Int(full.y(fiber: 0, wavelength: grid.wavelength(0)).rounded(.down)) - 30
        let yhi = Int(full.y(fiber: nfib - 1, wavelength: grid.wavelength(grid.count - 1)).rounded(.up)) + 30
        let xhi = Int(full.x(fiber: nfib - 1, wavelength: 6040).rounded(.up)) + 30
        let psf = CroppedPSF(base: full, x0: 0, y0: ylo, npixX: xhi, npixY: yhi - ylo)
        let nx = psf.npixX, ny = psf.npixY
        var model = [Double](repeating: 0, count: nx * ny)
        for f in 0..<nfib {
            for k in -20..<(grid.count + 20) {
                let s = psf.spot(fiber: f, wavelength: grid.wavelength(k))
                let t = 300 * (1 + 0.4 * sin(Double(k) / 7 + Double(f)))
                for i in 0..<s.ny where s.y0 + i >= 0 && s.y0 + i < ny {
                    for j in 0..<s.nx where s.x0 + j >= 0 && s.x0 + j < nx {
                        model[(s.y0 + i) * nx + s.x0 + j] += t * s.values[i * s.nx + j]
                    }
                }
            }
        }
        var rng = SimulationRandom(seed: 16)
        var pix = [Float](repeating: 0, count: nx * ny), ivar = pix
        for i in 0..<(nx * ny) {
            let v = 9 + model[i]
            ivar[i] = Float(1 / v)
            pix[i] = Float(model[i] + v.squareRoot() * rng.gaussian())
        }
        var mask = [UInt32](repeating: 0, count: nx * ny)
        for x in 40..<60 { mask[(ny / 2) * nx + x] = CCDMask.cosmic }      // a masked streak across a few fibers
        let image = Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: mask,
                          readnoise: [Float](repeating: 3, count: nx * ny))
        func run(_ threads: Int) throws -> ExtractionResult {
            try extractSpectra(image: image, psf: psf, fibers: 0..<nfib, grid: grid,
                               options: ExtractionOptions(bundleSize: 12, nSubBundles: 4, waveStep: 50,
                                                          threads: threads, computeModel: true))
        }
        let one = try run(1)
        for threads in [2, 5] {
            let other = try run(threads)
            XCTAssertEqual(one.flux, other.flux, "\(threads) threads")
            XCTAssertEqual(one.ivar, other.ivar)
            XCTAssertEqual(one.deconvolvedFlux, other.deconvolvedFlux)
            XCTAssertEqual(one.resolution, other.resolution)
            XCTAssertEqual(one.chi2pix, other.chi2pix)
            XCTAssertEqual(one.mask, other.mask)
            XCTAssertEqual(one.model, other.model)
        }
        // and the extraction is a real one: the fluxes follow the input spectra (mean within 5 %)
        let mean = one.flux.reduce(0, +) / Double(one.flux.count) * grid.dw
        XCTAssertEqual(mean, 300, accuracy: 15)
    }
}
