import DESICore
import FITS
import PSF
import XCTest

@testable import Simulation

final class PSFInteropTests: XCTestCase {

    /// The GAUSS-HERMITE file written for the analytic PSF reads back (PSF module's reader) as the same PSF.
    func testWrittenPSFReadsBackAsSamePSF() throws {
        let psf = try AnalyticPSF.forCamera(.b, nspec: 8, npixX: AnalyticPSF.requiredWidth(nspec: 8), npixY: 300)
        let path = NSTemporaryDirectory() + "simpsf-\(UUID().uuidString).fits"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try psf.writeGaussHermite(path: path, camera: "b0", history: "test")
        let back = try readPSF(path)
        XCTAssertEqual(back.nspec, 8)
        XCTAssertEqual(back.wavemin, psf.wavemin, accuracy: 1e-9)
        for f in [0, 7] {
            for w in [3700.0, 4800, 5700] {
                XCTAssertEqual(back.x(fiber: f, wavelength: w), psf.x(fiber: f, wavelength: w), accuracy: 1e-6)
                XCTAssertEqual(back.y(fiber: f, wavelength: w), psf.y(fiber: f, wavelength: w), accuracy: 1e-6)
                // compare the spots on the common pixels
                let a = psf.spot(fiber: f, wavelength: w), b = back.spot(fiber: f, wavelength: w)
                var maxDiff = 0.0, sumB = 0.0
                for i in 0..<b.ny { for j in 0..<b.nx {
                    let v = b.values[i * b.nx + j]; sumB += v
                    let ai = b.y0 + i - a.y0, aj = b.x0 + j - a.x0
                    let u = (ai >= 0 && ai < a.ny && aj >= 0 && aj < a.nx) ? a.values[ai * a.nx + aj] : 0
                    maxDiff = max(maxDiff, abs(u - v))
                } }
                XCTAssertEqual(sumB, 1, accuracy: 1e-3)
                XCTAssertLessThan(maxDiff, 1e-4, "fiber \(f) wave \(w)")
            }
        }
    }

    /// With a real specex PSF (GH core + tails, 500 fibers), the photon budget holds over the CCD rows.
    func testPhotonBudgetWithRealPSF() throws {
        let path = SimTest.dataDirectory + "/psf/psf-r0-00051060.fits"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("real PSF not found at \(path) (set DESISPEC_TESTDATA)") }
        let psf = try readPSF(path)
        let nspec = 3
        let sim = ExposureSimulator(inputs: .builtin())
        let targets = TargetSimulator.calibrationFibers(nspec: nspec, spectrograph: 0)
        let step = 0.1
        let wave = stride(from: psf.wavemin + step / 2, to: psf.wavemax, by: step).map { $0 }
        let exp = try sim.simulateCamera(camera: Camera(arm: .r, spectrograph: 0), flavor: .flat, psf: psf, targets: targets,
                                         fiberThroughput: [1, 1, 1], exptime: 10, seed: 1, truthWave: wave, addNoise: false)
        var expected = 0.0
        for f in 0..<nspec {
            let w0 = psf.wavelength(fiber: f, y: 99.5), w1 = psf.wavelength(fiber: f, y: 3999.5)
            for (k, w) in wave.enumerated() where w >= w0 && w < w1 { expected += exp.truth.electrons[f * wave.count + k] * step }
        }
        var image = 0.0
        for row in 100..<4000 { for col in 0..<200 { image += Double(exp.expectedElectrons[row * exp.nx + col]) } }
        XCTAssertGreaterThan(expected, 1e6)
        XCTAssertEqual(image / expected, 1, accuracy: 0.01)
    }
}
