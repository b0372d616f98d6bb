import DESICore
import FITS
import XCTest

@testable import Simulation

/// Science exposures are simulated in the observatory frame: the raw header states the tile centre and the time,
/// the objects' light (given in the barycentric frame, as the truth keeps it) lands on the CCD at lambda / factor.
final class ObservatoryFrameTests: XCTestCase {
    func tempDir() -> String {
        let d = NSTemporaryDirectory() + "simframe-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func simulate(_ flavor: ExposureFlavor, in dir: String) throws -> (primary: FITSHeader, truth: FITSHeader) {
        let o = SimulationOptions(night: 20250102, expid: flavor == .science ? 42 : 43, flavor: flavor,
                                  cameras: try Camera.parseList("r0"), nspec: 3, ny: 200, nx: AnalyticPSF.requiredWidth(nspec: 3),
                                  psfPath: nil, exptime: 300, seed: 7, outdir: dir, dataDirectory: nil, cosmics: false,
                                  overwrite: false, truthImages: false, history: "desispec-swift test simulate")
        let out = try SimulationRunner.run(o, psfLoader: nil) { _ in }
        let raw = try FITSFile.open(out.raw)
        let primary = try raw.readHeader()
        try raw.close()
        let truth = try FITSFile.open(out.truth)
        let th = try truth.readHeader()
        try truth.close()
        return (primary, th)
    }

    func testScienceRawStatesThePointingAndTheTruthItsFactor() throws {
        let dir = tempDir()
        let science = try simulate(.science, in: dir)
        XCTAssertEqual(science.primary.double("TARGTRA"), TargetSimulator.fieldCentre.ra)
        XCTAssertEqual(science.primary.double("TARGTDEC"), TargetSimulator.fieldCentre.dec)
        // MJD-OBS agrees with DATE-OBS: 07:00 UTC on 2025-01-03
        XCTAssertEqual(try XCTUnwrap(science.primary.double("MJD-OBS")), 60678 + 7.0 / 24, accuracy: 1e-9)
        let factor = try BarycentricCorrection.factor(header: science.primary, source: "raw")
        XCTAssertEqual(try XCTUnwrap(science.truth.double("HELIOCOR")), factor)
        XCTAssertGreaterThan(abs(factor - 1), 1e-5, "the correction is tens of km/s")

        let arc = try simulate(.arc, in: dir)
        XCTAssertNil(arc.primary["TARGTRA"])
        XCTAssertNil(arc.truth["HELIOCOR"])
    }

    func testObjectLightLandsAtItsWavelengthOverTheFactor() throws {
        let psf = try AnalyticPSF.forCamera(.r, nspec: 1, npixX: AnalyticPSF.requiredWidth(nspec: 1), npixY: 400)
        let line = SpectralLine(wavelength: 6500, flux: 1e4, sigma: 0.5)
        let target = SimulatedTarget(fiber: 0, kind: .galaxy, targetID: 1, spectrum: SpectrumModel(lines: [line]), redshift: 0,
                                     templateIndex: -1, fiberAcceptance: 1, fluxGRZ: [0, 0, 0], fiberX: 0, fiberY: 0)
        var sim = ExposureSimulator(inputs: .builtin())
        sim.inputs.sky = SpectrumModel()
        let factor = 1.001
        let exposure = try sim.simulateCamera(camera: Camera(arm: .r, spectrograph: 0), flavor: .science, psf: psf,
                                              targets: [target], fiberThroughput: [1], exptime: 900, seed: 1, addNoise: false,
                                              objectWavelengthFactor: factor)
        // the line's centroid along the CCD rows is where the PSF puts lambda / factor
        var sum = 0.0, sumY = 0.0
        for y in 0..<exposure.ny {
            for x in 0..<exposure.nx {
                let e = Double(exposure.expectedElectrons[y * exposure.nx + x])
                sum += e; sumY += e * Double(y)
            }
        }
        let observed = psf.y(fiber: 0, wavelength: line.wavelength / factor)
        let rest = psf.y(fiber: 0, wavelength: line.wavelength)
        XCTAssertGreaterThan(abs(observed - rest), 0.5, "a 300 km/s shift moves the line by more than half a row (5 A per row)")
        XCTAssertEqual(sumY / sum, observed, accuracy: 0.02)
        // the truth stays in the barycentric frame
        let k = try XCTUnwrap(exposure.truth.wave.firstIndex { $0 > line.wavelength }) - 1
        XCTAssertGreaterThan(exposure.truth.objectFlux[k] + exposure.truth.objectFlux[k + 1], 0)
    }
}
