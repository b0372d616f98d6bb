import DESICore
import FITS
import Foundation
import TestSupport
import XCTest

/// `desispec sky --fit-offsets` on bad inputs: a one-line error naming what is missing or wrong, exit 1, no output.
/// (The fit itself: SkySectorOffsetTests; against desispec: scripts/compare_sky.py offsets.)
final class SkyFitOffsetsCommandTests: XCTestCase {
    /// A small flat-fielded frame of camera r0 with amplifier keywords, its unit fiber flat, and the folder.
    func inputs() throws -> (dir: URL, frame: String, flat: String) {
        let dir = try CLIRunner.temporaryDirectory(self)
        let n = 12, w = (0..<300).map { 6500 + 0.8 * Double($0) }
        let fm = makeFibermap(objtypes: (0..<n).map { $0 % 3 == 0 ? "SKY" : "TGT" }, x: (0..<n).map(Double.init),
                              y: [Double](repeating: 0, count: n))
        var frame = makeFrame(wave: w, truth: { _ in w.map { 50 + 400 * exp(-0.5 * pow(($0 - 6600) / 0.8, 2)) } },
                              throughput: { _, _ in 1 }, resolution: gaussianResolution(sigmas: [Double](repeating: 1.2, count: n),
                                                                                         nwave: w.count),
                              readnoise: 3, seed: 2, fibermap: fm).frame
        for (k, v) in [("NIGHT", "20240401"), ("EXPID", "12"), ("SPECID", "1"), ("DETECTOR", "M1-12")] {
            if let i = Int(v) { frame.header.set(k, i) } else { frame.header.set(k, v) }
        }
        frame.header.set("BIASSECA", "[2058:2107,1:2064]"); frame.header.set("CCDSECA", "[1:2057,1:2064]")
        let framePath = dir.appendingPathComponent("frame-r0-00000012.fits").path
        try frame.write(to: framePath)
        let flat = try FiberFlat(wave: w, flat: [Double](repeating: 1, count: n * w.count),
                                 ivar: [Double](repeating: 1e6, count: n * w.count))
        let flatPath = dir.appendingPathComponent("fiberflat-r0.fits").path
        try flat.write(to: flatPath)
        return (dir, framePath, flatPath)
    }

    func assertFails(_ args: [String], in dir: URL, mentions: [String], environment: [String: String] = [:],
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let before = CLIRunner.files(in: dir)
        let r = try CLIRunner.run(["sky"] + args + ["-o", dir.appendingPathComponent("sky.fits").path, "--fit-offsets"],
                                  environment: environment)
        XCTAssertEqual(r.status, 1, r.stderr, file: file, line: line)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(CLIRunner.files(in: dir), before, "no output on error", file: file, line: line)
    }

    func testNoCalibrationYaml() throws {
        let (dir, frame, flat) = try inputs()
        try assertFails(["-i", frame, "--fiberflat", flat], in: dir, mentions: ["--calib-config", "DESI_SPECTRO_CALIB", frame],
                        environment: ["DESI_SPECTRO_CALIB": ""])
    }

    func testUnreadableSectorRange() throws {
        let (dir, frame, flat) = try inputs()
        let yaml = dir.appendingPathComponent("sm1-r.yaml").path
        try "sm1-r:\n  V1:\n    DATE-OBS-BEGIN: 20200101\n    DETECTOR: M1-12\n    OFFCOLSA: '180-360'\n"
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        try assertFails(["-i", frame, "--fiberflat", flat, "--calib-config", yaml], in: dir,
                        mentions: [yaml, "cannot decode OFFCOLSA=180-360"])
    }

    func testSectorsWithoutAPSF() throws {
        let (dir, frame, flat) = try inputs()
        let yaml = dir.appendingPathComponent("sm1-r.yaml").path
        try "sm1-r:\n  V1:\n    DATE-OBS-BEGIN: 20200101\n    DETECTOR: M1-12\n    OFFCOLSA: '2:6'\n"
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let missing = dir.appendingPathComponent("no-such-psf.fits").path
        try assertFails(["-i", frame, "--fiberflat", flat, "--calib-config", yaml, "--psf", missing], in: dir, mentions: [missing])
        try assertFails(["-i", frame, "--fiberflat", flat, "--calib-config", yaml], in: dir, mentions: ["--psf"],
                        environment: ["DESI_SPECTRO_REDUX": "", "SPECPROD": ""])
    }

    /// A calibration entry without OFFCOLS / CTECOLS keys: a no-op, as in desispec (the same model as without the flag).
    func testNoSectorsIsANoOp() throws {
        let (dir, frame, flat) = try inputs()
        let yaml = dir.appendingPathComponent("sm1-r.yaml").path
        try "sm1-r:\n  V1:\n    DATE-OBS-BEGIN: 20200101\n    DETECTOR: M1-12\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        let with = dir.appendingPathComponent("sky-with.fits").path, without = dir.appendingPathComponent("sky-without.fits").path
        let r1 = try CLIRunner.run(["sky", "-i", frame, "--fiberflat", flat, "-o", with, "--fit-offsets", "--calib-config", yaml])
        let r2 = try CLIRunner.run(["sky", "-i", frame, "--fiberflat", flat, "-o", without, "-q"])
        XCTAssertEqual(r1.status, 0, r1.stderr); XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue((r1.stdout + r1.stderr).contains("names no OFFCOLS/CTECOLS sector"), r1.stderr)
        XCTAssertEqual(try SkyModel.read(with).flux, try SkyModel.read(without).flux)
    }
}
