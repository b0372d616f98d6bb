import DESICore
import FITS
import Foundation
import LinearAlgebra
import XCTest

/// A flexure along the dispersion between the arcs and a science exposure (`desispec simulate --psf-wave-shift`:
/// every fiber's light of lambda lands where truth-psf-r0.fits puts lambda + SHIFT) moves every trace alike, which
/// the relative calibration of the trace shifts cannot see; `desispec traceshift --sky` must find it through the
/// absolute calibration against the shipped sky line spectrum (desi_proc's science settings). Needs the release binary.
final class TraceShiftFlexureTests: XCTestCase {
    static let nspec = 40
    static let shift = 0.12   // Angstrom

    /// y of the traces of a PSF file (YTRACE: Legendre coefficients per fiber over WAVEMIN..WAVEMAX).
    struct YTraces {
        let coefficients: FITSImage<Double>
        let wavemin: Double, wavemax: Double
        init(_ path: String) throws {
            let f = try FITSFile.open(path)
            coefficients = try f.readImage("YTRACE", as: Double.self)
            wavemin = try XCTUnwrap(coefficients.header.double("WAVEMIN"))
            wavemax = try XCTUnwrap(coefficients.header.double("WAVEMAX"))
        }
        func y(_ fiber: Int, _ w: Double) -> Double {
            let n = coefficients.shape[1]
            return Legendre.value(Legendre.reduced(w, min: wavemin, max: wavemax),
                                  Array(coefficients.data[(fiber * n)..<((fiber + 1) * n)]))
        }
    }

    func testSkyCalibrationFindsAFlexureOfEveryFiber() throws {
        let bin = try CLIRunner.requireReleaseExecutable(for: "simulate, preproc, traceshift")
        // the simulated sky must be the real one, whose lines the shipped reference lists: the simulator's built-in
        // fallback sky (no DESISPEC_TESTDATA) has lines of its own, off the reference by several hundredths of an A
        let sky = (ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"] ?? "../shared/data") + "/spectra/sky-uves.fits"
        guard FileManager.default.fileExists(atPath: sky) else {
            throw XCTSkip("the real sky spectrum \(sky) is not there (set DESISPEC_TESTDATA to the shared data folder)")
        }
        let dir = try CLIRunner.temporaryDirectory(self)
        func run(_ args: [String]) throws { try CLIRunner.runStep(args, executable: bin) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let raw = path("raw"), e = "00000002", expDir = "\(raw)/20250101/00000002"
        try run(["simulate", "--night", "20250101", "--expid", "2", "--flavor", "science", "--cameras", "r0",
                 "--nspec", "\(Self.nspec)", "--ccd-size", "narrow", "--no-cosmics", "--seed", "5", "--outdir", raw,
                 "--psf-wave-shift", "\(Self.shift)"])
        try run(["preproc", "-i", "\(expDir)/desi-\(e).fits.fz", "--cameras", "r0", "--fibermap", "\(expDir)/fibermap-\(e).fits",
                 "-o", path("preproc.fits"), "--no-calib-config"])
        try run(["traceshift", "-i", path("preproc.fits"), "--psf", "\(expDir)/truth-psf-r0.fits", "-o", path("psf.fits"),
                 "--sky", "--degxx", "2", "--degxy", "0", "--degyx", "2", "--degyy", "0"])

        let truth = try YTraces("\(expDir)/truth-psf-r0.fits"), measured = try YTraces(path("psf.fits"))
        let perturbation = try FITSFile.open("\(expDir)/truth-psf-perturbation-r0.fits").readTable("PSFPERTURB")
        XCTAssertEqual(try XCTUnwrap(perturbation["WAVEOFFSET"]?.data.doubles).first ?? 0, Self.shift, accuracy: 1e-12)
        // the injected y shift of each fiber at 5 wavelengths, and the measured one
        let waves = (0..<5).map { truth.wavemin + (truth.wavemax - truth.wavemin) * Double($0) / 4 }
        var injected = [Double](), errors = [Double]()
        for f in 0..<Self.nspec {
            for w in waves {
                injected.append(truth.y(f, w + Self.shift) - truth.y(f, w))
                errors.append(measured.y(f, w) - truth.y(f, w + Self.shift))
            }
        }
        let meanInjected = injected.reduce(0, +) / Double(injected.count)
        let meanError = errors.reduce(0, +) / Double(errors.count)
        let worst = errors.map(abs).max() ?? .infinity
        print(String(format: "flexure %.2f A: injected mean dy %+.4f pixel, measured - injected: mean %+.4f, largest %.4f",
                     Self.shift, meanInjected, meanError, worst))
        XCTAssertGreaterThan(meanInjected, 0.2)   // the shift is larger than what is checked below
        // the absolute calibration's bins, as desispec appends them to the shifted PSF (EXTOFF, float32): the median
        // spectrum's lines sit SHIFT after the reference's, so each bin's DWAVE (reference - data) is about -SHIFT
        let extoff = try FITSFile.open(path("psf.fits")).readTable("EXTOFF")
        let dwave = try XCTUnwrap(extoff["DWAVE"]?.data.doubles)
        XCTAssertGreaterThanOrEqual(dwave.count, 3)
        for d in dwave { XCTAssertEqual(d, -Self.shift, accuracy: 0.03) }
        XCTAssertEqual(meanError, 0, accuracy: 0.02)
        XCTAssertLessThan(worst, 0.05)
    }
}
