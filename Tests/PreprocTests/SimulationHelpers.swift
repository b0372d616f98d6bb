import DESICore
import FITS
import Foundation
import Simulation

@testable import Preproc

/// A small simulated camera: fiber-like traces (Gaussian, sigma 1 px, every 10 columns) on a smooth background,
/// with Poisson noise, read out by a DESI-like CCD.
struct SimulatedCamera {
    var config: CCDConfig
    var expected: [Float]      // expectation of the signal electrons
    var electrons: [Float]     // Poisson realisation of the signal (before dark)
    var raw: RawCamera
    var rawImage: RawImage

    static func make(ny: Int = 200, nx: Int = 220, seed: UInt64 = 1, exptime: Double = 900, camera: String = "r0",
                     level: Double = 40, peak: Double = 600, pixflat: [Float]? = nil, configure: (inout CCDConfig) -> Void = { _ in },
                     modify: (inout [Float], inout SimulationRandom) -> Void = { _, _ in }) -> SimulatedCamera {
        var config = CCDConfig.desiDefault(ny: ny, nx: nx, camera: camera)
        configure(&config)
        var rng = SimulationRandom(seed: seed)
        var expected = [Float](repeating: 0, count: ny * nx)
        for y in 0..<ny {
            for x in 0..<nx {
                let fx = Double(x % 10) - 4.5
                let trace = peak * exp(-0.5 * fx * fx) * (1 + 0.3 * sin(Double(y) / 17))
                expected[y * nx + x] = Float(level * (1 + 0.5 * Double(x) / Double(nx)) + trace)
            }
        }
        // a pixel flat modulates the signal before its Poisson noise
        var electrons = expected.indices.map { Float(rng.poisson(Double(expected[$0]) * Double(pixflat?[$0] ?? 1))) }
        modify(&electrons, &rng)
        let raw = config.readout(electrons: electrons, ny: ny, nx: nx, exptime: exptime, rng: &rng)
        var primary = RawExposureWriter.primaryHeader(night: 20240101, expid: 1234, exptime: exptime)
        primary.set("CAMERA", camera)   // harmless; the camera header has it too
        var header = raw.header
        header.merge(primary)
        let rawImage = RawImage(ny: raw.ny, nx: raw.nx, data: raw.data.map(Float.init), header: header, primaryHeader: primary)
        return SimulatedCamera(config: config, expected: expected, electrons: electrons, raw: raw, rawImage: rawImage)
    }
}

func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "preproc-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func testDataDirectory() -> String {
    if let d = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"] { return d }
    let pkg = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return pkg.appendingPathComponent("../shared/data").standardized.path
}
