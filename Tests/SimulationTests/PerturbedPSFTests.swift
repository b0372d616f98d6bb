import DESICore
import Foundation
import PSF
import XCTest
@testable import Simulation

/// The per-fiber PSF perturbation the sky adjustments are tested against (issue 12).
final class PerturbedPSFTests: XCTestCase {
    func rowMoments(_ s: PSFSpot) -> (mean: Double, variance: Double, sum: Double) {
        var t = 0.0, m1 = 0.0, m2 = 0.0
        for i in 0..<s.ny {
            let r = (0..<s.nx).reduce(0.0) { $0 + s.values[i * s.nx + $1] }
            let y = Double(s.y0 + i)
            t += r; m1 += r * y; m2 += r * y * y
        }
        return (m1 / t, m2 / t - pow(m1 / t, 2), t)
    }

    func testSpotsMoveAndWidenAsAsked() throws {
        let base = try AnalyticPSF.forCamera(.r, nspec: 5, npixX: AnalyticPSF.requiredWidth(nspec: 5), npixY: 400)
        let offsets = [0.0, 0.08, -0.05, 0.1, 0.0], scales = [1.0, 1.04, 0.96, 1.0, 1.02]
        let psf = try PerturbedPSF(base: base, wavelengthOffset: offsets, widthScale: scales)
        let lam = 0.5 * (base.wavemin + base.wavemax)
        for f in 0..<5 {
            let b = rowMoments(base.spot(fiber: f, wavelength: lam))
            let p = rowMoments(psf.spot(fiber: f, wavelength: lam))
            let dydl = base.y(fiber: f, wavelength: lam + 0.5) - base.y(fiber: f, wavelength: lam - 0.5)
            // the line lands where the base PSF puts lambda + offset
            XCTAssertEqual(p.mean - b.mean, offsets[f] * dydl, accuracy: 2e-3, "fiber \(f) centroid")
            XCTAssertEqual(psf.y(fiber: f, wavelength: lam), base.y(fiber: f, wavelength: lam + offsets[f]), accuracy: 1e-9)
            XCTAssertEqual(psf.wavelength(fiber: f, y: psf.y(fiber: f, wavelength: lam)), lam, accuracy: 1e-6)
            // row variance less pixel integration scales by scale^2; the flux is kept
            let sig2 = b.variance - 1.0 / 12
            XCTAssertEqual(p.variance - 1.0 / 12, scales[f] * scales[f] * sig2, accuracy: 1e-3 * sig2, "fiber \(f) width")
            // (the second difference leaves the stamp's last rows' share, and sharpened wings are clipped at 0)
            XCTAssertEqual(p.sum, rowMoments(base.spot(fiber: f, wavelength: lam + offsets[f])).sum, accuracy: 1e-4)
        }
        XCTAssertThrowsError(try PerturbedPSF(base: base, wavelengthOffset: [0], widthScale: [1])) { e in
            XCTAssertTrue("\(e)".contains("5 fibers"), "\(e)")
        }
        let smooth = try PerturbedPSF.smooth(base: base, offsetAmplitude: 0.1, offsetPeriod: 20, scaleAmplitude: 0.04, scalePeriod: 20)
        XCTAssertEqual(smooth.wavelengthOffset[3], 0.1 * sin(2 * Double.pi * 3 / 20), accuracy: 1e-12)
        XCTAssertEqual(smooth.widthScale[3], 1 + 0.04 * sin(2 * Double.pi * 3 / 20), accuracy: 1e-12)
    }
}
