import DESICore
import FITS
import Foundation
import XCTest

/// `desispec extract` run as a user would: on a small simulated exposure (5 fibers, 1024-row CCD) made by
/// `desispec simulate` and `desispec preproc`, with the PSF the simulator wrote.
final class ExtractCommandTests: XCTestCase {
    /// Folder with raw/, preproc-{b0,r0}.fits and the truth files, made once for the class.
    nonisolated(unsafe) private static var fixture: URL?
    nonisolated(unsafe) private static var fixtureError: String?

    override class func setUp() {
        super.setUp()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-extract-cli-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let sim = try CLIRunner.run(["simulate", "--night", "20250101", "--expid", "7", "--flavor", "science",
                                         "--cameras", "b0,r0", "--nspec", "5", "--ccd-size", "small", "--no-cosmics",
                                         "--outdir", dir.appendingPathComponent("raw").path, "-q"])
            guard sim.status == 0 else { fixtureError = "simulate failed: \(sim.stderr)"; return }
            for cam in ["b0", "r0"] {
                let pre = try CLIRunner.run(["preproc",
                                             "-i", dir.appendingPathComponent("raw/20250101/00000007/desi-00000007.fits.fz").path,
                                             "--cameras", cam, "-o", dir.appendingPathComponent("preproc-\(cam).fits").path, "-q",
                                             "--no-calib-config",
                                             "--fibermap", dir.appendingPathComponent("raw/20250101/00000007/fibermap-00000007.fits").path])
                guard pre.status == 0 else { fixtureError = "preproc failed: \(pre.stderr)"; return }
            }
            fixture = dir
        } catch {
            fixtureError = "\(error)"
        }
    }

    override class func tearDown() {
        if let f = fixture { try? FileManager.default.removeItem(at: f) }
        super.tearDown()
    }

    private func inputs() throws -> (dir: URL, preproc: (String) -> String, psf: (String) -> String) {
        if let e = Self.fixtureError {
            if e.contains("not built") { throw XCTSkip(e) }
            XCTFail(e)
        }
        let dir = try XCTUnwrap(Self.fixture)
        return (dir, { dir.appendingPathComponent("preproc-\($0).fits").path },
                { dir.appendingPathComponent("raw/20250101/00000007/truth-psf-\($0).fits").path })
    }

    func testExtractsTheSimulatedSpectra() throws {
        let (dir, preproc, psf) = try inputs()
        let out = try CLIRunner.temporaryDirectory(self)
        let frame = out.appendingPathComponent("frame-r0-00000007.fits").path
        let r = try CLIRunner.run(["extract", "-i", preproc("r0"), "-p", psf("r0"), "-o", frame, "-w", "5800,6199.2,0.8",
                                   "--ncpu", "2", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let f = try Frame.read(frame)
        XCTAssertEqual(f.nspec, 5); XCTAssertEqual(f.nwave, 500)
        XCTAssertEqual(f.fibers, [0, 1, 2, 3, 4])
        XCTAssertEqual(f.resolution?.ndiag, 11)
        XCTAssertEqual(f.header.string("BUNIT"), "electron/Angstrom")
        XCTAssertEqual(f.camera?.name, "r0")

        // Against the simulator's expected electrons per Angstrom, averaged over 370 A of each fiber. The
        // extraction's own accuracy is tested against R x truth in ExtractionTests (RealPSFExtractionTests); on
        // this small simulated camera our extraction and specter's both differ from the simulator's truth by up
        // to 10% (an open question about the small-CCD simulation), hence the loose bound here.
        let truthFile = try FITSFile.open(dir.appendingPathComponent("raw/20250101/00000007/truth-00000007.fits").path)
        let twave = try truthFile.readImage("R0_WAVELENGTH", as: Double.self).data
        let telec = try truthFile.readImage("R0_ELECTRONS", as: Float.self)
        let nt = telec.shape[1]
        let k0 = try XCTUnwrap(twave.firstIndex { abs($0 - 5800) < 1e-6 })
        for s in 0..<5 {
            var sumOurs = 0.0, sumTruth = 0.0
            for i in 20..<480 {
                XCTAssertTrue(f.flux[s * 500 + i].isFinite && f.ivar[s * 500 + i] > 0, "fiber \(s) bin \(i)")
                sumOurs += Double(f.flux[s * 500 + i]); sumTruth += Double(telec.data[s * nt + k0 + i])
            }
            XCTAssertEqual(sumOurs / sumTruth, 1, accuracy: 0.15, "fiber \(s)")
        }
    }

    // MARK: bad input: one-line error naming the file, exit 1, nothing written

    private func assertFails(_ args: [String], mentions words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try CLIRunner.temporaryDirectory(self)
        let frame = out.appendingPathComponent("frame.fits").path
        let r = try CLIRunner.run(["extract"] + args + ["-o", frame, "-q"])
        XCTAssertEqual(r.status, 1, r.stderr, file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr, file: file, line: line)
        for w in words { XCTAssertTrue(r.stderr.contains(w), "'\(w)' missing in: \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(CLIRunner.files(in: out), [], "no output on error", file: file, line: line)
    }

    func testWavelengthsOutsideThePSFAreRejected() throws {
        let (_, preproc, psf) = try inputs()
        try assertFails(["-i", preproc("r0"), "-p", psf("r0"), "-w", "5500,6000,0.8"],
                        mentions: ["5500.00-6000.00", "not covered", psf("r0")])
    }

    func testImageOfAnotherCameraIsRejected() throws {
        let (_, preproc, psf) = try inputs()
        try assertFails(["-i", preproc("b0"), "-p", psf("r0"), "-w", "5800,6000,0.8"],
                        mentions: [preproc("b0"), "camera b0", psf("r0"), "camera r0"])
    }

    /// Older specex PSFs (PSFVER 2) carry CAMERA = '': read as no camera, so the image's camera is used and the
    /// spectra are those extracted with the same PSF naming its camera.
    func testPSFWithAnEmptyCameraKeywordExtracts() throws {
        let (_, preproc, psf) = try inputs()
        let out = try CLIRunner.temporaryDirectory(self)
        let anonymous = out.appendingPathComponent("psf-no-camera.fits").path
        try FileManager.default.copyItem(atPath: psf("r0"), toPath: anonymous)
        let f = try FITSFile.open(anonymous, writable: true)
        for i in 0..<f.hduCount {
            try f.moveTo(index: i)
            if try f.readHeader().string("CAMERA") != nil { try f.writeCard(FITSCard("CAMERA", .string(""))) }
        }
        try f.close()
        var frames = [Frame]()
        for (name, p) in [("named", psf("r0")), ("anonymous", anonymous)] {
            let frame = out.appendingPathComponent("frame-\(name).fits").path
            let r = try CLIRunner.run(["extract", "-i", preproc("r0"), "-p", p, "-o", frame, "-w", "5800,5999.2,0.8", "-q"])
            XCTAssertEqual(r.status, 0, r.stderr)
            frames.append(try Frame.read(frame))
        }
        XCTAssertEqual(frames[1].camera?.name, "r0")
        XCTAssertEqual(frames[0].flux, frames[1].flux)
        XCTAssertEqual(frames[0].ivar, frames[1].ivar)
    }

    func testImageOfAnotherSizeIsRejected() throws {
        let (_, _, psf) = try inputs()
        let dir = try CLIRunner.temporaryDirectory(self)
        let small = dir.appendingPathComponent("preproc-r0-small.fits").path
        var h = FITSHeader(); h.set("CAMERA", "r0")
        let n = 100 * 40
        try Image(ny: 100, nx: 40, pix: [Float](repeating: 1, count: n), ivar: [Float](repeating: 1, count: n),
                  mask: [UInt32](repeating: 0, count: n), readnoise: [Float](repeating: 3, count: n), header: h).write(to: small)
        try assertFails(["-i", small, "-p", psf("r0"), "-w", "5800,6000,0.8"], mentions: [small, "100x40", psf("r0"), "1024x"])
    }

    func testMissingFilesAreNamed() throws {
        let (dir, preproc, psf) = try inputs()
        let nope = dir.appendingPathComponent("no-such-preproc.fits").path
        try assertFails(["-i", nope, "-p", psf("r0"), "-w", "5800,6000,0.8"], mentions: [nope, "no such file"])
        let nopsf = dir.appendingPathComponent("no-such-psf.fits").path
        try assertFails(["-i", preproc("r0"), "-p", nopsf], mentions: [nopsf, "no such"])
        let nofm = dir.appendingPathComponent("no-such-fibermap.fits").path
        try assertFails(["-i", preproc("r0"), "-p", psf("r0"), "-w", "5800,6000,0.8", "-f", nofm], mentions: [nofm, "no such file"])
    }

    func testFibersBeyondThePSFAreRejected() throws {
        let (_, preproc, psf) = try inputs()
        try assertFails(["-i", preproc("r0"), "-p", psf("r0"), "-w", "5800,6000,0.8", "-s", "3", "-n", "4"],
                        mentions: ["3..<7", psf("r0")])
    }

    /// Without -w: desispec's default grid (the range every fiber sees, rounded inwards, 0.7 A steps) extracts.
    func testDefaultWavelengthGridExtracts() throws {
        let (_, preproc, psf) = try inputs()
        let frame = try CLIRunner.temporaryDirectory(self).appendingPathComponent("frame.fits").path
        let r = try CLIRunner.run(["extract", "-i", preproc("r0"), "-p", psf("r0"), "-o", frame, "--ncpu", "2", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let f = try Frame.read(frame)
        XCTAssertEqual(f.header.double("WAVESTEP"), 0.7)
        let first = try XCTUnwrap(f.wave.first), last = try XCTUnwrap(f.wave.last)
        XCTAssertEqual(first, first.rounded(), "starts on a whole Angstrom")
        XCTAssertEqual(f.wave[1] - first, 0.7, accuracy: 1e-9)
        XCTAssertGreaterThan(f.nwave, 100)
        XCTAssertTrue(f.flux.allSatisfy(\.isFinite) && f.ivar.contains { $0 > 0 }, "\(first)-\(last) A")
    }

    /// --barycentric-correction: HELIOCOR is the library's factor for the header's pointing and mid-exposure
    /// time, the frame carries the requested grid, and its spectra are those extracted at that grid / HELIOCOR.
    func testBarycentricCorrectionScalesTheWavelengths() throws {
        let (_, preproc, psf) = try inputs()
        let out = try CLIRunner.temporaryDirectory(self)
        let image = out.appendingPathComponent("preproc-r0-pointed.fits").path
        try FileManager.default.copyItem(atPath: preproc("r0"), toPath: image)
        var pointing = FITSHeader()
        pointing.set("TARGTRA", 150.0); pointing.set("TARGTDEC", 30.0); pointing.set("RA", 10.0); pointing.set("DEC", 5.0)
        do {
            let f = try FITSFile.open(image, writable: true)
            try f.moveTo(name: "IMAGE")
            try f.writeHeader(pointing)
            try f.close()
        }
        let header = try Image.read(image).header
        let mjd = try XCTUnwrap(header.double("MJD-OBS")) + (header.double("EXPTIME") ?? 0) / 2 / 86_400
        let expected = BarycentricCorrection.factor(ra: 150, dec: 30, mjd: mjd)
        XCTAssertGreaterThan(abs(expected - 1), 1e-6)

        let corrected = out.appendingPathComponent("frame-bary.fits").path
        let r = try CLIRunner.run(["extract", "-i", image, "-p", psf("r0"), "-o", corrected, "-w", "5800,6199.2,0.8",
                                   "--barycentric-correction", "--ncpu", "2", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let fb = try Frame.read(corrected)
        XCTAssertEqual(try XCTUnwrap(fb.header.double("HELIOCOR")), expected, accuracy: 1e-14)
        XCTAssertEqual(fb.wave.first ?? 0, 5800, accuracy: 1e-9); XCTAssertEqual(fb.nwave, 500)

        // The same extraction in the observatory frame on the grid divided by HELIOCOR, given bit for bit (the
        // extraction of a noisy image moves by more than its tolerance when its grid moves by 1e-12 A).
        let heliocor = try XCTUnwrap(fb.header.double("HELIOCOR"))
        let wmin = 5800 / heliocor, dw = 0.8 / heliocor
        let plain = out.appendingPathComponent("frame-observed.fits").path
        let p = try CLIRunner.run(["extract", "-i", image, "-p", psf("r0"), "-o", plain, "-w", "\(wmin),\(wmin + 499 * dw),\(dw)",
                                   "--ncpu", "2", "-q"])
        XCTAssertEqual(p.status, 0, p.stderr)
        let fo = try Frame.read(plain)
        XCTAssertNil(fo.header.double("HELIOCOR"))
        XCTAssertEqual(fo.nwave, fb.nwave)
        for k in [0, 250, fb.nwave - 1] { XCTAssertEqual(fo.wave[k] * heliocor, fb.wave[k], accuracy: 1e-9) }
        XCTAssertEqual(fb.flux, fo.flux)
        XCTAssertEqual(fb.ivar, fo.ivar)
    }

    func testBarycentricCorrectionWithoutPointingIsAnError() throws {
        let (dir, preproc, psf) = try inputs()
        // the simulator states the tile centre of a science exposure: a copy of its preproc image without it
        var image = try Image.read(preproc("r0"))
        for key in ["TARGTRA", "TARGTDEC"] { image.header.remove(key) }
        let unpointed = dir.appendingPathComponent("preproc-r0-unpointed-\(UUID().uuidString.prefix(6)).fits").path
        try image.write(to: unpointed)
        try assertFails(["-i", unpointed, "-p", psf("r0"), "-w", "5800,6000,0.8", "--barycentric-correction"],
                        mentions: [unpointed, "RA or TARGTRA", "FIBERMAP"])
    }
}
