import DESICore
import FITS
import Foundation
import Simulation
import XCTest

@testable import Preproc

/// Simulates a raw exposure with everything preproc handles (bias structure, dark, pixel flat, a hot column,
/// saturated pixels, synthetic and real cosmic rays) plus its calibration files, writes them and checks them.
/// scripts/compare_preproc.py and scripts/bench/preproc.sh run it with PREPROC_FIXTURE_DIR (output folder, kept)
/// and PREPROC_FIXTURE_SIZE ("ny,nx", default 4128,4114 there) to make their inputs; otherwise it runs small.
final class RawFixtureTests: XCTestCase {
    func testWriteRawExposureFixture() throws {
        let env = ProcessInfo.processInfo.environment
        let keep = env["PREPROC_FIXTURE_DIR"]
        let dir = keep ?? temporaryDirectory()
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: dir) } }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var ny = 240, nx = 220
        if keep != nil { ny = 4128; nx = 4114 }
        if let s = env["PREPROC_FIXTURE_SIZE"] {
            let p = s.split(separator: ",").compactMap { Int($0) }
            XCTAssertEqual(p.count, 2, "PREPROC_FIXTURE_SIZE must be 'ny,nx'")
            ny = p[0]; nx = p[1]
        }
        let fixture = try RawFixture.make(ny: ny, nx: nx, seed: 2024, dir: dir)
        let raw = try RawImage.read(path: fixture.rawPath, camera: "r0")
        XCTAssertEqual(raw.ny, fixture.config.rawNy)
        XCTAssertEqual(raw.nx, fixture.config.rawNx)
        XCTAssertGreaterThan(fixture.cosmicPixels, 0)
        var opts = PreprocOptions()
        opts.bias = .file(dir + "/bias-r0.fits"); opts.dark = .file(dir + "/dark-r0.fits")
        opts.pixflat = .file(dir + "/pixflat-r0.fits"); opts.mask = .file(dir + "/mask-r0.fits")
        if keep == nil {
            let result = try Preprocessor.run(raw, options: opts)
            XCTAssertGreaterThanOrEqual(result.cosmicCount, fixture.cosmicPixels / 2)
            let col = fixture.config.badColumns[0].column
            XCTAssertNotEqual(result.image.mask[10 * nx + col] & CCDMask.bad, 0)
        }
    }
}

enum RawFixture {
    struct Made { var config: CCDConfig; var rawPath: String; var cosmicPixels: Int }

    static func make(ny: Int, nx: Int, seed: UInt64, dir: String) throws -> Made {
        var config = CCDConfig.desiDefault(ny: ny, nx: nx, camera: "r0")
        config.biasStructure = 4
        for i in config.amplifiers.indices { config.amplifiers[i].darkCurrent = 0.003 }
        config.badColumns = [BadColumn(column: nx / 3, extraElectrons: 300)]
        // a 6 ADU jump of amp D's bias halfway up: OSTEPD ~ 6, per-row overscan when the calibration asks for it
        config.biasSteps = [BiasStep(amp: 3, row: ny / 4, adu: 6)]
        var rng = SimulationRandom(seed: seed)
        let pixflat = CCDCalibrationImages.pixflat(config, rms: 0.02, rng: &rng)
        var electrons = [Float](repeating: 0, count: ny * nx)
        let rowsPer = max(1, ny / 16)
        electrons.withUnsafeMutableBufferPointer { buf in
            nonisolated(unsafe) let e = buf
            DispatchQueue.concurrentPerform(iterations: (ny + rowsPer - 1) / rowsPer) { b in
                var g = SimulationRandom(seed: seed, stream: UInt64(100 + b))
                for y in (b * rowsPer)..<min(ny, (b + 1) * rowsPer) {
                    for x in 0..<nx {
                        let fx = Double(x % 8) - 3.3 - 0.2 * Double(y) / Double(ny)
                        let mu = (30 + 20 * Double(x) / Double(nx) + 900 * exp(-0.5 * fx * fx / 1.1) * (1 + 0.4 * sin(Double(y) / 37)))
                            * Double(pixflat[y * nx + x])
                        e[y * nx + x] = Float(g.poisson(mu))
                    }
                }
            }
        }
        // a few saturated pixels, cosmic rays at about a 900 s exposure's rate (~1 track per 5000 pixels)
        for k in 0..<5 { electrons[((k + 1) * ny / 7) * nx + (k + 2) * nx / 9] = 3e5 }
        var hits = CosmicRayInjector().inject(into: &electrons, ny: ny, nx: nx, count: max(5, ny * nx / 5000), rng: &rng)
        let real = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"].map { $0 + "/cosmics/cosmics-dark-r.fits" }
            ?? testDataDirectory() + "/cosmics/cosmics-dark-r.fits"
        if FileManager.default.fileExists(atPath: real) {
            hits += try CosmicRayInjector().pasteRealHits(from: real, into: &electrons, ny: ny, nx: nx,
                                                          count: max(1, ny * nx / 100000), rng: &rng)
        }
        let exptime = 900.0
        let raw = config.readout(electrons: electrons, ny: ny, nx: nx, exptime: exptime, rng: &rng)
        let primary = RawExposureWriter.primaryHeader(night: 20240101, expid: 1234, exptime: exptime)
        let rawPath = dir + "/desi-00001234.fits.fz"
        try RawExposureWriter.writeRawExposure(path: rawPath, primaryHeader: primary, cameras: [raw])
        try CCDCalibrationImages.write(CCDCalibrationImages.bias(config, noiseFrames: 25, rng: &rng), ny: config.rawNy, nx: config.rawNx,
                                       to: dir + "/bias-r0.fits", kind: "bias", camera: "r0")
        try CCDCalibrationImages.write(CCDCalibrationImages.dark(config), ny: ny, nx: nx,
                                       to: dir + "/dark-r0.fits", kind: "dark", camera: "r0")
        try CCDCalibrationImages.write(pixflat, ny: ny, nx: nx, to: dir + "/pixflat-r0.fits", kind: "pixflat", camera: "r0")
        try CCDCalibrationImages.write(CCDCalibrationImages.mask(config), ny: ny, nx: nx,
                                       to: dir + "/mask-r0.fits", kind: "mask", camera: "r0")
        return Made(config: config, rawPath: rawPath, cosmicPixels: Set(hits).count)
    }
}
