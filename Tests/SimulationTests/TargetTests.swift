import DESICore
import FITS
import LinearAlgebra
import XCTest

@testable import Simulation

final class TargetTests: XCTestCase {

    func testFibermapCountsAndColumns() throws {
        let inputs = SpectralInputs.builtin()
        let targets = TargetSimulator.make(nspec: 20, spectrograph: 2, inputs: inputs, instrument: Instrument(), seed: 5)
        let fm = TargetSimulator.fibermap(targets: targets, exptime: 900, night: 20250101, expid: 12, flavor: "science")
        XCTAssertEqual(fm.count, 20)
        XCTAssertEqual(fm.fibers, Array(1000..<1020))
        XCTAssertEqual(fm.rows(objtype: "SKY").count, 2)
        let dt = fm.table["DESI_TARGET"]!.data.ints!
        XCTAssertEqual(dt.filter { Int64($0) & DESITargetBits.stdFaint != 0 }.count, 2)
        XCTAssertEqual(dt.filter { Int64($0) & DESITargetBits.sky != 0 }.count, 2)
        // desispec's standard-star selection reads the bright-galaxy and Milky-Way target masks too (none here)
        XCTAssertEqual(fm.table["BGS_TARGET"]?.data.ints ?? [1], [Int](repeating: 0, count: 20))
        XCTAssertEqual(fm.table["MWS_TARGET"]?.data.ints ?? [1], [Int](repeating: 0, count: 20))
        XCTAssertEqual(Set(fm.targetIDs).count, 20)
        // focal plane: petal 2 spans 72-108 deg
        for (x, y) in zip(fm.fiberX, fm.fiberY) {
            let a = atan2(y, x) * 180 / Double.pi
            XCTAssertTrue(a > 72 && a < 108, "angle \(a)")
            XCTAssertTrue((x * x + y * y).squareRoot() < 420)
        }
        // standards are 16.5 < r < 18.5 before Milky Way dust (E(B-V) 0.02-0.2: up to 0.45 mag in r), N and S
        for t in targets where t.kind == .standard {
            let r = FilterCurve.magnitude(nanomaggies: t.fluxGRZ[1])
            XCTAssertTrue(r > 16.5 && r < 19.0, "std r = \(r)")
            XCTAssertTrue(t.ebv >= 0.02 && t.ebv <= 0.2 && ["N", "S"].contains(t.photsys))
        }
        XCTAssertEqual(Set(targets.filter { $0.kind == .standard }.map(\.photsys)), ["N", "S"])
        XCTAssertEqual(fm.table["PHOTSYS"]?.data.count, 20)
    }

    /// FLUX_G/R/Z agree with an independent integration of the spectrum through the filter.
    func testMagnitudesMatchSpectrumThroughFilter() throws {
        let inputs = SimTest.hasData ? try SpectralInputs.load(dataDirectory: SimTest.dataDirectory) : SpectralInputs.builtin()
        let targets = TargetSimulator.make(nspec: 10, spectrograph: 0, inputs: inputs, instrument: Instrument(), seed: 9)
        let c = 2.99792458e18
        for t in targets where t.kind != .sky {
            // standards: their PHOTSYS's shipped curves; others: the simulator's DECam curves
            let curves = t.kind == .standard
                ? try ["g", "r", "z"].map { try FilterCurve.shipped(FilterCurve.legacySurveyName(band: $0, photsys: t.photsys)) }
                : inputs.filters
            for (b, filter) in curves.enumerated() {
                // trapezoid on a 0.25 A grid of f_lambda * R * lambda over R * c / lambda
                let grid = stride(from: filter.wave.first!, through: filter.wave.last!, by: 0.25).map { $0 }
                let f = t.spectrum.evaluate(at: grid)
                let r = Interpolation.linear(x: filter.wave, y: filter.response, at: grid, left: 0, right: 0)
                var num = 0.0, den = 0.0
                for k in grid.indices { num += f[k] * 1e-17 * r[k] * grid[k]; den += r[k] * c / grid[k] }
                let nmgy = num / den / 3631e-23 * 1e9
                XCTAssertEqual(t.fluxGRZ[b] / nmgy, 1, accuracy: 0.005, "\(t.kind) band \(filter.band)")
            }
        }
        // a flat f_nu = 3631 Jy * 1e-9 spectrum (22.5 AB) gives 1 nanomaggy
        let wave = stride(from: 3000.0, through: 11000, by: 2).map { $0 }
        let flat = SpectrumModel(wave: wave, flux: wave.map { 3631e-23 * 1e-9 * c / ($0 * $0) / 1e-17 })
        for filter in inputs.filters { XCTAssertEqual(filter.nanomaggies(of: flat), 1, accuracy: 1e-3) }
    }

    func testRealInputsLoad() throws {
        guard SimTest.hasData else { throw XCTSkip("DESI test data not found at \(SimTest.dataDirectory) (set DESISPEC_TESTDATA)") }
        let s = try SpectralInputs.load(dataDirectory: SimTest.dataDirectory)
        XCTAssertEqual(s.sky.wave.count, 72010)
        XCTAssertEqual(s.stars.count, 62)
        XCTAssertEqual(s.filters.map(\.band), ["g", "r", "z"])
        // response-weighted mean wavelength of DECam r is about 6420 A
        let r = s.filters[1]
        let mean = zip(r.wave, r.response).map { $0 * $1 }.reduce(0, +) / r.response.reduce(0, +)
        XCTAssertEqual(mean, 6420, accuracy: 80)
        XCTAssertEqual(s.flatLamp.wave.first!, 3554, accuracy: 1e-6)
        XCTAssertGreaterThan(s.arcLines.count, 100)
        // the brightest sky line in r is the [OI] 6302 A line (vacuum)
        let w = stride(from: 6250.0, to: 6350, by: 0.1).map { $0 }
        let f = s.sky.evaluate(at: w)
        XCTAssertEqual(w[f.indices.max { f[$0] < f[$1] }!], 6302.0, accuracy: 0.5)
    }

    /// The built-in fallback arc lines are in vacuum: Hg 5460.74 (air) at 5462.27.
    func testAirToVacuum() {
        XCTAssertEqual(FallbackSpectra.airToVacuum(5460.74), 5462.26, accuracy: 0.02)
        XCTAssertEqual(FallbackSpectra.airToVacuum(6562.80), 6564.61, accuracy: 0.02)
    }
}
