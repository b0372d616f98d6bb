import DESICore
import FITS
import Foundation
import LinearAlgebra
import StdStars
import TestSupport
import XCTest

@testable import FluxCalib

/// The fiber-acceptance correction in a calibration: flat-fielded point sources at different focal-plane radii carry
/// 1 / FLAT_TO_PSF_FLUX of their flux (less of the star in a smaller patch of sky); the calibration must return the
/// same calibrated flux as for fibers with no acceptance differences.
final class FiberAcceptanceCalibrationTests: XCTestCase {
    func testFlatToPSFCorrectionRecoversPointSourceFlux() throws {
        let stars = [(3, -1e-4, 16.9), (9, 5e-5, 17.2), (14, 2e-4, 17.0), (20, 0.0, 16.7), (26, -2e-4, 17.4)].map {
            SimulatedExposure.Star(template: $0.0, redshift: $0.1, rmag: $0.2)
        }
        let sim = try SimulatedExposure.make(templates: StellarTemplates.synthetic(), filters: FilterSet.builtin(), stars: stars,
                                             nscience: 2, seed: 11, scienceLevel: 30, arms: [.b, .r, .z])
        let (mw, mf, fibers) = (sim.trueWave, sim.stdRows.flatMap { sim.trueFlux[$0] }, sim.stdRows)
        let xs = [20.0, 120, 250, 330, 400, 180, 380]
        for frame in sim.frames {
            let nw = frame.nwave, nspec = frame.nspec
            let base = try computeFluxCalibration(frame: frame, modelWave: mw, modelFlux: mf, modelFibers: fibers)
            var fm = frame.fibermap!
            fm.table.columns += [FITSColumn("FIBER_X", .double(Array(xs[0..<nspec]))),
                                 FITSColumn("FIBER_Y", .double([Double](repeating: 0, count: nspec)))]
            let psc = FiberFluxCorrection.flatToPSF(fm, seeingFWHM: 1.1)
            XCTAssertGreaterThan(psc.max()! - psc.min()!, 0.05, "the positions must matter")
            var placed = frame
            placed.fibermap = fm
            for s in 0..<nspec {
                for j in 0..<nw {
                    placed.flux[s * nw + j] = Float(Double(frame.flux[s * nw + j]) / psc[s])
                    placed.ivar[s * nw + j] = Float(Double(frame.ivar[s * nw + j]) * psc[s] * psc[s])
                }
            }
            var warnings: [String] = []
            let cal = try computeFluxCalibration(frame: placed, modelWave: mw, modelFlux: mf, modelFibers: fibers,
                                                 warn: { warnings.append($0) })
            XCTAssertTrue(warnings.contains { $0.contains("DELTA_X") })
            XCTAssertEqual(cal.fiberCorr?["FLAT_TO_PSF_FLUX"]?.data.doubles ?? [], psc)
            for v in cal.fiberCorr?["PSF_TO_FIBER_FLUX"]?.data.doubles ?? [] { XCTAssertEqual(v, 0.789, accuracy: 1e-12) }
            XCTAssertEqual(cal.fiberCorr?["PSF_TO_FIBER_FLUX"]?.data.count, nspec)
            // calibrated flux: placed / cal must equal frame / base, i.e. cal x psc = base, fiber by fiber
            var worst = 0.0
            for s in 0..<nspec {
                let ratios = (0..<nw).filter { base.ivar[s * nw + $0] > 0 && cal.ivar[s * nw + $0] > 0 }
                    .map { Double(cal.calib[s * nw + $0]) * psc[s] / Double(base.calib[s * nw + $0]) }
                worst = max(worst, abs(Statistics.median(ratios) - 1))
            }
            print("camera \(frame.camera!): FLAT_TO_PSF_FLUX \(psc.map { String(format: "%.4f", $0) }), "
                  + "worst per-fiber calibration error \(worst)")
            XCTAssertLessThan(worst, 2e-3, "camera \(frame.camera!)")
        }
    }
}
