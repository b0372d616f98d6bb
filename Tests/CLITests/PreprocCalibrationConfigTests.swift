import DESICore
import FITS
import Foundation
import XCTest

/// The calibration config is required as in desispec: `simulate --calib` writes its camera's yaml in
/// DESI_SPECTRO_CALIB's layout, which `preproc --calib-dir` (or $DESI_SPECTRO_CALIB) finds; no config is a one-line
/// error naming what is missing, exit 1, no output, unless --no-calib-config or every step has its file or is off.
final class PreprocCalibrationConfigTests: XCTestCase {
    func testSimulatedConfigIsFoundAndAMissingOneIsAnError() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sim = try CLIRunner.run(["simulate", "--night", "20250101", "--expid", "7", "--flavor", "flat", "--cameras", "r0",
                                     "--nspec", "5", "--ccd-size", "small", "--no-cosmics", "--calib",
                                     "--seed", "3", "--outdir", dir.path, "--quiet"])
        XCTAssertEqual(sim.status, 0, sim.stderr)
        let raw = dir.appendingPathComponent("20250101/00000007/desi-00000007.fits.fz").path
        let calib = dir.appendingPathComponent("calib").path
        let yaml = "\(calib)/spec/sm0/sm0-r.yaml"
        let text = try String(contentsOfFile: yaml, encoding: .utf8)
        for key in ["sm0-r:", "DATE-OBS-BEGIN: 20000101", "GAINA: 1.802", "BIAS: bias-r0.fits", "MASK: mask-r0.fits"] {
            XCTAssertTrue(text.contains(key), "\(key) missing from \(text)")
        }

        // the config's frames give the same image as the same frames named on the command line
        let viaConfig = dir.appendingPathComponent("config.fits").path, viaFiles = dir.appendingPathComponent("files.fits").path
        let a = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "-o", viaConfig, "--nocosmic", "-q", "--calib-dir", calib])
        XCTAssertEqual(a.status, 0, a.stderr)
        let files = ["bias", "dark", "pixflat", "mask"].flatMap { ["--\($0)", "\(calib)/\($0)-r0.fits"] }
        let b = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "-o", viaFiles, "--nocosmic", "-q",
                                   "--calib-config", yaml] + files)
        XCTAssertEqual(b.status, 0, b.stderr)
        let ia = try Image.read(viaConfig), ib = try Image.read(viaFiles)
        XCTAssertEqual(ia.pix, ib.pix)
        XCTAssertEqual(ia.mask, ib.mask)
        XCTAssertNotEqual(ia.mask.filter { $0 != 0 }.count, 0, "the config's mask flags the simulated bad columns")
        // the same folder through $DESI_SPECTRO_CALIB
        let viaEnv = dir.appendingPathComponent("env.fits").path
        let c = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "-o", viaEnv, "--nocosmic", "-q"],
                                  environment: ["DESI_SPECTRO_CALIB": calib])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(try Image.read(viaEnv).pix, ia.pix)

        // a calibration folder without this camera's yaml: one error line naming it, exit 1, no output
        let empty = dir.appendingPathComponent("empty-calib").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let outdir = dir.appendingPathComponent("out-missing")
        let r = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "--outdir", outdir.path, "--nocosmic", "-q",
                                   "--calib-dir", empty])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("error") }.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(empty)/spec/sm0/sm0-r.yaml"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--no-calib-config"), r.stderr)
        XCTAssertEqual(CLIRunner.files(in: outdir), [])
        // switched off explicitly, or every step off: it runs
        for extra in [["--no-calib-config"], ["--calib-dir", empty, "--nobias", "--nodark", "--nopixflat", "--nomask"]] {
            let ok = try CLIRunner.run(["preproc", "-i", raw, "--cameras", "r0", "--outdir", outdir.path, "--nocosmic", "-q"] + extra)
            XCTAssertEqual(ok.status, 0, ok.stderr)
        }
        XCTAssertEqual(CLIRunner.files(in: outdir).count, 1)
    }
}
