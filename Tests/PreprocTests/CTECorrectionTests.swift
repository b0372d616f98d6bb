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

    /// onedprofile_gh's profiles of psf-r0-00051060.fits (desispec 0.70 with specter, printed by /work/refenv/bin/python:
    /// `onedprofile_gh(psf, np.array([0, 1000, 2057, 4100]), np.array([f]))`): first column and values, float32 there.
    func testRowProfilesMatchDesispec() throws {
        let psfFile = "\(testDataDirectory())/psf/psf-r0-00051060.fits"
        guard FileManager.default.fileExists(atPath: psfFile) else { throw XCTSkip("no \(psfFile)") }
        let gh = try XCTUnwrap(try readPSF(psfFile) as? GaussHermitePSF)
        let p = gh.rowProfiles(ny: 4101)
        let desi: [(fiber: Int, row: Int, first: Int, wave: Double, values: [Double])] = [
            (0, 0, 115, 5546.176533816855, [3.0407853e-11, 1.3904738e-08, 1.9515255e-06, 7.2877789e-05, 0.00047213686, 0.0023407452,
             0.066607662, 0.26219136, 0.35403889, 0.25563368, 0.056070019, 0.0017049675, 0.00077073008, 9.258213e-05,
             2.2284651e-06, 1.4894363e-08, 3.1097635e-11]),
            (0, 4100, 103, 7722.243177076588, [7.8616464e-09, 8.4780226e-07, 3.6033845e-05, 0.00056666543, 0.0032568243,
             0.014349397, 0.0879125, 0.25386325, 0.33431497, 0.23417524, 0.067350708, 0.0038805294, 0.00014968145,
             0.0001317196, 1.1121871e-05, 2.7497634e-07, 2.484186e-09]),
            (250, 2057, 2033, 6745.381137570095, [2.0697268e-08, 1.9641122e-06, 6.8214729e-05, 0.00074924383, 0.0020702605,
             0.013977512, 0.12151469, 0.29689401, 0.33153883, 0.19082692, 0.037416521, 0.0033571236, 0.0013788933,
             0.00019723261, 8.3567047e-06, 1.2526314e-07, 7.2332129e-10]),
            (499, 0, 3935, 5546.560314578557, [6.18837e-11, 3.273265e-08, 4.7309613e-06, 0.00015534746, 0.00060537067,
             0.0078959204, 0.13433649, 0.33505809, 0.33732638, 0.16901217, 0.015521294, -0.00058366853, 7.8963894e-05,
             5.1785287e-06, 5.0565138e-08, 1.2290421e-10, 8.4872254e-14]),
        ]
        XCTAssertEqual(p.width, 17)
        for d in desi {
            let k = d.fiber * p.ny + d.row
            XCTAssertEqual(Int(p.first[k]), d.first, "fiber \(d.fiber) row \(d.row)")
            XCTAssertEqual(p.wave[k], d.wave, accuracy: 1e-6)
            for j in 0..<p.width {
                // desispec sums and normalises in float32: a few of its rounding steps (1e-6 relative); a wrong order,
                // centre or sigma would move the values by more than 1e-3
                XCTAssertEqual(Double(p.values[k * p.width + j]), d.values[j], accuracy: 1e-6 * abs(d.values[j]) + 1e-9,
                               "fiber \(d.fiber) row \(d.row) column \(j)")
            }
        }
    }

    /// The row-by-row extraction of a noise-free image made of the PSF's own profiles gives back its fluxes (60 fibers
    /// of psf-r0-00051060.fits in 3 blocks of 25, overlapping wings, 300 rows, uneven ivar).
    func testRowByRowExtractionRecoversFluxes() throws {
        let psfFile = "\(testDataDirectory())/psf/psf-r0-00051060.fits"
        guard FileManager.default.fileExists(atPath: psfFile) else { throw XCTSkip("no \(psfFile)") }
        let gh = try XCTUnwrap(try readPSF(psfFile) as? GaussHermitePSF)
        let ny = 300, nfib = 60, all = gh.rowProfiles(ny: ny)
        let w = all.width, n = nfib * ny
        let p = CrossDispersionProfiles(nspec: nfib, ny: ny, width: w, first: Array(all.first[0..<n]),
                                        values: Array(all.values[0..<(n * w)]), x: Array(all.x[0..<n]), wave: Array(all.wave[0..<n]))
        let nx = Int(p.first.max()!) + w + 5
        let flux = (0..<n).map { k in 500 + 400 * sin(Double(k % ny) / 37 + Double(k / ny)) }
        let image = CTERowByRowModel.project(flux, profiles: p, nx: nx)
        let ivar = (0..<(ny * nx)).map { Float(0.5 + Double(($0 * 7919) % 13) / 10) }
        let got = CTERowByRowModel.extract(pix: image.map { Float($0) }, ivar: ivar, ny: ny, nx: nx, profiles: p)
        var worst = 0.0
        for k in 0..<n { worst = max(worst, abs(got[k] - flux[k]) / flux[k]) }
        XCTAssertLessThan(worst, 1e-5, "largest relative flux error")   // the image is float32
    }

    /// A full-size r0 frame whose amplifier B (read out at the right edge) has a trap at column 3100 (every pixel of
    /// the amplifier left of it passes through it): amplitude 60 e, 15% leak per transfer. The electrons are smooth
    /// spectra (400-1100 e per row and fiber) spread by psf-r0-00051060.fits's cross-dispersion profiles; the same
    /// electrons and read noise are also read out without the trap, and the corrected image is compared with that one
    /// on the traces behind the trap.
    func testCorrectionRemovesInjectedCTE() throws {
        let psfFile = "\(testDataDirectory())/psf/psf-r0-00051060.fits"
        guard FileManager.default.fileExists(atPath: psfFile) else { throw XCTSkip("no \(psfFile)") }
        let gh = try XCTUnwrap(try readPSF(psfFile) as? GaussHermitePSF)
        let frame = try CTEFrame.make(psf: gh, camera: "r0")
        let ny = frame.ny, nx = frame.nx
        let dir = temporaryDirectory()
        let (yaml, params) = try CTEFrame.writeCalibration(dir: dir, fiberflat: nil)

        var options = PreprocOptions()
        options.nocosmic = true
        let clean = try Preprocessor.run(frame.clean, options: options).image
        options.calibration = try CalibrationConfig.select(yamlPath: yaml, headers: [frame.trapped.header, frame.trapped.primaryHeader])
        options.noCTECorrection = true
        let uncorrected = try Preprocessor.run(frame.trapped, options: options).image
        options.noCTECorrection = false
        XCTAssertThrowsError(try Preprocessor.run(frame.trapped, options: options)) { e in   // no parameter file
            XCTAssertTrue("\(e)".contains("--cte-params"), "\(e)")
        }
        options.cteParameterFile = params
        XCTAssertThrowsError(try Preprocessor.run(frame.trapped, options: options)) { e in   // no PSF
            XCTAssertTrue("\(e)".contains("Gauss-Hermite PSF"), "\(e)")
        }
        options.cteProfiles = { ny, image in gh.rowProfiles(ny: ny, shiftFrom: image) }
        options.fiberflat = ModelFiberFlat(try unitFiberFlat(nspec: gh.nspec, wavemin: gh.wavemin, wavemax: gh.wavemax))
        let corrected = try Preprocessor.run(frame.trapped, options: options)
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

    /// Writes the CTE frame's raw exposures (trapped desi-00001234.fits.fz, trap-free desi-00001235.fits.fz: same
    /// electrons and read noise) and the calibration files for scripts/compare_cte.py, when PREPROC_CTE_FIXTURE_DIR is
    /// set.
    func testWriteCTEFrameFixture() throws {
        guard let dir = ProcessInfo.processInfo.environment["PREPROC_CTE_FIXTURE_DIR"] else {
            throw XCTSkip("set PREPROC_CTE_FIXTURE_DIR to write the CTE frame fixture")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let psfFile = "\(testDataDirectory())/psf/psf-r0-00051060.fits"
        let gh = try XCTUnwrap(try readPSF(psfFile) as? GaussHermitePSF)
        let frame = try CTEFrame.make(psf: gh, camera: "r0")
        try RawExposureWriter.writeRawExposure(path: "\(dir)/desi-00001234.fits.fz", primaryHeader: frame.trapped.primaryHeader,
                                               cameras: [frame.trappedCamera])
        var cleanPrimary = frame.trapped.primaryHeader
        cleanPrimary.set("EXPID", 1235)
        var cleanCamera = frame.cleanCamera
        cleanCamera.header.set("EXPID", 1235)
        try RawExposureWriter.writeRawExposure(path: "\(dir)/desi-00001235.fits.fz", primaryHeader: cleanPrimary, cameras: [cleanCamera])
    }
}

/// A full-size camera whose amplifier B has a CTE trap (see testCorrectionRemovesInjectedCTE).
struct CTEFrame {
    var expected: [Double]
    var trapped: RawImage
    var clean: RawImage
    var trappedCamera: RawCamera
    var cleanCamera: RawCamera
    var ny: Int
    var nx: Int

    /// The trap: sector 3000:3100 of amplifier B, simplified_regnault with amplitude 60 e and 15% leak.
    static let trap = CTETransfer.simplifiedRegnault(amplitude: 60, fracleak: 0.15)

    static func make(psf gh: GaussHermitePSF, camera: String, seed: UInt64 = 7) throws -> CTEFrame {
        let ny = gh.npixY, nx = gh.npixX
        let p = gh.rowProfiles(ny: ny)
        let flux = (0..<(gh.nspec * ny)).map { k -> Double in
            let f = k / ny, r = k % ny
            return 800 * (0.4 + Double(f % 7) / 7) * (1 + 0.3 * sin(Double(r) / 150 + Double(f)))
        }
        let expected = CTERowByRowModel.project(flux, profiles: p, nx: nx)
        let electrons = Projection.poisson(expected, ny: ny, nx: nx, seed: seed, stream: 1)
        let ampB = CTEAmplifier(name: "B", rows: 0..<(ny / 2), cols: (nx / 2)..<nx, readoutAtRight: true,
                                traps: [CTETrap(location: nx - 3100, transfer: trap)])
        let untrapped = electrons.map { Double($0) }
        var trappedElectrons = untrapped
        _ = CTECorrection.readOut(ampB, model: untrapped, into: &trappedElectrons, nx: nx)
        var config = CCDConfig.desiDefault(ny: ny, nx: nx, camera: camera)
        for i in config.amplifiers.indices { config.amplifiers[i].darkCurrent = 0 }
        let primary = RawExposureWriter.primaryHeader(night: 20240101, expid: 1234, exptime: 900)
        func read(_ e: [Float]) -> (RawCamera, RawImage) {
            var rng = SimulationRandom(seed: seed)   // the same read noise for both
            let raw = config.readout(electrons: e, ny: ny, nx: nx, exptime: 900, rng: &rng)
            var header = raw.header
            header.merge(primary)
            return (raw, RawImage(ny: raw.ny, nx: raw.nx, data: raw.data.map(Float.init), header: header, primaryHeader: primary))
        }
        let (tc, t) = read(trappedElectrons.map { Float($0) }), (cc, c) = read(electrons)
        return CTEFrame(expected: expected, trapped: t, clean: c, trappedCamera: tc, cleanCamera: cc, ny: ny, nx: nx)
    }

    /// The calibration yaml (CTECOLSB 3000:3100; FIBERFLAT when given) and the night's CTE parameters for the trap.
    static func writeCalibration(dir: String, fiberflat: String?) throws -> (yaml: String, params: String) {
        let yaml = "\(dir)/sm1-r.yaml", params = "\(dir)/ctecorr-20240101.yaml"
        try ("r0:\n  V1:\n    DATE-OBS-BEGIN: 20200101\n    DETECTOR: M1-12\n    CTECOLSB: '3000:3100'\n"
             + (fiberflat.map { "    FIBERFLAT: \($0)\n" } ?? "")).write(toFile: yaml, atomically: true, encoding: .utf8)
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
        return (yaml, params)
    }
}
