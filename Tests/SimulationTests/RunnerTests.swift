import DESICore
import FITS
import PSF
import XCTest

@testable import Simulation

final class RunnerTests: XCTestCase {
    func options(_ dir: String, flavor: ExposureFlavor = .science, nspec: Int = 10, cameras: String = "b0,r0") throws -> SimulationOptions {
        SimulationOptions(night: 20250102, expid: 42, flavor: flavor, cameras: try Camera.parseList(cameras), nspec: nspec,
                          ny: 200, nx: AnalyticPSF.requiredWidth(nspec: 10), psfPath: nil, exptime: 300, seed: 7, outdir: dir,
                          dataDirectory: nil, cosmics: true, overwrite: false, truthImages: true, history: "desispec-swift test simulate")
    }

    func tempDir() -> String {
        let d = NSTemporaryDirectory() + "simtest-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func testWritesAllOutputs() throws {
        let dir = tempDir()
        let out = try SimulationRunner.run(try options(dir), psfLoader: nil) { _ in }
        XCTAssertEqual(out.directory, dir + "/20250102/00000042")
        let raw = try FITSFile.open(out.raw)
        XCTAssertTrue(raw.hasHDU("B0") && raw.hasHDU("R0"))
        try raw.moveTo(name: "R0")
        let rh = try raw.readHeader()
        XCTAssertEqual(rh.string("CAMERA"), "r0")
        XCTAssertEqual(rh.int("EXPID"), 42)
        try raw.close()

        let fm = try FITSFile.open(out.fibermap)
        let table = try fm.readTable("FIBERMAP")
        XCTAssertEqual(table.rowCount, 10)
        try fm.close()

        // the truth image equals the PSF file's traces: XTRACE/YTRACE Legendre coefficients give the analytic trace
        let psf = try AnalyticPSF.forCamera(.r, nspec: 10, npixX: AnalyticPSF.requiredWidth(nspec: 10), npixY: 200)
        let pf = try FITSFile.open(out.psfs[1])
        let xt = try pf.readImage("XTRACE", as: Double.self), yt = try pf.readImage("YTRACE", as: Double.self)
        XCTAssertEqual(xt.shape, [10, 3])
        let wmin = xt.header.double("WAVEMIN")!, wmax = xt.header.double("WAVEMAX")!
        for f in [0, 9] {
            for w in [5800.0, 6700, 7600] {
                let u = 2 * (w - wmin) / (wmax - wmin) - 1
                XCTAssertEqual(SimTest.legendre(Array(xt.data[(f * 3)..<(f * 3 + 3)]), u), psf.x(fiber: f, wavelength: w), accuracy: 1e-9)
                XCTAssertEqual(SimTest.legendre(Array(yt.data[(f * 3)..<(f * 3 + 3)]), u), psf.y(fiber: f, wavelength: w), accuracy: 1e-9)
            }
        }
        let psfTable = try pf.readTable("PSF")
        XCTAssertEqual(psfTable["PARAM"].map { if case .string(let s) = $0.data { return s[0] } else { return "" } }, "GHSIGX")
        try pf.close()

        let tf = try FITSFile.open(out.truth)
        let e = try tf.readImage("R0_ELECTRONS", as: Float.self)
        XCTAssertEqual(e.shape, [10, ExposureSimulator.truthWave(.r).count])
        let img = try tf.readImage("R0_IMAGE", as: Float.self)
        XCTAssertEqual(img.shape, [200, AnalyticPSF.requiredWidth(nspec: 10)])
        XCTAssertTrue(tf.hasHDU("B0_CALIB") && tf.hasHDU("B0_SKY") && tf.hasHDU("B0_FLUX") && tf.hasHDU("B0_FIBERTHRU"))
        try tf.close()

        // a second run with the same seed writes identical raw pixels; the directory exists: refused without overwrite
        XCTAssertThrowsError(try SimulationRunner.run(try options(dir), psfLoader: nil) { _ in })
        var o = try options(dir); o.overwrite = true
        let before = try FITSFile.open(out.raw); try before.moveTo(name: "B0")
        let px1 = try before.readImage(as: UInt16.self).data; try before.close()
        _ = try SimulationRunner.run(o, psfLoader: nil) { _ in }
        let after = try FITSFile.open(out.raw); try after.moveTo(name: "B0")
        let px2 = try after.readImage(as: UInt16.self).data; try after.close()
        XCTAssertEqual(px1, px2)
    }

    func testBadInputLeavesNothing() throws {
        let dir = tempDir()
        var o = try options(dir, nspec: 10)
        o.nx = 40 // too narrow for 10 fibers
        XCTAssertThrowsError(try SimulationRunner.run(o, psfLoader: nil) { _ in }) { err in
            XCTAssertTrue("\(err)".contains("pixels wide"), "\(err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/20250102"))
        var o2 = try options(dir); o2.psfPath = dir + "/missing-psf.fits"
        XCTAssertThrowsError(try SimulationRunner.run(o2, psfLoader: { _, _ in throw DESIError.failed("unreachable") }) { _ in })
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/20250102"))
    }

    /// `cameraPSFPaths` (simulate --psf r0=PATH): the camera named renders with its PSF file, copied as its truth PSF,
    /// on the CCD that file describes; the other cameras keep the built-in PSF and the options' CCD size.
    func testPSFFileForOneCamera() throws {
        let dir = tempDir()
        let psfFile = dir + "/psf-r0-taller.fits"
        let taller = try AnalyticPSF.forCamera(.r, nspec: 10, npixX: AnalyticPSF.requiredWidth(nspec: 10), npixY: 240)
        try taller.writeGaussHermite(path: psfFile, camera: "r0", history: "test PSF")
        var o = try options(dir + "/sim")
        o.cameraPSFPaths = ["r0": psfFile]
        XCTAssertEqual(o.psfPath(for: try Camera.parseList("r0")[0]), psfFile)
        XCTAssertNil(o.psfPath(for: try Camera.parseList("b0")[0]))
        let out = try SimulationRunner.run(o, psfLoader: { path, _ in try readPSF(path) }, log: { _ in })
        let truth = { (cam: String) in out.psfs.first { $0.hasSuffix("truth-psf-\(cam).fits") }! }
        XCTAssertEqual(try readPSF(truth("r0")).npixY, 240)
        XCTAssertEqual(try readPSF(truth("b0")).npixY, 200)
        XCTAssertEqual(FileManager.default.contents(atPath: truth("r0")), FileManager.default.contents(atPath: psfFile))
    }

    /// The Gauss-Hermite built-in PSF (with tails): the arc lines' electrons all land on the CCD and the PSF file
    /// written is the one used.
    func testGaussHermitePSFModelArc() throws {
        let dir = tempDir()
        var o = try options(dir, flavor: .arc, nspec: 5, cameras: "z1")
        o.psfModel = .gaussHermite
        o.nx = AnalyticPSF.requiredWidth(nspec: 10) + 40
        o.ny = 400
        o.exptime = SpectralInputs.arcReferenceExptime
        let out = try SimulationRunner.run(o, psfLoader: nil) { _ in }
        let psf = try readPSF(out.psfs[0])
        XCTAssertEqual(psf.nspec, 5)
        XCTAssertEqual(psf.npixY, 400)
        let tf = try FITSFile.open(out.truth)
        let img = try tf.readImage("Z1_IMAGE", as: Float.self)
        try tf.close()
        // expected total: lines inside the PSF's range, times the normalised throughput, times the fiber throughputs
        let sim = ExposureSimulator(inputs: .builtin())
        let thru = sim.fiberThroughputs(nspec: 5, spectrograph: 1, seed: 7).reduce(0, +)
        let peak = stride(from: 3000.0, through: 11000, by: 5).map { Instrument.throughput(.z, wavelength: $0) }.max()!
        let expected = sim.inputs.arcLines.filter { $0.wavelength > psf.wavemin && $0.wavelength < psf.wavemax }
            .map { $0.flux * Instrument.throughput(.z, wavelength: $0.wavelength) / peak }.reduce(0, +) * thru
        let total = img.data.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(total / expected, 1, accuracy: 0.02)
    }
}
