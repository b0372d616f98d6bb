import DESICore
import FITS
import Foundation
import XCTest

/// `desispec preproc`'s calibration lookup (desispec's rule): a named calibration file that does not exist, or a
/// calibration config without the entry, is a one-line error naming the file, exit 1, no output; --noX still works.
/// And --model-variance with --psf records the PSF in the header.
final class PreprocCalibrationTests: XCTestCase {
    private func simulate(_ dir: URL) throws -> (raw: String, calib: String, psf: String) {
        let sim = try CLIRunner.run(["simulate", "--night", "20250101", "--expid", "7", "--flavor", "flat", "--cameras", "r0",
                                     "--nspec", "5", "--ccd-size", "small", "--no-cosmics", "--calib",
                                     "--seed", "3", "--outdir", dir.path, "--quiet"])
        XCTAssertEqual(sim.status, 0, sim.stderr)
        let exp = dir.appendingPathComponent("20250101/00000007")
        return (exp.appendingPathComponent("desi-00000007.fits.fz").path, dir.appendingPathComponent("calib").path,
                exp.appendingPathComponent(FileLayout.truthPSFFileName(camera: "r0")).path)
    }

    private func assertOneLineError(_ r: CLIResult, naming: String, outdir: URL, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, r.stderr, file: file, line: line)
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("error") }
        XCTAssertEqual(lines.count, 1, "one error line expected: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(naming), "error should name \(naming): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(CLIRunner.files(in: outdir), [], "no output file expected", file: file, line: line)
    }

    func testMissingCalibrationFilesAreErrorsUnlessSwitchedOff() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let (raw, calib, _) = try simulate(dir)
        let files = ["bias", "dark", "pixflat", "mask"].flatMap { ["--\($0)", "\(calib)/\($0)-r0.fits"] }
        for k in ["bias", "dark", "pixflat", "mask"] {
            let outdir = dir.appendingPathComponent("out-missing-\(k)")
            let missing = "\(calib)/no-such-\(k).fits"
            var args = files
            args[args.firstIndex(of: "\(calib)/\(k)-r0.fits")!] = missing
            let r = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "--outdir", outdir.path, "--nocosmic", "--quiet"] + args)
            assertOneLineError(r, naming: missing, outdir: outdir)
        }
        // a calibration config without a MASK entry: an error naming the yaml, unless --nomask
        let yaml = dir.appendingPathComponent("sm0-r.yaml").path
        let f = try FITSFile.open(raw)
        try f.moveTo(name: "R0")
        let detector = try XCTUnwrap(f.readHeader().string("DETECTOR")).trimmingCharacters(in: .whitespaces)
        let entry = """
        r0:
          VTEST:
            DATE-OBS-BEGIN: 20200101
            DATE-OBS-END: None
            DETECTOR: \(detector)
            BIAS: \(calib)/bias-r0.fits
            DARK: \(calib)/dark-r0.fits

        """
        try entry.write(toFile: yaml, atomically: true, encoding: .utf8)
        let outdir = dir.appendingPathComponent("out-nomask-entry")
        let r = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "--outdir", outdir.path, "--nocosmic", "--quiet",
                                   "--calib-config", yaml])
        assertOneLineError(r, naming: yaml, outdir: outdir)
        let ok = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "--outdir", outdir.path, "--nocosmic", "--quiet",
                                    "--calib-config", yaml, "--nomask"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(CLIRunner.files(in: outdir).count, 1)
    }

    func testModelVarianceRecordsThePSFAndChangesOnlyIvar() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let (raw, _, psf) = try simulate(dir)
        try XCTSkipUnless(FileManager.default.fileExists(atPath: psf), "the simulator wrote no truth PSF at \(psf)")
        let off = ["--nobias", "--nodark", "--nopixflat", "--nomask", "--nocosmic", "--quiet"]
        let a = dir.appendingPathComponent("data.fits").path, b = dir.appendingPathComponent("model.fits").path
        let r1 = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "-o", a] + off)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "-o", b, "--model-variance", "--psf", psf] + off)
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let data = try Image.read(a), model = try Image.read(b)
        XCTAssertEqual(data.pix, model.pix)
        XCTAssertNotEqual(data.ivar, model.ivar)
        let deps = model.header.cards.compactMap { $0.value.stringValue }
        XCTAssertTrue(deps.contains("CCD_CALIB_PSF"))
        XCTAssertTrue(deps.contains((psf as NSString).lastPathComponent))
        // without a PSF: a clear error, no output
        let outdir = dir.appendingPathComponent("out-nopsf")
        let r3 = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "--outdir", outdir.path, "--model-variance"] + off)
        XCTAssertEqual(r3.status, 1, r3.stderr)
        XCTAssertTrue(r3.stderr.contains("--model-variance"), r3.stderr)
        XCTAssertEqual(CLIRunner.files(in: outdir), [])
    }
}
