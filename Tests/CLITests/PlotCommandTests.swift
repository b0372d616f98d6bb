import DESICore
import FITS
import Foundation
import Plot
import XCTest

final class PlotCommandTests: XCTestCase {
    func testPlotFrameShowsTheSelectedFibers() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sframe = dir.appendingPathComponent("sframe-r0-00000042.fits").path
        // Fibers 50-59 bright, the rest noise: the image of fibers 50:60 and 4 is mostly bright rows.
        try QATestFiles.writeFrame(sframe, nspec: 80, nwave: 300, seed: 4) { f, _ in (50..<60).contains(f) ? 50 : 0 }
        let out = dir.appendingPathComponent("frame.png").path
        let r = try CLIRunner.run(["plot-frame", sframe, "--fibers", "50:60,4", "--rebin", "2", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = try PNGImage(path: out)
        XCTAssertEqual(png.width, 1100)
        XCTAssertEqual(png.height, 400)
        // Data area: x 80..1000, y 40..340; 11 rows: fiber 4 at the bottom, fibers 50-59 above it.
        func brightness(_ y0: Int, _ y1: Int) -> Double {
            var s = 0.0, n = 0
            for y in y0..<y1 { for x in 100..<980 { s += png.pixel(x: x, y: y).r; n += 1 } }
            return s / Double(n)
        }
        XCTAssertGreaterThan(brightness(50, 300), 0.3, "bright fibers are grey to white")
        XCTAssertLessThan(brightness(320, 338), 0.05, "the faint fiber is below the zscale range: black")
    }

    func testPlotFrameOfSkyFibersNeedsSkyFibers() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let frame = dir.appendingPathComponent("frame-r0-00000042.fits").path
        try QATestFiles.writeFrame(frame, nspec: 20, nwave: 100, sky: false)
        let out = dir.appendingPathComponent("sky.png").path
        let r = try CLIRunner.run(["plot-frame", frame, "--sky-fibers", "-o", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(frame) && r.stderr.contains("no sky fibers"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let bad = try CLIRunner.run(["plot-frame", frame, "--fibers", "9:3", "-o", out])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("'9:3'"), bad.stderr)
    }

    func testPlotFrameOfASkyFile() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let sky = dir.appendingPathComponent("sky-z0-00000042.fits").path
        try QATestFiles.writeCalibration(sky, kind: "SKY", nspec: 30, nwave: 200, camera: "z0") { f, w in Double(f) + w / 100 }
        let out = dir.appendingPathComponent("sky.png").path
        let r = try CLIRunner.run(["plot-frame", sky, "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertGreaterThan(try PNGImage(path: out).inkFraction(), 0.5)
    }

    /// A coadd-like spectra file with two targets, a model, one panel per target.
    func testPlotSpectraOfChosenTargetsWithAModel() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        func write(_ path: String, model: Bool) throws {
            var data: [String: SpectraBand] = [:]
            for (b, w0) in [("b", 3600.0), ("r", 5760.0), ("z", 7520.0)] {
                let wave = (0..<300).map { w0 + 2 * Double($0) }
                var flux = [Float](), ivar = [Float]()
                for t in 0..<3 {
                    for w in wave {
                        flux.append(Float(Double(t + 1) * 10 + (model ? 0 : sin(w / 7)) + 5 * exp(-0.5 * pow((w - 6563) / 5, 2))))
                        ivar.append(4)
                    }
                }
                data[b] = SpectraBand(wave: wave, flux: flux, ivar: ivar)
            }
            let fm = FITSTable(columns: [FITSColumn("TARGETID", .int64([11, 22, 33])), FITSColumn("FIBER", .int32([3, 4, 5]))])
            try Spectra(bands: ["b", "r", "z"], data: data, fibermap: fm).write(path)
        }
        let coadd = dir.appendingPathComponent("coadd-0-100-thru20230101.fits").path
        let model = dir.appendingPathComponent("model.fits").path
        try write(coadd, model: false)
        try write(model, model: true)
        let out = dir.appendingPathComponent("spectra.png").path
        let r = try CLIRunner.run(["plot-spectra", coadd, "-t", "22", "33", "--model", model, "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = try PNGImage(path: out)
        XCTAssertEqual(png.width, 1100)
        XCTAssertEqual(png.height, 660, "two panels")
        // The model is drawn in red.
        let red = png.pixels.filter { $0.r > 0.6 && $0.r - $0.g > 0.25 && $0.r - $0.b > 0.25 }.count
        XCTAssertGreaterThan(red, 1000, "model lines across both panels")

        let missing = try CLIRunner.run(["plot-spectra", coadd, "-t", "44", "-o", out])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("TARGETID 44 not found"), missing.stderr)
    }

    /// --spectype QSO with a redrock file keeps the QSO targets only.
    func testPlotSpectraSelectsBySpectype() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let cframe = dir.appendingPathComponent("cframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(cframe, nspec: 10, nwave: 200, seed: 3) { f, _ in Double(f) }
        let redrock = dir.appendingPathComponent("redrock.fits").path
        // TARGETIDs of the frame are 1000 + fiber.
        try FITSFile.writeAtomically(redrock) { f in
            try f.writeTable(FITSTable(columns: [FITSColumn("TARGETID", .int64([1002, 1003, 1007])),
                                                 FITSColumn("Z", .double([1.5, 0.8, 2.1])),
                                                 FITSColumn("SPECTYPE", .string(["QSO", "GALAXY", "QSO"]), stringWidth: 6)]),
                             name: "REDSHIFTS")
        }
        let out = dir.appendingPathComponent("qso.png").path
        let r = try CLIRunner.run(["plot-spectra", cframe, "--spectype", "QSO", "--redrock", redrock, "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try PNGImage(path: out).height, 660, "two QSO panels")
        let none = try CLIRunner.run(["plot-spectra", cframe, "--spectype", "STAR", "--redrock", redrock, "-o", out])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("matches the selection"), none.stderr)
        let missing = try CLIRunner.run(["plot-spectra", cframe, "--spectype", "QSO", "-o", out])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("--spectype needs --redrock"), missing.stderr)
    }

    func testPlotSpectraOfFrameFibers() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let cframe = dir.appendingPathComponent("cframe-r0-00000042.fits").path
        try QATestFiles.writeFrame(cframe, nspec: 20, nwave: 300, seed: 2) { f, w in Double(f) + w / 1000 }
        let out = dir.appendingPathComponent("fibers.png").path
        let r = try CLIRunner.run(["plot-spectra", cframe, "--fibers", "3:6", "--rebin", "3", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = try PNGImage(path: out)
        XCTAssertEqual(png.height, 990, "three panels for fibers 3, 4, 5")
        XCTAssertGreaterThan(png.inkFraction(), 0.02)
    }
}
