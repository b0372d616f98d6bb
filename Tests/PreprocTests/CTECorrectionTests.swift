import DESICore
import FITS
import Foundation
import PSF
import Simulation
import XCTest

@testable import Preproc

/// CTE: the trap model against desispec.correct_cte's functions on the same row, the calibration keys, and the
/// correction of a full-size frame whose electrons went through a trap before the readout.
final class CTECorrectionTests: XCTestCase {
    /// One row of pixels (readout at index 0); the expected rows are desispec 0.70's add_cte / apply_multiple_cte_effects
    /// on it (printed by /work/refenv/bin/python with desispec.correct_cte, see Docs/preproc.md).
    static let row: [Double] = [0, 5, 120, 800, 30, 2, 0, 0, 400, 50, 10, 3, 1, 0, 900, 900, 20, 0]

    func testTrapModelMatchesDesispec() {
        var simplified = Self.row
        CTETrapModel.add(.simplifiedRegnault(amplitude: 40, fracleak: 0.2), to: &simplified, rows: 1, nx: Self.row.count, first: 0)
        let desiSimplified = [0.0, 0.0, 86.0, 806.8, 30.590000000000003, 7.9025, 5.141500000000001, 4.1132, 379.74336, 54.051328,
                              14.6961504, 7.689539440000001, 5.236294986000001, 3.8072254348000003, 878.27468208704,
                              904.345063582592, 22.8264092486976, 5.95654936417408]
        var regnault = Self.row
        CTETrapModel.add(.regnault(cmax: 60, fin: 0.5, fout: 0.05, alpha: 0.8, beta: 0.9), to: &regnault, rows: 1,
                         nx: Self.row.count, first: 0)
        let desiRegnault = [0.0, 2.8716501936980383, 84.09274080883426, 780.1189125469899, 32.1905021963916, 4.715066989533896,
                            2.717026573393273, 2.6050369753240026, 390.1855851045757, 51.57112881731451, 12.374923132802769,
                            5.513924804064635, 3.5268596600530695, 2.5311206279600187, 888.4104400740854, 900.4776862574734,
                            22.2262610108487, 2.7930287388407544]
        var multiple = Self.row
        CTETrapModel.apply([CTETrap(location: 3, transfer: .simplifiedRegnault(amplitude: 40, fracleak: 0.2)),
                            CTETrap(location: 10, transfer: .simplifiedRegnault(amplitude: 15, fracleak: 0.5))],
                           to: &multiple, rows: 1, nx: Self.row.count)
        let desiMultiple = [0.0, 5.0, 120.0, 760.0, 38.0, 8.0, 5.2, 4.16, 379.968, 54.0064, 6.53312, 9.799679999999999,
                            6.649847999999999, 4.92032324, 868.0551545120001, 910.0789690976, 20.362793521843003, 9.87787789702191]
        for (ours, desi) in [(simplified, desiSimplified), (regnault, desiRegnault), (multiple, desiMultiple)] {
            for (a, b) in zip(ours, desi) { XCTAssertEqual(a, b, accuracy: 1e-9 * max(1, abs(b))) }
        }
    }

    func testSectorsAndParameterRecords() throws {
        let dir = temporaryDirectory()
        let yaml = "\(dir)/sm1-r.yaml"
        try "r0:\n  V1:\n    DATE-OBS-BEGIN: 20200101\n    DETECTOR: M1-12\n    CTECOLSB: '3000:3100,3500:3600'\n"
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let frame = SimulatedCamera.make(ny: 100, nx: 120)
        let config = try CalibrationConfig.select(yamlPath: yaml, headers: [frame.rawImage.header, frame.rawImage.primaryHeader])
        let sectors = try CTEParameters.sectors(config: config, ampIDs: ["A", "B", "C", "D"])
        XCTAssertEqual(sectors.count, 1)
        XCTAssertEqual(sectors[0].amp, "B")
        XCTAssertEqual(sectors[0].sectors.map(\.start), [3000, 3500])
        XCTAssertEqual(sectors[0].sectors.map(\.stop), [3100, 3600])
        let records = try CTEParameters.parseRecords("""
            - AMPLIFIER: B
              AMPLITUDE: 60.5
              CAMERA: r0
              FRACLEAK: 0.15
              FUNC: simplified_regnault
              NIGHT: 20240105
              SECTOR: '3000:3100'
            - AMPLIFIER: C
            """, path: "x")
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0]["SECTOR"], "3000:3100")
        XCTAssertEqual(records[0]["AMPLITUDE"], "60.5")
        XCTAssertEqual(CTEParameters.nightsBetween(20231225, 20240107), 13)
        XCTAssertEqual(CTEParameters.nightsBetween(20240107, 20231225), -13)
    }

    /// A full-size r0 frame whose amplifier B (read out at the right edge) has a trap at column 3100 (every pixel
    /// of the amplifier left of it passes through it): amplitude 60 e, 15% leak per transfer. Compared on the traces of
    /// amplifier B with the same electrons and read noise read out without the trap.
    func testCorrectionRemovesInjectedCTE() throws {
        let psf = "\(testDataDirectory())/psf/psf-r0-00051060.fits"
        guard FileManager.default.fileExists(atPath: psf) else { throw XCTSkip("no \(psf)") }
        let frame = try TraceFrame.make(psfFile: psf, camera: "r0", rowCounts: 800, modelProfile: true)
        let ny = frame.ny, nx = frame.nx
        // the electrons TraceFrame read out, then the same ones through the trap of amplifier B
        let electrons = Projection.poisson(frame.expected, ny: ny, nx: nx, seed: 7, stream: 1)
        let trap = CTETrap(location: nx - 3100, transfer: .simplifiedRegnault(amplitude: 60, fracleak: 0.15))
        let ampB = CTEAmplifier(name: "B", rows: 0..<(ny / 2), cols: (nx / 2)..<nx, readoutAtRight: true, traps: [trap])
        let untrapped = electrons.map { Double($0) }
        var trapped = untrapped
        _ = CTECorrection.readOut(ampB, model: untrapped, into: &trapped, nx: nx)
        var config = CCDConfig.desiDefault(ny: ny, nx: nx, camera: "r0")
        for i in config.amplifiers.indices { config.amplifiers[i].darkCurrent = 0 }
        var rng = SimulationRandom(seed: 7)
        let raw = config.readout(electrons: trapped.map { Float($0) }, ny: ny, nx: nx, exptime: 900, rng: &rng)
        var header = raw.header
        header.merge(frame.primary)
        let trappedRaw = RawImage(ny: raw.ny, nx: raw.nx, data: raw.data.map(Float.init), header: header, primaryHeader: frame.primary)

        let dir = temporaryDirectory()
        let yaml = "\(dir)/sm1-r.yaml", params = "\(dir)/ctecorr-20240101.yaml"
        try "r0:\n  V1:\n    DATE-OBS-BEGIN: 20200101\n    DETECTOR: M1-12\n    CTECOLSB: '3000:3100'\n"
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        try """
            - AMPLIFIER: B
              AMPLITUDE: 60.0
              CAMERA: r0
              CHI2PDF: 1.0
              FRACLEAK: 0.15
              FUNC: simplified_regnault
              NIGHT: 20240105
              SECTOR: '3000:3100'
            """.write(toFile: params, atomically: true, encoding: .utf8)

        var options = PreprocOptions()
        options.nocosmic = true
        let clean = try Preprocessor.run(frame.rawImage, options: options).image
        options.calibration = try CalibrationConfig.select(yamlPath: yaml, headers: [header, frame.primary])
        options.noCTECorrection = true
        let uncorrected = try Preprocessor.run(trappedRaw, options: options).image
        options.noCTECorrection = false
        XCTAssertThrowsError(try Preprocessor.run(trappedRaw, options: options)) { e in   // no parameter file
            XCTAssertTrue("\(e)".contains("--cte-params"), "\(e)")
        }
        options.cteParameterFile = params
        options.traces = frame.tracesProvider
        options.fiberflat = try unitFiberFlat(nspec: frame.traces.nspec, wavemin: frame.psf.wavemin, wavemax: frame.psf.wavemax)
        let corrected = try Preprocessor.run(trappedRaw, options: options)
        XCTAssertTrue(corrected.notes.contains { $0.contains("CTE correction of amplifier B, iteration 4") })

        // on the traces of amplifier B behind the trap, and on the rest of the CCD
        func stats(_ img: Image, _ inside: Bool) -> (mean: Double, rms: Double) {
            var s = 0.0, s2 = 0.0, n = 0.0
            for r in 0..<ny {
                for c in 0..<nx {
                    let i = r * nx + c
                    let behind = r < ny / 2 && c >= nx / 2 && c < 3100
                    guard behind == inside, frame.expected[i] > 20 else { continue }
                    let d = Double(img.pix[i]) - Double(clean.pix[i])
                    s += d; s2 += d * d; n += 1
                }
            }
            return (s / n, (s2 / n).squareRoot())
        }
        let before = stats(uncorrected, true), after = stats(corrected.image, true), elsewhere = stats(corrected.image, false)
        print(String(format: "CTE on the traces behind the trap: before correction mean %.3f rms %.3f e; after mean %.3f rms %.3f e; "
                     + "rest of the CCD after: mean %.4f rms %.4f e", before.mean, before.rms, after.mean, after.rms,
                     elsewhere.mean, elsewhere.rms))
        XCTAssertGreaterThan(before.rms, 5, "the injected trap should be visible")
        XCTAssertLessThan(after.rms, 0.25 * before.rms)
        XCTAssertLessThan(abs(after.mean), 0.1 * abs(before.mean) + 0.05)
        XCTAssertEqual(elsewhere.rms, 0, accuracy: 1e-3)   // the other amplifiers are untouched
    }
}
