import DESICore
import FITS
import Foundation
import Preproc
import QA
import Simulation
import XCTest

/// The variance-model check on a simulated full-size frame (4128 x 4114, four amplifiers, 500 traces): the CCD is
/// read out by the simulator with each amplifier's true gain and read noise and preprocessed by the Preproc module,
/// so the pipeline's variance and the pixels' scatter are what a real night gives.
final class VarianceCheckTests: XCTestCase {
    /// One simulated, preprocessed full-size frame shared by the tests (simulating it takes a while).
    struct FullFrame {
        let config: CCDConfig
        let image: Image
        let raw: RawImage
        let expected: [Float]
        let traceColumn: @Sendable (Int, Double) -> Double
    }

    nonisolated(unsafe) static var cached: FullFrame?

    /// 20 bundles of 25 fibers, 7.4 columns apart in a bundle, bent by up to 3 columns; Gaussian profiles of
    /// sigma 1.05 columns; each fiber 50-3000 electrons per row (so the shot noise spans well past the read noise),
    /// on a background of 2 electrons.
    static func fullFrame() throws -> FullFrame {
        if let c = cached { return c }
        let config = CCDConfig.desiDefault(ny: 4128, nx: 4114, camera: "r0")
        let ny = config.ny, nx = config.nx
        let column: @Sendable (Int, Double) -> Double = { f, y in
            60 + Double(f / 25) * 200 + Double(f % 25) * 7.4 + 3 * sin(Double.pi * y / 4128)
        }
        let sigma = 1.05
        var expected = [Float](repeating: 2, count: ny * nx)
        for f in 0..<500 {
            let level = 50 * pow(60, Double((f * 37) % 500) / 499)   // 50 .. 3000 electrons per row
            for y in 0..<ny {
                let xc = column(f, Double(y)), flux = level * (1 + 0.3 * sin(Double(y) / 150 + Double(f)))
                for x in max(0, Int(xc) - 5)...min(nx - 1, Int(xc) + 6) {
                    let d = (Double(x) - xc) / sigma
                    expected[y * nx + x] += Float(flux * exp(-0.5 * d * d) / (sigma * (2 * Double.pi).squareRoot()))
                }
            }
        }
        var rng = SimulationRandom(seed: 15)
        let electrons = expected.map { Float(rng.poisson(Double($0))) }
        let raw = config.readout(electrons: electrons, ny: ny, nx: nx, exptime: 900, rng: &rng)
        let primary = RawExposureWriter.primaryHeader(night: 20250101, expid: 15, exptime: 900)
        var header = raw.header
        header.merge(primary)
        let rawImage = RawImage(ny: raw.ny, nx: raw.nx, data: raw.data.map(Float.init), header: header, primaryHeader: primary)
        var options = PreprocOptions()
        options.nocosmic = true
        let image = try Preprocessor.run(rawImage, options: options).image
        // the expectation of the preprocessed pixels: signal and dark current
        let dark = Float(config.amplifiers[0].darkCurrent * 900)
        let frame = FullFrame(config: config, image: image, raw: rawImage, expected: expected.map { $0 + dark }, traceColumn: column)
        cached = frame
        return frame
    }

    /// An honest frame: no variance warning; the read noise between the traces is each amplifier's true one (with the
    /// ADU rounding, gain^2 / 12) within 1.5 %, the shot-noise slope is 1 within 1.5 %, with both residual sources
    /// (measured: within 0.2 % both).
    func testHonestFrameRaisesNoWarning() throws {
        let frame = try Self.fullFrame()
        for model in [nil, frame.expected] {
            let check = VarianceCheck.analyze(frame.image, traceColumn: frame.traceColumn, nfibers: 500, model: model)
            XCTAssertEqual(check.warnings, [], "source \(check.source)")
            XCTAssertEqual(check.amplifiers.map(\.name), ["A", "B", "C", "D"])
            for (a, truth) in zip(check.amplifiers, frame.config.amplifiers) {
                let rn = (truth.readNoise * truth.readNoise + truth.gain * truth.gain / 12).squareRoot()
                let measured = try XCTUnwrap(a.measuredBetween)
                XCTAssertEqual(measured / rn, 1, accuracy: 0.015, "\(check.source) amp \(a.name): \(measured) vs \(rn)")
                XCTAssertGreaterThan(a.pixelsBetween, 100_000)
                XCTAssertEqual(try XCTUnwrap(a.pipelineExcessBetween) / rn, 1, accuracy: 0.03, "amp \(a.name)")
                let slope = try XCTUnwrap(a.shotSlope), err = try XCTUnwrap(a.shotSlopeError)
                XCTAssertEqual(slope, 1, accuracy: 0.015, "\(check.source) amp \(a.name) slope \(slope) +- \(err)")
                XCTAssertLessThan(err, 0.01)
                XCTAssertEqual(try XCTUnwrap(a.residualReadNoise) / rn, 1, accuracy: 0.03, "\(check.source) amp \(a.name)")
            }
        }
    }

    /// Amplifier B's header states a read noise 20 % lower than the true one (RDNOISEB, which the preprocessing copies
    /// from the raw header and uses only for a note: the variance comes from the overscan): B is flagged, and only B.
    func testUnderstatedReadNoiseFlagsThatAmplifierOnly() throws {
        let frame = try Self.fullFrame()
        var image = frame.image
        let truth = frame.config.amplifiers[1]
        image.header.set("RDNOISEB", 0.8 * truth.readNoise)
        let check = VarianceCheck.analyze(image, traceColumn: frame.traceColumn, nfibers: 500, model: nil)
        let flagged = Set(check.warnings.compactMap { $0.split(separator: ":").first.map(String.init) })
        XCTAssertEqual(flagged, ["amplifier B"], "\(check.warnings)")
        XCTAssertTrue(check.warnings.contains { $0.contains("measured between the traces") }, "\(check.warnings)")
        let b = check.amplifiers[1]
        let rn = (truth.readNoise * truth.readNoise + truth.gain * truth.gain / 12).squareRoot()
        XCTAssertEqual(try XCTUnwrap(b.measuredBetween) / b.headerReadNoise, rn / (0.8 * truth.readNoise), accuracy: 0.02)
    }

    /// Amplifier B's raw header states a gain 15 % above the true one: the preprocessed electrons are 1.15 x the
    /// true ones, their variance grows as 1.15 x the electrons; B's gain (and, in electrons, its read noise) is
    /// flagged, and no other amplifier.
    func testWrongGainFlagsThatAmplifierOnly() throws {
        let frame = try Self.fullFrame()
        var raw = frame.raw
        let truth = frame.config.amplifiers[1]
        raw.header.set("GAINB", 1.15 * truth.gain)
        var options = PreprocOptions()
        options.nocosmic = true
        let image = try Preprocessor.run(raw, options: options).image
        let check = VarianceCheck.analyze(image, traceColumn: frame.traceColumn, nfibers: 500, model: nil)
        let flagged = Set(check.warnings.compactMap { $0.split(separator: ":").first.map(String.init) })
        XCTAssertEqual(flagged, ["amplifier B"], "\(check.warnings)")
        XCTAssertTrue(check.warnings.contains { $0.contains("the gain looks wrong") }, "\(check.warnings)")
        XCTAssertEqual(try XCTUnwrap(check.amplifiers[1].shotSlope), 1.15, accuracy: 0.02)
    }

    /// The QA entry carries every amplifier with its numbers, and the figure is drawn.
    func testQAValueAndFigure() throws {
        let frame = try Self.fullFrame()
        let check = VarianceCheck.analyze(frame.image, traceColumn: frame.traceColumn, nfibers: 500, model: nil)
        let amps = try XCTUnwrap(check.qaValue["AMPS"]?.list)
        XCTAssertEqual(amps.compactMap { $0["AMP"]?.string }, ["A", "B", "C", "D"])
        XCTAssertEqual(amps[2]["CCDSEC"]?.string, check.amplifiers[2].region.description)
        XCTAssertEqual(check.qaValue["SOURCE"]?.string, "row-differences")
        let path = NSTemporaryDirectory() + "variance-\(ProcessInfo.processInfo.processIdentifier).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Figures.variance(check, title: "r0", path: path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }
}
