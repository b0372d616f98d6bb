import DESICore
import FITS
import Foundation
import XCTest

/// `desispec traceshift` on an arc as desi_proc runs it before the PSF fit (`--arc-lamps`, degrees 0, the large shift
/// scan), `--auto` choosing it from the image's FLAVOR, and the errors of the options. Needs the release binary.
final class TraceShiftArcTests: XCTestCase {
    func testArcLampsAndAutoOnASimulatedArc() throws {
        let bin = try CLIRunner.requireReleaseExecutable(for: "simulate, preproc, traceshift")
        let dir = try CLIRunner.temporaryDirectory(self)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let raw = path("raw"), e = "00000001", expDir = "\(raw)/20250101/\(e)"
        try CLIRunner.runStep(["simulate", "--night", "20250101", "--expid", "1", "--flavor", "arc", "--cameras", "r0",
                               "--nspec", "40", "--ccd-size", "narrow", "--no-cosmics", "--seed", "5", "--outdir", raw],
                              executable: bin)
        try CLIRunner.runStep(["preproc", "-i", "\(expDir)/desi-\(e).fits.fz", "--cameras", "r0", "--fibermap",
                               "\(expDir)/fibermap-\(e).fits", "-o", path("preproc.fits"), "--no-calib-config"], executable: bin)
        let degrees = ["--degxx", "0", "--degxy", "0", "--degyx", "0", "--degyy", "0"]
        let common = ["traceshift", "-i", path("preproc.fits"), "--psf", "\(expDir)/truth-psf-r0.fits"]
        let explicit = try CLIRunner.run(common + ["-o", path("arc.fits"), "--arc-lamps"] + degrees, executable: bin)
        XCTAssertEqual(explicit.status, 0, explicit.stderr)
        XCTAssertTrue(explicit.stderr.contains("large shift scan"), explicit.stderr)
        let auto = try CLIRunner.run(common + ["-o", path("auto.fits"), "--auto"] + degrees, executable: bin)
        XCTAssertEqual(auto.status, 0, auto.stderr)
        XCTAssertTrue(auto.stderr.contains("FLAVOR 'arc'") && auto.stderr.contains("--arc-lamps"), auto.stderr)
        // the same traces either way (HISTORY names the options, so the PSF tables are compared)
        for hdu in ["XTRACE", "YTRACE"] {
            let a = try FITSFile.open(path("arc.fits")).readImage(hdu, as: Double.self).data
            let b = try FITSFile.open(path("auto.fits")).readImage(hdu, as: Double.self).data
            XCTAssertEqual(a, b, hdu)
        }
        // the scan matched the spots: x within a hundredth of a pixel of the truth's (y carries the lamp spectrum's
        // offset from the simulator's line list, Sources/PSF/Resources/arclines/README.md)
        let out = try FITSFile.open(path("arc.fits"))
        XCTAssertTrue(out.hasHDU("EXTOFF"))
        try out.moveTo(name: "PSF")
        XCTAssertEqual(try XCTUnwrap(try out.readHeader().double("MEANDX")), 0, accuracy: 0.01)
        var history = ""
        for i in 0..<out.hduNames().count {
            try out.moveTo(index: i)
            history += try out.readHeader().cards.filter { $0.key == "HISTORY" }.map(\.comment).joined()
        }
        XCTAssertTrue(history.contains("--arc-lamps"), history)

        // two reference spectra: one-line error, no output
        let both = try CLIRunner.run(common + ["-o", path("both.fits"), "--arc-lamps", "--sky"], executable: bin)
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--sky and --arc-lamps"), both.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("both.fits")))
        // --auto on an image without FLAVOR names the file
        let bare = path("bare.fits")
        let f = try FITSFile.create(bare)
        let image = try FITSFile.open(path("preproc.fits")).readImage("IMAGE", as: Float.self)
        try f.writeImage(image.data, shape: image.shape)
        try f.close()
        let noFlavor = try CLIRunner.run(["traceshift", "-i", bare, "--psf", "\(expDir)/truth-psf-r0.fits", "-o", path("nf.fits"),
                                          "--auto"], executable: bin)
        XCTAssertNotEqual(noFlavor.status, 0)
        XCTAssertTrue(noFlavor.stderr.contains(bare) && noFlavor.stderr.contains("FLAVOR"), noFlavor.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("nf.fits")))
    }
}
