import DESICore
import FITS
import Foundation
import XCTest

/// `desispec preproc` run as a user runs it: on an exposure from `desispec simulate --calib` with the calibration
/// frames the simulator wrote, and on broken inputs.
final class PreprocCommandTests: XCTestCase {
    /// A small simulated flat exposure (camera r0, 5 fibers) with its calibration frames and noiseless truth image.
    private func simulate(_ dir: URL) throws -> (raw: String, calib: String, truth: String) {
        let sim = try CLIRunner.run(["simulate", "--night", "20250101", "--expid", "7", "--flavor", "flat", "--cameras", "r0",
                                     "--nspec", "5", "--ccd-size", "small", "--no-cosmics", "--calib", "--truth-images",
                                     "--seed", "3", "--outdir", dir.path, "--quiet"])
        XCTAssertEqual(sim.status, 0, sim.stderr)
        let exp = dir.appendingPathComponent("20250101/00000007")
        return (exp.appendingPathComponent("desi-00000007.fits.fz").path, dir.appendingPathComponent("calib").path,
                exp.appendingPathComponent("truth-00000007.fits").path)
    }

    private func calibArguments(_ calib: String, skip: Set<String> = []) -> [String] {
        ["bias", "dark", "pixflat", "mask"].flatMap { k in skip.contains(k) ? ["--no\(k)"] : ["--\(k)", "\(calib)/\(k)-r0.fits"] }
    }

    /// (mean, rms) of (image - truth) x sqrt(ivar) over unmasked pixels, and the image.
    private func pulls(_ preproc: String, truth: String) throws -> (mean: Double, rms: Double, image: Image) {
        let img = try Image.read(preproc)
        let expected = try FITSFile.open(truth).readImage("R0_IMAGE", as: Float.self)
        XCTAssertEqual(expected.shape, [img.ny, img.nx])
        var s = 0.0, s2 = 0.0, n = 0.0
        for i in 0..<(img.ny * img.nx) where img.mask[i] == 0 && img.ivar[i] > 0 {
            let p = (Double(img.pix[i]) - Double(expected.data[i])) * Double(img.ivar[i]).squareRoot()
            s += p; s2 += p * p; n += 1
        }
        XCTAssertGreaterThan(n, 0.95 * Double(img.ny * img.nx))
        let mean = s / n
        return (mean, (s2 / n - mean * mean).squareRoot(), img)
    }

    /// The preprocessed image equals the simulator's electrons within the noise when the simulator's own calibration
    /// frames are used; without the pixel flat the pulls widen (the frames matter); bad columns are masked.
    func testSimulatedExposureWithItsCalibrationFramesRecoversTheElectrons() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let (raw, calib, truth) = try simulate(dir)
        for k in ["bias", "dark", "pixflat", "mask"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(calib)/\(k)-r0.fits"), "simulate --calib wrote no \(k)")
        }
        let out = dir.appendingPathComponent("preproc-r0.fits").path
        let r = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "-o", out, "--nocosmic", "--quiet"] + calibArguments(calib))
        XCTAssertEqual(r.status, 0, r.stderr)
        let (mean, rms, img) = try pulls(out, truth: truth)
        XCTAssertLessThan(abs(mean), 0.05, "pull mean \(mean)")
        XCTAssertEqual(rms, 1, accuracy: 0.05, "pull rms \(rms)")
        // the simulator's hot column (nx/5) and dead column (3nx/4 + 1) are masked through the calibration mask
        let hot = img.nx / 5, dead = (3 * img.nx) / 4 + 1
        for y in stride(from: 0, to: img.ny, by: 97) {
            XCTAssertNotEqual(img.mask[y * img.nx + hot] & CCDMask.bad, 0)
            XCTAssertNotEqual(img.mask[y * img.nx + dead] & CCDMask.dead, 0)
        }
        // the same without the pixel flat: 1% sensitivity variations on a bright flat are several sigma
        let out2 = dir.appendingPathComponent("preproc-r0-noflat.fits").path
        let r2 = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "-o", out2, "--nocosmic", "--quiet"]
                                   + calibArguments(calib, skip: ["pixflat"]))
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let noFlat = try pulls(out2, truth: truth)
        XCTAssertGreaterThan(noFlat.rms, rms + 0.05, "without the pixel flat the pull rms should grow, got \(noFlat.rms) vs \(rms)")
    }

    /// Runs preproc on `raw` and checks: exit code 1, one error line naming `named` and containing `problem`, no output.
    private func assertFails(_ raw: String, camera: String = "r0", named: String, problem: String?, in dir: URL,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let outdir = dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6))")
        let r = try CLIRunner.run(["preproc", "-i", raw, "--cameras", camera, "--outdir", outdir.path, "--quiet",
                                   "--nobias", "--nodark", "--nopixflat", "--nomask"])
        XCTAssertEqual(r.status, 1, r.stderr, file: file, line: line)
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("error") }
        XCTAssertEqual(lines.count, 1, "one error line expected: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(named), "error should name \(named): \(r.stderr)", file: file, line: line)
        if let problem {
            XCTAssertTrue(r.stderr.lowercased().contains(problem.lowercased()),
                          "error should say '\(problem)': \(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(CLIRunner.files(in: outdir), [], "no output file expected", file: file, line: line)
    }

    /// Rewrites the simulated raw file with camera HDU R0 changed by `edit` (header and pixels as float32).
    private func rewrite(_ raw: String, to path: String, _ edit: (inout FITSHeader, inout [Float]) -> Void) throws {
        let f = try FITSFile.open(raw)
        try f.moveTo(index: 0)
        let primary = try f.readHeader()
        let cam = try f.readImage("R0", as: Float.self)
        var header = cam.header, data = cam.data
        edit(&header, &data)
        try FITSFile.writeAtomically(path) { out in
            try out.writeEmptyHDU(name: "SPEC", header: primary)
            try out.writeImage(data, shape: cam.shape, name: "R0", header: header)
        }
    }

    func testBadInputsAreOneLineErrorsAndWriteNothing() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let (raw, _, _) = try simulate(dir)
        // truncated file
        let cut = dir.appendingPathComponent("truncated.fits.fz").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: raw))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        try assertFails(cut, named: cut, problem: "cannot read camera R0", in: dir)
        // camera not in the file
        try assertFails(raw, camera: "b3", named: raw, problem: "camera b3 not in file", in: dir)
        // HDU R0 holding another camera
        let wrong = dir.appendingPathComponent("wrong-camera.fits").path
        try rewrite(raw, to: wrong) { h, _ in h.set("CAMERA", "z1") }
        try assertFails(wrong, named: wrong, problem: "CAMERA='z1'", in: dir)
        // NaN pixels
        let nan = dir.appendingPathComponent("nan.fits").path
        try rewrite(raw, to: nan) { _, d in d[1234] = .nan }
        try assertFails(nan, named: nan, problem: "non-finite", in: dir)
        // a file that is not FITS at all
        let text = dir.appendingPathComponent("notfits.fits").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        try assertFails(text, named: text, problem: "cannot open as FITS", in: dir)
    }
}
