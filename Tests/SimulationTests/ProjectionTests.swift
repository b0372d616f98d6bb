import DESICore
import PSF
import XCTest

@testable import Simulation

final class ProjectionTests: XCTestCase {

    /// The electrons of a fiber's trace add up to the integral of its expected signal (photon budget).
    func testPhotonBudget() throws {
        let nspec = 6
        let psf = try SimTest.psf(nspec: nspec, arm: .r, ny: 300)
        let sim = ExposureSimulator(inputs: .builtin())
        let targets = TargetSimulator.make(nspec: nspec, spectrograph: 0, inputs: sim.inputs, instrument: sim.instrument, seed: 3)
        let thru = sim.fiberThroughputs(nspec: nspec, spectrograph: 0, seed: 3)
        // truth on a fine grid spanning exactly the PSF's wavelength range
        let step = 0.1
        let wave = stride(from: psf.wavemin + step / 2, to: psf.wavemax, by: step).map { $0 }
        let exp = try sim.simulateCamera(camera: Camera(arm: .r, spectrograph: 0), flavor: .science, psf: psf, targets: targets,
                                         fiberThroughput: thru, exptime: 600, seed: 3, truthWave: wave)
        let nw = wave.count
        var totalExpected = 0.0
        for f in 0..<nspec {
            let integral = (0..<nw).map { exp.truth.electrons[f * nw + $0] * step }.reduce(0, +)
            totalExpected += integral
            // sum the image over a window of +-3.65 px around the trace, row by row
            var s = 0.0
            for row in 0..<exp.ny {
                let w = psf.wavelength(fiber: f, y: Double(row))
                let xc = psf.x(fiber: f, wavelength: min(max(w, psf.wavemin), psf.wavemax))
                for col in Int((xc - 3.65).rounded(.up))...Int((xc + 3.65).rounded(.down)) {
                    s += Double(exp.expectedElectrons[row * exp.nx + col])
                }
            }
            XCTAssertGreaterThan(integral, 1e4)
            XCTAssertEqual(s / integral, 1, accuracy: 0.01, "fiber \(f): image \(s) vs expected \(integral)")
        }
        let imageTotal = exp.expectedElectrons.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(imageTotal / totalExpected, 1, accuracy: 0.002)
        // the Poisson image has the same total within a few sigma
        let noisyTotal = exp.electrons.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(noisyTotal, imageTotal, accuracy: 5 * imageTotal.squareRoot())
    }

    /// Same seed: identical images, whatever the thread count; another seed: a different noise realisation.
    func testDeterminism() throws {
        let nspec = 5
        let psf = try SimTest.psf(nspec: nspec, arm: .b, ny: 200)
        let sim = ExposureSimulator(inputs: .builtin())
        let targets = TargetSimulator.make(nspec: nspec, spectrograph: 1, inputs: sim.inputs, instrument: sim.instrument, seed: 11)
        let thru = sim.fiberThroughputs(nspec: nspec, spectrograph: 1, seed: 11)
        let cam = Camera(arm: .b, spectrograph: 1)
        func run(seed: UInt64, parallel: Bool) throws -> CameraExposure {
            try sim.simulateCamera(camera: cam, flavor: .science, psf: psf, targets: targets, fiberThroughput: thru,
                                   exptime: 300, seed: seed, parallel: parallel)
        }
        let a = try run(seed: 11, parallel: true), b = try run(seed: 11, parallel: true), c = try run(seed: 11, parallel: false)
        XCTAssertEqual(a.electrons, b.electrons)
        XCTAssertEqual(a.electrons, c.electrons)
        XCTAssertEqual(a.expectedElectrons, c.expectedElectrons)
        XCTAssertEqual(a.truth.electrons, c.truth.electrons)
        let d = try run(seed: 12, parallel: true)
        XCTAssertEqual(a.expectedElectrons, d.expectedElectrons)
        XCTAssertNotEqual(a.electrons, d.electrons)
        // targets and throughputs are reproducible from the seed
        let t2 = TargetSimulator.make(nspec: nspec, spectrograph: 1, inputs: sim.inputs, instrument: sim.instrument, seed: 11)
        XCTAssertEqual(t2.map(\.targetID), targets.map(\.targetID))
        XCTAssertEqual(sim.fiberThroughputs(nspec: nspec, spectrograph: 1, seed: 11), thru)
    }

    /// Unresolved sky lines land at the row the PSF gives for their wavelength.
    func testSkyLinesLandWherePSFPredicts() throws {
        let nspec = 4
        let psf = try SimTest.psf(nspec: nspec, arm: .z, ny: 600)
        var inputs = SpectralInputs.builtin()
        let lines = [7801.2, 8300.55, 8827.0, 9378.9, 9730.25]
        inputs.sky = SpectrumModel(lines: lines.map { SpectralLine(wavelength: $0, flux: 200) })
        let sim = ExposureSimulator(inputs: inputs)
        let targets = TargetSimulator.calibrationFibers(nspec: nspec, spectrograph: 0)
        let exp = try sim.simulateCamera(camera: Camera(arm: .z, spectrograph: 0), flavor: .science, psf: psf, targets: targets,
                                         fiberThroughput: [Double](repeating: 1, count: nspec), exptime: 900, seed: 1)
        for f in 0..<nspec {
            for w in lines {
                let yp = psf.y(fiber: f, wavelength: w), xp = psf.x(fiber: f, wavelength: w)
                var s = 0.0, sy = 0.0, sx = 0.0
                for row in (Int(yp.rounded()) - 6)...(Int(yp.rounded()) + 6) {
                    for col in (Int(xp.rounded()) - 3)...(Int(xp.rounded()) + 3) {
                        let v = Double(exp.expectedElectrons[row * exp.nx + col])
                        s += v; sy += v * Double(row); sx += v * Double(col)
                    }
                }
                XCTAssertGreaterThan(s, 100)
                XCTAssertEqual(sy / s, yp, accuracy: 0.05, "fiber \(f) line \(w)")
                XCTAssertEqual(sx / s, xp, accuracy: 0.05, "fiber \(f) line \(w)")
            }
        }
    }

    /// Arc exposures light every fiber with the lamp lines only; flats give a smooth continuum in every fiber.
    func testArcAndFlatFlavors() throws {
        let nspec = 3
        let psf = try SimTest.psf(nspec: nspec, arm: .r, ny: 400)
        let sim = ExposureSimulator(inputs: .builtin())
        let cam = Camera(arm: .r, spectrograph: 0)
        let targets = TargetSimulator.calibrationFibers(nspec: nspec, spectrograph: 0)
        let arc = try sim.simulateCamera(camera: cam, flavor: .arc, psf: psf, targets: targets, fiberThroughput: [1, 1, 1],
                                         exptime: SpectralInputs.arcReferenceExptime, seed: 2)
        // total arc electrons = sum over lines of the line counts times the normalised throughput at the line
        let peak = stride(from: 3000.0, through: 11000, by: 5).map { Instrument.throughput(.r, wavelength: $0) }.max()!
        let expected = sim.inputs.arcLines.filter { $0.wavelength > psf.wavemin && $0.wavelength < psf.wavemax }
            .map { $0.flux * Instrument.throughput(.r, wavelength: $0.wavelength) / peak }.reduce(0, +) * Double(nspec)
        let total = arc.expectedElectrons.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(total / expected, 1, accuracy: 1e-3)
        // between lines the image is dark
        let flat = try sim.simulateCamera(camera: cam, flavor: .flat, psf: psf, targets: targets, fiberThroughput: [1, 0.9, 1.1],
                                          exptime: 10, seed: 2)
        let nw = flat.truth.wave.count
        let mid = nw / 2
        XCTAssertEqual(flat.truth.electrons[1 * nw + mid] / flat.truth.electrons[0 * nw + mid], 0.9, accuracy: 1e-9)
        XCTAssertEqual(flat.truth.electrons[2 * nw + mid] / flat.truth.electrons[0 * nw + mid], 1.1, accuracy: 1e-9)
        // the flat's expected electrons/A follow area * time * throughput * lamp * fiber area * lambda / hc
        let w = flat.truth.wave[mid]
        let lamp = sim.inputs.flatLamp.evaluate(at: [w])[0]
        let e = lamp * sim.instrument.fiberAreaArcsec2 * sim.instrument.photonsPerFluxUnit(wavelength: w, exptime: 10)
            * Instrument.throughput(.r, wavelength: w)
        XCTAssertEqual(flat.truth.electrons[mid] / e, 1, accuracy: 2e-3)
    }

    /// Fiber throughputs stay inside what desispec's fiber-flat QA calls normal (MAX_SCALE_OFF, MAX_MEAN_OFF 0.05):
    /// 5000 fibers scatter by about the set rms and none is more than the set maximum offset from 1.
    func testFiberThroughputsStayInsideTheFiberFlatQAThresholds() {
        let sim = ExposureSimulator(inputs: .builtin())
        let thru = (0..<10).flatMap { sim.fiberThroughputs(nspec: 500, spectrograph: $0, seed: 5) }
        let offsets = thru.map { $0 - 1 }
        XCTAssertLessThanOrEqual(offsets.map(abs).max()!, sim.instrument.fiberThroughputMaxOffset)
        XCTAssertLessThan(sim.instrument.fiberThroughputMaxOffset, 0.05)
        let rms = (offsets.map { $0 * $0 }.reduce(0, +) / Double(offsets.count)).squareRoot()
        XCTAssertEqual(rms, sim.instrument.fiberThroughputRMS, accuracy: 0.1 * sim.instrument.fiberThroughputRMS)
    }
}
