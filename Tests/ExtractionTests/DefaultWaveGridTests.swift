import Foundation
import PSF
import Simulation
import XCTest
@testable import Extraction

final class DefaultWaveGridTests: XCTestCase {
    /// Without -w, desispec.scripts.extract extracts np.arange(ceil(psf.wmin_all), floor(psf.wmax_all) + 0.35, 0.7):
    /// on the real r0 PSF that grid lies inside the PSF and passes the coverage check.
    func testDefaultGridOfTheRealPSFIsDesispecsAndCovered() throws {
        let psf = try readPSF(try realPSFPath())
        let grid = ExtractionWavelengths.defaultGrid(psf: psf)
        let top = Double(psf.npixY) - 0.5
        let wminAll = (0..<psf.nspec).map { psf.wavelength(fiber: $0, y: -0.5) }.max()!
        let wmaxAll = (0..<psf.nspec).map { psf.wavelength(fiber: $0, y: top) }.min()!
        print(String(format: "real r0 PSF: WAVEMIN-WAVEMAX %.3f-%.3f, wmin_all %.3f, wmax_all %.3f; default grid %.1f-%.1f "
                     + "step %.1f (%d wavelengths)", psf.wavemin, psf.wavemax, wminAll, wmaxAll, grid.wavelength(0),
                     grid.wavelength(grid.count - 1), grid.dw, grid.count))
        XCTAssertEqual(grid.dw, 0.7)
        XCTAssertEqual(grid.wave0, max(wminAll, psf.wavemin).rounded(.up))
        XCTAssertEqual(grid, WaveGrid(wmin: grid.wave0, wmax: min(wmaxAll, psf.wavemax).rounded(.down), dw: 0.7))
        XCTAssertNoThrow(try ExtractionInputCheck.wavelengths(grid, psf: psf))
    }

    /// A grid whose last np.arange point would pass the PSF's WAVEMAX loses that point.
    func testDefaultGridStaysInsideThePSF() throws {
        // np.arange(5000, 5020.35, 0.7) ends at 5020.3, past WAVEMAX = 5020.
        let psf = try AnalyticPSF(nspec: 5, npixX: AnalyticPSF.requiredWidth(nspec: 5), npixY: 60, wavemin: 5000, wavemax: 5020)
        let grid = ExtractionWavelengths.defaultGrid(psf: psf)
        XCTAssertEqual(grid, WaveGrid(wave0: 5000, dw: 0.7, count: 29))
        XCTAssertGreaterThanOrEqual(grid.wavelength(0), psf.wavemin)
        XCTAssertLessThanOrEqual(grid.wavelength(grid.count - 1), psf.wavemax)
        XCTAssertNoThrow(try ExtractionInputCheck.wavelengths(grid, psf: psf))
    }

    /// With the barycentric factor f the extracted grid is the output grid divided by f, point by point.
    func testObservedGridIsTheOutputGridOverTheFactor() {
        let grid = WaveGrid(wmin: 5760, wmax: 7620, dw: 0.8), f = 1.0000712
        let observed = ExtractionWavelengths.observedGrid(grid, barycentricFactor: f)
        XCTAssertEqual(observed.count, grid.count)
        for k in [0, 1000, grid.count - 1] {
            XCTAssertEqual(observed.wavelength(k), grid.wavelength(k) / f, accuracy: 1e-9)
        }
        XCTAssertEqual(ExtractionWavelengths.observedGrid(grid, barycentricFactor: 1), grid)
    }
}
