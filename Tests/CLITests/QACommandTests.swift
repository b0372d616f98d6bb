import DESICore
import FITS
import Foundation
import Plot
import TestSupport
import XCTest

/// Files for the QA and plot commands, written with the FITS layer in DESI's layouts.
enum QATestFiles {
    static let wave0 = 5760.0, dw = 0.8

    /// Fibermap: every 10th fiber SKY, fibers 5, 25, 45, ... standard stars (DESI_TARGET bit 33), others ELG;
    /// each 50-fiber block sits together on the focal plane.
    static func fibermap(nspec: Int, fiberOffset: Int = 0, sky: Bool = true) -> FITSTable {
        var objtype = [String](), fx = [Double](), fy = [Double](), target = [Int64](), fluxr = [Float]()
        for f in 0..<nspec {
            let isSky = sky && f % 10 == 0, isStd = f % 20 == 5
            objtype.append(isSky ? "SKY" : "TGT")
            target.append(isSky ? 0 : (isStd ? Int64(1) << 33 : 2))
            let block = Double(f / 50), inBlock = Double(f % 50)
            fx.append(100 + 60 * block + 0.8 * inBlock)
            fy.append(-50 + 2 * inBlock + 10 * block)
            fluxr.append(Float(2 + Double(f % 7)))
        }
        return FITSTable(columns: [
            FITSColumn("FIBER", .int32((0..<nspec).map { Int32($0 + fiberOffset) })),
            FITSColumn("TARGETID", .int64((0..<nspec).map { Int64(1000 + $0 + fiberOffset) })),
            FITSColumn("OBJTYPE", .string(objtype), stringWidth: 3),
            FITSColumn("DESI_TARGET", .int64(target)),
            FITSColumn("FIBER_X", .double(fx)),
            FITSColumn("FIBER_Y", .double(fy)),
            FITSColumn("FLUX_R", .float(fluxr)),
        ])
    }

    static func header(camera: String, expid: Int, night: String = "20230101", flavor: String = "science",
                       exptime: Double = 900) -> FITSHeader {
        var h = FITSHeader()
        h.set("CAMERA", camera); h.set("EXPID", expid); h.set("NIGHT", night); h.set("FLAVOR", flavor); h.set("EXPTIME", exptime)
        return h
    }

    /// Flux: noise of sigma 1 (ivar 1) plus `signal(fiber, wave)`; same layout as desispec.io.write_frame.
    static func writeFrame(_ path: String, nspec: Int = 150, nwave: Int = 1000, camera: String = "r0", expid: Int = 42,
                           night: String = "20230101", flavor: String = "science", bunit: String? = nil, sky: Bool = true,
                           seed: UInt64 = 1, signal: (Int, Double) -> Double = { _, _ in 0 }) throws {
        var rng = TestRandom(seed: seed)
        let wave = (0..<nwave).map { wave0 + dw * Double($0) }
        var flux = [Float](repeating: 0, count: nspec * nwave)
        for f in 0..<nspec { for j in 0..<nwave { flux[f * nwave + j] = Float(rng.gaussian() + signal(f, wave[j])) } }
        var h = header(camera: camera, expid: expid, night: night, flavor: flavor)
        if let bunit { h.set("BUNIT", bunit) }
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(flux, shape: [nspec, nwave], name: "FLUX", header: h)
            try f.writeImage([Float](repeating: 1, count: nspec * nwave), shape: [nspec, nwave], name: "IVAR")
            try f.writeImage([UInt32](repeating: 0, count: nspec * nwave), shape: [nspec, nwave], name: "MASK")
            try f.writeImage(wave, shape: [nwave], name: "WAVELENGTH")
            try f.writeTable(fibermap(nspec: nspec, sky: sky), name: "FIBERMAP")
        }
    }

    /// A sky, fiberflat or fluxcalib file: HDU 0 named `kind` holding `value(fiber, wave)`, IVAR, MASK, WAVELENGTH
    /// (+ MEANSPEC for a fiber flat).
    static func writeCalibration(_ path: String, kind: String, nspec: Int = 150, nwave: Int = 1000, camera: String = "r0",
                                 expid: Int = 42, value: (Int, Double) -> Double) throws {
        let wave = (0..<nwave).map { wave0 + dw * Double($0) }
        var data = [Float](repeating: 0, count: nspec * nwave)
        for f in 0..<nspec { for j in 0..<nwave { data[f * nwave + j] = Float(value(f, wave[j])) } }
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(data, shape: [nspec, nwave], name: kind, header: header(camera: camera, expid: expid))
            try f.writeImage([Float](repeating: 1e4, count: nspec * nwave), shape: [nspec, nwave], name: "IVAR")
            try f.writeImage([UInt32](repeating: 0, count: nspec * nwave), shape: [nspec, nwave], name: "MASK")
            if kind == "FIBERFLAT" { try f.writeImage([Float](repeating: 1000, count: nwave), shape: [nwave], name: "MEANSPEC") }
            try f.writeImage(wave, shape: [nwave], name: "WAVELENGTH")
        }
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], "\(path) is a JSON object")
    }
}

final class QACommandTests: XCTestCase {
    /// The data-QA case: a sky model with a broad bump in one 50-fiber block leaves a broad excess at fixed
    /// wavelength in exactly those fibers of the sframe.
    func testBroadDefectInA50FiberBlockIsFlaggedWithItsFibersAndWavelengths() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        // 500 fibers as on a DESI camera (the diagnosis compares each fiber with all the others).
        try QATestFiles.writeFrame(sframe, nspec: 500, nwave: 700, seed: 7) { f, w in
            (50..<100).contains(f) ? 0.6 * exp(-0.5 * pow((w - 6000) / 60, 2)) : 0
        }
        let plots = dir.appendingPathComponent("plots").path
        let r = try CLIRunner.run(["qa-frame", sframe, "--make-plots", plots, "--fail-on-flag"])
        XCTAssertEqual(r.status, 3, "a flagged diagnosis exits 3 with --fail-on-flag: \(r.stderr)")
        let qa = try QATestFiles.json(dir.appendingPathComponent("qa-r0-00000042.json").path)
        XCTAssertEqual(qa["CAMERA"] as? String, "r0")
        XCTAssertEqual(qa["EXPID"] as? Int, 42)
        XCTAssertEqual(qa["NIGHT"] as? String, "20230101")
        XCTAssertEqual(qa["FLAVOR"] as? String, "science")
        let diag = try XCTUnwrap(qa["DIAGNOSIS"] as? [String: Any])
        XCTAssertEqual(diag["FLAGGED"] as? Bool, true)
        let features = try XCTUnwrap(diag["FEATURES"] as? [[String: Any]])
        XCTAssertEqual(features.count, 1, "\(features)")
        let fibers = Set(try XCTUnwrap(features[0]["FIBERS"] as? [Int]))
        XCTAssertGreaterThanOrEqual(fibers.intersection(50..<100).count, 40, "most of the block is found: \(fibers.sorted())")
        // Membership looks at the fibers within the smoothing width (2) of the region: a noise fluctuation there may join.
        let outside = fibers.subtracting(50..<100)
        XCTAssertLessThanOrEqual(outside.count, 2, "at most a stray edge fiber: \(fibers.sorted())")
        XCTAssertTrue(outside.allSatisfy { (47..<103).contains($0) }, "strays only next to the block: \(outside.sorted())")
        let range = try XCTUnwrap(features[0]["WAVE_RANGE"] as? [Double])
        XCTAssertLessThan(abs((range[0] + range[1]) / 2 - 6000), 40, "\(range)")
        XCTAssertLessThan(range[1] - range[0], 400)
        XCTAssertEqual(features[0]["ALIGNMENT"] as? String, "wavelength")
        XCTAssertEqual(features[0]["BLOCKS_OF_50"] as? [Int], [1])
        let warnings = try XCTUnwrap(qa["WARNINGS"] as? [String])
        XCTAssertTrue(warnings.contains { $0.hasPrefix("DIAGNOSIS:") && $0.contains("groups by 50-fiber blocks 1") }, "\(warnings)")
        // Figures: right size, not blank.
        for (name, w, h, ink) in [("qa-sky", 1100, 450, 0.05), ("qa-diagnosis", 1200, 900, 0.3), ("qa-s2n", 800, 550, 0.01),
                                  ("qa-frame", 1100, 1200, 0.5)] {
            let png = try PNGImage(path: "\(plots)/\(name)-r0-00000042.png")
            XCTAssertEqual(png.width, w, name)
            XCTAssertEqual(png.height, h, name)
            XCTAssertGreaterThan(png.inkFraction(), ink, "\(name) has content")
        }
    }

    func testCleanSframeIsNotFlaggedAndMedResidIsTheSkyFibersOffset() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        // The sky fibers (every 10th) keep a residual of +0.5: a sky model 0.5 too low.
        try QATestFiles.writeFrame(sframe, seed: 3) { f, _ in f % 10 == 0 ? 0.5 : 0 }
        let out = dir.appendingPathComponent("out/qa.json").path
        let r = try CLIRunner.run(["qa-frame", sframe, "-o", out, "--fail-on-flag"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(out)
        let sky = try XCTUnwrap(qa["SKYSUB"] as? [String: Any])
        XCTAssertEqual(sky["NSKY_FIB"] as? Int, 15)
        // 15 sky fibers x 1000 pixels of N(0.5, 1): the median is 0.5 within ~0.01.
        XCTAssertEqual(sky["MED_RESID"] as? Double ?? 0, 0.5, accuracy: 0.04)
        XCTAssertEqual(sky["NBAD_PCHI"] as? Int, 15, "chi2 of 1000 pixels with a 0.5 offset is far off for every sky fiber")
        XCTAssertEqual((qa["DIAGNOSIS"] as? [String: Any])?["FLAGGED"] as? Bool, false)
        let s2n = try XCTUnwrap(qa["S2N"] as? [String: Any])
        XCTAssertEqual((s2n["MEDIAN_SNR"] as? [Any])?.count, 150)
        XCTAssertEqual(((s2n["STD"] as? [String: Any])?["FIBERID"] as? [Int])?.count, 8, "fibers 5, 25, ..., 145 are standards")
        XCTAssertNil(qa["FIBERFLAT"]); XCTAssertNil(qa["FLUXCALIB"])
        XCTAssertEqual(qa["WARNINGS"] as? [String], [])
    }

    /// frame + sky model (found next to the frame by its DESI name): the SKYSUB metrics are those of frame - sky.
    func testFrameWithItsSkyModelIsSkySubtractedFirst() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let frame = dir.appendingPathComponent("frame-r0-00000042.fits").path
        let skyLevel: (Int, Double) -> Double = { _, w in 20 + 10 * sin(w / 50) }
        try QATestFiles.writeFrame(frame, seed: 5, signal: skyLevel)
        // The sky model is 0.3 too high everywhere: residuals of -0.3.
        try QATestFiles.writeCalibration(dir.appendingPathComponent("sky-r0-00000042.fits").path, kind: "SKY") { f, w in
            skyLevel(f, w) + 0.3
        }
        let r = try CLIRunner.run(["qa-frame", frame])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(dir.appendingPathComponent("qa-r0-00000042.json").path)
        XCTAssertEqual((qa["SKYSUB"] as? [String: Any])?["MED_RESID"] as? Double ?? 0, -0.3, accuracy: 0.04)
        XCTAssertEqual((qa["INPUTS"] as? [String: Any])?["SKY"] as? String, dir.appendingPathComponent("sky-r0-00000042.fits").path)
        XCTAssertNil(qa["S2N"], "S2N is for sframes and cframes")
    }

    /// In a production: the nightly fiber flat in calibnight/NIGHT is found and applied before the sky is subtracted.
    func testFrameInAProductionUsesTheNightlyFiberFlat() throws {
        let prod = try CLIRunner.temporaryDirectory(self)
        let exp = prod.appendingPathComponent("exposures/20230101/00000042")
        let calib = prod.appendingPathComponent("calibnight/20230101")
        for d in [exp, calib] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let skyLevel: (Int, Double) -> Double = { _, w in 20 + 10 * sin(w / 50) }
        let frame = exp.appendingPathComponent("frame-r0-00000042.fits").path
        // Frame = sky + noise, a fiber flat of 0.5 everywhere (flat-fielded frame = 2 sky + 2 noise), a sky model 0.3 too high.
        try QATestFiles.writeFrame(frame, seed: 8) { f, w in skyLevel(f, w) }
        try QATestFiles.writeCalibration(calib.appendingPathComponent("fiberflatnight-r0-20230101.fits").path,
                                         kind: "FIBERFLAT") { _, _ in 0.5 }
        try QATestFiles.writeCalibration(exp.appendingPathComponent("sky-r0-00000042.fits").path, kind: "SKY") { f, w in
            2 * skyLevel(f, w) + 0.3
        }
        let r = try CLIRunner.run(["qa-frame", frame])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(exp.appendingPathComponent("qa-r0-00000042.json").path)
        // frame / 0.5 - sky = 2 noise - 0.3: median -0.3.
        XCTAssertEqual((qa["SKYSUB"] as? [String: Any])?["MED_RESID"] as? Double ?? 0, -0.3, accuracy: 0.08)
        XCTAssertEqual((qa["INPUTS"] as? [String: Any])?["FIBERFLAT"] as? String,
                       calib.appendingPathComponent("fiberflatnight-r0-20230101.fits").path)
        XCTAssertNil(qa["FIBERFLAT"], "FIBERFLAT metrics are for flat frames")
    }

    /// --psf: CCD rows from the PSF's YTRACE go into the diagnosis; a file without traces is refused.
    func testPSFTracesAreUsedAndAFileWithoutTracesIsRefused() throws {
        let root = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data").standardized.path
        let psf = "\(root)/psf/psf-r0-00051060.fits"
        guard FileManager.default.fileExists(atPath: psf) else { throw XCTSkip("test data not found at \(psf) (set DESISPEC_TESTDATA)") }
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(sframe, nspec: 500, nwave: 700, seed: 7) { f, w in
            (50..<100).contains(f) ? 0.6 * exp(-0.5 * pow((w - 6000) / 60, 2)) : 0
        }
        let r = try CLIRunner.run(["qa-frame", sframe, "--psf", psf])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(dir.appendingPathComponent("qa-r0-00000042.json").path)
        let feature = try XCTUnwrap(((qa["DIAGNOSIS"] as? [String: Any])?["FEATURES"] as? [[String: Any]])?.first)
        XCTAssertEqual(feature["ALIGNMENT"] as? String, "wavelength",
                       "a feature at fixed wavelength stays wavelength-aligned with real traces")
        XCTAssertNotNil(feature["CENTROID_RMS_ROWS"], "rows were computed from the traces")

        let sky = dir.appendingPathComponent("not-a-psf.fits").path
        try QATestFiles.writeCalibration(sky, kind: "SKY", nspec: 10, nwave: 50) { _, _ in 1 }
        let bad = try CLIRunner.run(["qa-frame", sframe, "--psf", sky, "-o", dir.appendingPathComponent("x.json").path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains(sky) && bad.stderr.contains("not a PSF with traces"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.json").path))
    }

    /// FLUXCALIB on a cframe with its calibration: ZP as desispec.fluxcalibration.ZP_from_calib at 6500 A, and the
    /// discrepant standard star found.
    func testFluxCalibrationZeroPointAndDiscrepantStar() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let cframe = dir.appendingPathComponent("cframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(cframe, bunit: "10**-17 erg/(s cm2 Angstrom)", seed: 9)
        // Standards are fibers 5, 25, ..., 145; fiber 65 has a calibration 30% higher (ZP 0.285 mag brighter).
        try QATestFiles.writeCalibration(dir.appendingPathComponent("fluxcalib-r0-00000042.fits").path, kind: "FLUXCALIB") { f, _ in
            f == 65 ? 13 : 10
        }
        let r = try CLIRunner.run(["qa-frame", cframe])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(dir.appendingPathComponent("qa-r0-00000042.json").path)
        let fc = try XCTUnwrap(qa["FLUXCALIB"] as? [String: Any])
        // AB magnitude giving 1 e-/s/A for calib 10 e-/A per 1e-17 erg/s/cm2/A over 900 s, at 6500 A.
        let expected = -2.5 * log10(1e-17 / (10.0 / 900) * 6500 * 6500 / 2.9979e18) - 48.6
        XCTAssertEqual(fc["ZP"] as? Double ?? 0, expected, accuracy: 2e-3)
        XCTAssertEqual(fc["NSTARS_FIBER"] as? Int, 8)
        let off = try XCTUnwrap(fc["MAX_ZP_OFF"] as? [Any])
        XCTAssertEqual(off[0] as? Double ?? 0, 2.5 * log10(1.3), accuracy: 2e-3)
        XCTAssertEqual(off[1] as? Int, 65)
        let warnings = try XCTUnwrap(qa["WARNINGS"] as? [String])
        XCTAssertTrue(warnings.contains { $0.hasPrefix("FLUXCALIB:") && $0.contains("fiber 65") }, "\(warnings)")
    }

    /// FIBERFLAT on a flat frame with its fiber flat (desispec.fiberflat.qa_fiberflat with equal fiber areas).
    func testFlatFrameFiberFlatMetrics() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let frame = dir.appendingPathComponent("frame-b1-00000043.fits").path
        // Frame flux = meanspec x flat: 1000 in most fibers, 1100 in fiber 17.
        try QATestFiles.writeFrame(frame, nspec: 60, nwave: 400, camera: "b1", expid: 43, flavor: "flat", seed: 2) { f, _ in
            f == 17 ? 1100 : 1000
        }
        try QATestFiles.writeCalibration(dir.appendingPathComponent("fiberflat-b1-00000043.fits").path, kind: "FIBERFLAT",
                                         nspec: 60, nwave: 400, camera: "b1", expid: 43) { f, _ in f == 17 ? 1.1 : 1.0 }
        let r = try CLIRunner.run(["qa-frame", frame])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(dir.appendingPathComponent("qa-b1-00000043.json").path)
        XCTAssertEqual(qa["FLAVOR"] as? String, "flat")
        let ff = try XCTUnwrap(qa["FIBERFLAT"] as? [String: Any])
        XCTAssertEqual(ff["MAX_MEANSPEC"] as? Double ?? 0, 1000, accuracy: 1e-3)
        let scale = try XCTUnwrap(ff["MAX_SCALE_OFF"] as? [Any])
        XCTAssertEqual(scale[0] as? Double ?? 0, 0.1, accuracy: 0.005)
        XCTAssertEqual(scale[1] as? Int, 17)
        let mean = try XCTUnwrap(ff["MAX_MEAN_OFF"] as? [Any])
        XCTAssertEqual(mean[0] as? Double ?? 0, 0.1, accuracy: 1e-5)
        XCTAssertEqual(mean[1] as? Int, 17)
        XCTAssertEqual(ff["MAX_OFF"] as? Double ?? 0, 0.1, accuracy: 1e-5)
        XCTAssertEqual(ff["N_MASK"] as? Int, 0)
        XCTAssertNil(qa["SKYSUB"], "no sky metrics on a flat")
        XCTAssertTrue((qa["WARNINGS"] as? [String] ?? []).contains { $0.contains("MAX_MEAN_OFF") })
    }

    func testYAMLOutput() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-z3-00000007.fits").path
        try QATestFiles.writeFrame(sframe, nspec: 30, nwave: 200, camera: "z3", expid: 7, seed: 6)
        let out = dir.appendingPathComponent("qa.yaml").path
        let r = try CLIRunner.run(["qa-frame", sframe, "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("CAMERA: \"z3\"\nEXPID: 7\nNIGHT: \"20230101\"\nFLAVOR: \"science\"\n"), text)
        XCTAssertTrue(text.contains("\nSKYSUB:\n  NSKY_FIB: 3\n"), text)
    }

    func testMissingFileIsOneErrorLineExitOneAndNoOutput() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let missing = dir.appendingPathComponent("sframe-r0-00000001.fits").path
        let r = try CLIRunner.run(["qa-frame", missing])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: \(missing)") && r.stderr.contains("no such file"), r.stderr)
        XCTAssertEqual(CLIRunner.files(in: dir), [])
    }

    func testWrongKindOfFileIsRejected() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sky = dir.appendingPathComponent("sky-r0-00000042.fits").path
        try QATestFiles.writeCalibration(sky, kind: "SKY", nspec: 10, nwave: 50) { _, _ in 1 }
        let r = try CLIRunner.run(["qa-frame", sky])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(sky) && r.stderr.contains("sky file, not a frame"), r.stderr)
        XCTAssertEqual(CLIRunner.files(in: dir), ["sky-r0-00000042.fits"])
    }

    func testSframeWithoutSkyFibersIsAClearError() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(sframe, nspec: 20, nwave: 100, sky: false)
        let plots = dir.appendingPathComponent("plots").path
        let r = try CLIRunner.run(["qa-frame", sframe, "--make-plots", plots])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(sframe) && r.stderr.contains("no sky fibers"), r.stderr)
        XCTAssertEqual(CLIRunner.files(in: dir), ["sframe-r0-00000042.fits"], "no JSON, no plots")
    }

    /// qa-frame on 2 cameras x 2 exposures in a production, then qa-exposure and qa-night.
    func testExposureAndNightQACombineTheCameras() throws {
        let prod = try CLIRunner.temporaryDirectory(self)
        let night = "20230101"
        for (expid, offset) in [(100, 0.2), (101, -0.1)] {
            let e8 = FileLayout.expidString(expid)
            let exp = prod.appendingPathComponent("exposures/\(night)/\(e8)")
            try FileManager.default.createDirectory(at: exp, withIntermediateDirectories: true)
            let qaDir = prod.appendingPathComponent("QA/exposures/\(night)/\(e8)").path
            for (cam, extra) in [("b0", 0.0), ("r0", 0.1)] {
                let path = exp.appendingPathComponent("sframe-\(cam)-\(e8).fits").path
                try QATestFiles.writeFrame(path, nspec: 60, nwave: 400, camera: cam, expid: expid, seed: UInt64(expid)) { f, _ in
                    f % 10 == 0 ? offset + extra : 0
                }
                let r = try CLIRunner.run(["qa-frame", path, "-o", "\(qaDir)/qa-\(cam)-\(e8).json", "--make-plots", qaDir])
                XCTAssertEqual(r.status, 0, r.stderr)
            }
            let r = try CLIRunner.run(["qa-exposure", "--night", night, "--expid", String(expid), "--prod-root", prod.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let qa = try QATestFiles.json("\(qaDir)/qa-\(e8).json")
            XCTAssertEqual(qa["EXPID"] as? Int, expid)
            XCTAssertEqual(qa["NCAMERAS"] as? Int, 2)
            let summary = try XCTUnwrap(qa["SUMMARY"] as? [[String: Any]])
            XCTAssertEqual(summary.map { $0["CAMERA"] as? String }, ["b0", "r0"])
            XCTAssertEqual(summary[0]["MED_RESID"] as? Double ?? 9, offset, accuracy: 0.1)
            XCTAssertEqual(summary[1]["MED_RESID"] as? Double ?? 9, offset + 0.1, accuracy: 0.1)
            let png = try PNGImage(path: "\(qaDir)/qa-\(e8).png")
            XCTAssertEqual(png.width, 1000); XCTAssertEqual(png.height, 700)
            XCTAssertGreaterThan(png.inkFraction(), 0.02)
            let html = try String(contentsOfFile: "\(qaDir)/qa-\(e8).html", encoding: .utf8)
            for fig in ["qa-\(e8).png", "qa-sky-b0-\(e8).png", "qa-diagnosis-r0-\(e8).png"] {
                XCTAssertTrue(html.contains("src=\"\(fig)\""), "the page shows \(fig)")
            }
        }
        let r = try CLIRunner.run(["qa-night", "--night", night, "--prod-root", prod.path, "--metric", "SKYSUB.MED_RESID"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(prod.appendingPathComponent("QA/qa-\(night).json").path)
        XCTAssertEqual(qa["EXPIDS"] as? [Int], [100, 101])
        let series = try XCTUnwrap((qa["TIME_SERIES"] as? [String: Any])?["SKYSUB.MED_RESID"] as? [String: Any])
        let r0 = try XCTUnwrap(series["r0"] as? [String: Any])
        XCTAssertEqual(r0["EXPID"] as? [Int], [100, 101])
        let values = try XCTUnwrap(r0["VALUE"] as? [Double])
        XCTAssertEqual(values[0], 0.3, accuracy: 0.1)
        XCTAssertEqual(values[1], 0.0, accuracy: 0.1)
        let png = try PNGImage(path: prod.appendingPathComponent("QA/qa-\(night)-SKYSUB_MED_RESID.png").path)
        XCTAssertEqual(png.width, 1000)
        XCTAssertGreaterThan(png.inkFraction(), 0.02)
        let html = try String(contentsOfFile: prod.appendingPathComponent("QA/qa-\(night).html").path, encoding: .utf8)
        XCTAssertTrue(html.contains("src=\"qa-\(night)-SKYSUB_MED_RESID.png\""))
        XCTAssertTrue(html.contains("href=\"exposures/\(night)/00000100/qa-00000100.html\""))
        XCTAssertTrue(html.contains("exposures/\(night)/00000101/qa-sky-r0-00000101.png"))
    }

    func testExposureQAHighlightsWarnings() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(sframe, nspec: 500, nwave: 700, seed: 7) { f, w in
            (50..<100).contains(f) ? 0.6 * exp(-0.5 * pow((w - 6000) / 60, 2)) : 0
        }
        XCTAssertEqual(try CLIRunner.run(["qa-frame", sframe]).status, 0)
        let r = try CLIRunner.run(["qa-exposure", "--qa-dir", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let qa = try QATestFiles.json(dir.appendingPathComponent("qa-00000042.json").path)
        XCTAssertTrue((qa["WARNINGS"] as? [String] ?? []).contains { $0.hasPrefix("r0 DIAGNOSIS:") })
        let html = try String(contentsOfFile: dir.appendingPathComponent("qa-00000042.html").path, encoding: .utf8)
        XCTAssertTrue(html.contains("<td class=\"warn\">1</td>"), "the NFEATURES cell is highlighted")
        XCTAssertTrue(html.contains("<li>r0 DIAGNOSIS: excess"), "the warning is listed")
    }

    func testExposureQAWithoutInputsIsAClearError() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let r = try CLIRunner.run(["qa-exposure", "--qa-dir", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(dir.path) && r.stderr.contains("no per-camera QA files"), r.stderr)
        XCTAssertEqual(CLIRunner.files(in: dir), [])
    }
}
