import DESICore
import FITS
import Foundation
import XCTest

/// desispec.specscore.compute_and_append_frame_scores on frames with values worked out by hand.
final class FrameScoresTests: XCTestCase {
    /// r camera (mean wavelength 5810 A): wavelengths 5790...5830 A by 1 A, 31 of them (5800-5830) in the r window.
    /// Fiber 0: flux 2, ivar 4. Fiber 1: flux = index k (0...40), ivar 1 except -1 at k = 40 (counted as 0).
    func frame() -> Frame {
        let nwave = 41
        let wave = (0..<nwave).map { 5790 + Double($0) }
        var flux = [Float](repeating: 2, count: nwave), ivar = [Float](repeating: 4, count: nwave)
        flux += (0..<nwave).map { Float($0) }
        ivar += (0..<nwave).map { $0 == 40 ? -1 : 1 }
        return Frame(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: 2 * nwave))
    }

    func column(_ frame: Frame, _ name: String) throws -> [Double] {
        try XCTUnwrap(frame.scores?[name]?.data.doubles, "no column \(name) in \(frame.scores?.columnNames ?? [])")
    }

    func testCountsPerBinAsTheExtractionWritesThem() throws {
        var f = frame()
        XCTAssertTrue(f.appendScores(suffix: "RAW"))
        XCTAssertEqual(f.scores?.columnNames, ["SUM_RAW_COUNT_R", "MEDIAN_RAW_COUNT_R", "MEDIAN_RAW_SNR_R"])
        // fiber 0: 31 x 2; median 2 / 1 A; sqrt(4) x 2 / sqrt(1 A)
        // fiber 1: 10 + ... + 40 = 775; median of 10...40 is 25; SNR values k except 0 at k = 40: 0, 10...39, median 24
        XCTAssertEqual(try column(f, "SUM_RAW_COUNT_R"), [62, 775])
        XCTAssertEqual(try column(f, "MEDIAN_RAW_COUNT_R"), [2, 25])
        XCTAssertEqual(try column(f, "MEDIAN_RAW_SNR_R"), [4, 24])
        XCTAssertEqual(f.scoreComments["SUM_RAW_COUNT_R"], "sum counts in wave. range 5800,7600A")
        XCTAssertEqual(f.scoreComments["MEDIAN_RAW_COUNT_R"], "median counts/A in wave. range 5800,7600A")
        XCTAssertEqual(f.scoreComments["MEDIAN_RAW_SNR_R"], "median SNR/sqrt(A) in wave. range 5800,7600A")
    }

    func testUnevenGridUsesNumpysGradient() throws {
        // wavelengths 5800, 5801, 5803, 5806 (r by the mean 5802.5, all in the r window):
        // dwave = numpy.gradient = [1, 1.5, 2.5, 3]; flux 3 everywhere, ivar 9.
        var f = Frame(wave: [5800, 5801, 5803, 5806], flux: [3, 3, 3, 3], ivar: [9, 9, 9, 9], mask: [0, 0, 0, 0])
        XCTAssertTrue(f.appendScores(suffix: "X"))
        XCTAssertEqual(try column(f, "SUM_X_COUNT_R"), [12])
        // flux / dwave: 3, 2, 1.2, 1 -> median (2 + 1.2) / 2
        XCTAssertEqual(try column(f, "MEDIAN_X_COUNT_R")[0], 1.6, accuracy: 1e-12)
        // 3 x 3 / sqrt(dwave): median of 9/sqrt(1.5) and 9/sqrt(2.5)
        XCTAssertEqual(try column(f, "MEDIAN_X_SNR_R")[0], 0.5 * (9 / 1.5.squareRoot() + 9 / 2.5.squareRoot()), accuracy: 1e-12)
        // per Angstrom: integral 3 x (1 + 1.5 + 2.5 + 3), median flux 3
        XCTAssertTrue(f.appendScores(suffix: "CALIB", fluxPerAngstrom: true))
        XCTAssertEqual(try column(f, "INTEG_CALIB_FLUX_R"), [24])
        XCTAssertEqual(try column(f, "MEDIAN_CALIB_FLUX_R"), [3])
        XCTAssertEqual(f.scoreComments["INTEG_CALIB_FLUX_R"], "integ. flux in wave. range 5800,7600A")
    }

    func testBandFromTheMeanWavelength() {
        XCTAssertEqual(FrameScores.band(of: [3600, 6000]), "b")     // mean 4800
        XCTAssertEqual(FrameScores.band(of: [5700, 5900]), "b")     // mean 5800: b up to and including 5800
        XCTAssertEqual(FrameScores.band(of: [5760, 7620]), "r")
        XCTAssertEqual(FrameScores.band(of: [7500, 7700]), "z")     // mean 7600: z from 7600
        XCTAssertEqual(FrameScores.band(of: [7520, 9824]), "z")
    }

    func testAppendingReplacesInPlaceAndAddsNewSuffixes() throws {
        var f = frame()
        f.appendScores(suffix: "RAW")
        f.appendScores(suffix: "FFLAT")
        f.flux = f.flux.map { $0 * 2 }
        f.appendScores(suffix: "RAW")
        XCTAssertEqual(f.scores?.columnNames, ["SUM_RAW_COUNT_R", "MEDIAN_RAW_COUNT_R", "MEDIAN_RAW_SNR_R",
                                               "SUM_FFLAT_COUNT_R", "MEDIAN_FFLAT_COUNT_R", "MEDIAN_FFLAT_SNR_R"])
        XCTAssertEqual(try column(f, "SUM_RAW_COUNT_R"), [124, 1550], "recomputed")
        XCTAssertEqual(try column(f, "SUM_FFLAT_COUNT_R"), [62, 775], "kept")
    }

    func testNoScoresOutsideTheWindow() {
        // b camera by its mean, all below the b window's 4000 A
        var f = Frame(wave: [3600, 3700, 3800], flux: [1, 1, 1], ivar: [1, 1, 1], mask: [0, 0, 0])
        XCTAssertFalse(f.appendScores(suffix: "RAW"))
        XCTAssertNil(f.scores)
    }

    func testScoresHDURoundTripWithItsColumnComments() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("framescores-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("frame-r0-00000012.fits").path
        var f = frame()
        f.header.set("CAMERA", "r0")
        f.appendScores(suffix: "RAW")
        try f.write(to: path)
        let file = try FITSFile.open(path)
        XCTAssertEqual(file.hduNames().last, "SCORES", "SCORES last, as desispec.io.write_frame")
        try file.moveTo(name: "SCORES")
        XCTAssertEqual(try file.keywordComment("TTYPE3"), "median SNR/sqrt(A) in wave. range 5800,7600A")
        try file.close()
        let back = try Frame.read(path)
        XCTAssertEqual(back.scores?.columnNames, f.scores?.columnNames)
        XCTAssertEqual(back.scores?["SUM_RAW_COUNT_R"]?.data.doubles, [62, 775])
        XCTAssertEqual(back.scoreComments, f.scoreComments)
    }
}
