import DESICore
import FITS
import XCTest

@testable import PSF

/// The night's PSF selects its inputs as desispec's mean_psf: per bundle by reduced chi2 (threshold: median of all
/// inputs and bundles + 1; the best input when none passes), per fiber by STATUS (fibers fitted on their own lines
/// preferred to fallbacks).
final class PSFNightSelectionTests: XCTestCase {
    /// 50 fibers: bundles 0 (fibers 0-24) and 1 (25-49).
    static func base() throws -> GaussHermitePSF {
        try GaussHermitePSF.analytic(nspec: 50, wavemin: 5650, wavemax: 7800, npixX: 420, npixY: 600)
    }

    /// `p` with the x traces of `fibers` moved by dx and the bundles' reduced chi2 set in the PSF header.
    static func input(_ p: GaussHermitePSF, rchi2: [Double], dx: Double = 0, fibers: Range<Int> = 0..<0) -> GaussHermitePSF {
        var q = p
        for f in fibers { q.xTrace.coefficients[f * q.xTrace.ncoef] += dx }
        q = try! q.withTraces(x: q.xTrace, y: q.yTrace)
        for (b, c) in rchi2.enumerated() { q.headers.table.set(String(format: "B%02dRCHI2", b), c) }
        return q
    }

    func testBundlesAboveTheChi2ThresholdAreLeftOut() throws {
        let p = try Self.base()
        let a = Self.input(p, rchi2: [1.1, 1.2], dx: 0.01, fibers: 0..<50)
        let b = Self.input(p, rchi2: [1.2, 1.1], dx: -0.01, fibers: 0..<50)
        // c fitted bundle 1 badly (chi2 5, traces 0.3 pixel off there): it is left out of bundle 1 only.
        let c = Self.input(p, rchi2: [1.15, 5.0], dx: 0.3, fibers: 25..<50)
        let r = try combinePSFs([a, b, c], names: ["a", "b", "c"])
        XCTAssertEqual(r.chi2Threshold ?? 0, 1.175 + 1, accuracy: 1e-12)
        XCTAssertEqual(r.bundleInputs[0], [0, 1, 2]); XCTAssertEqual(r.bundleInputs[1], [0, 1])
        XCTAssertEqual(r.chi2Rejected, 1)
        XCTAssertEqual(r.bundleRChi2[0] ?? 0, (1.1 + 1.2 + 1.15) / 3, accuracy: 1e-12)
        XCTAssertEqual(r.bundleRChi2[1] ?? 0, 1.15, accuracy: 1e-12)
        XCTAssertEqual(r.psf.x(fiber: 30, wavelength: 6500), p.x(fiber: 30, wavelength: 6500), accuracy: 1e-9)
        XCTAssertEqual(r.psf.x(fiber: 10, wavelength: 6500), p.x(fiber: 10, wavelength: 6500), accuracy: 1e-9)
        XCTAssertEqual(r.used[30], [0, 1]); XCTAssertEqual(r.used[10], [0, 1, 2])
    }

    func testWhenNoInputPassesTheBestOneIsTaken() throws {
        let p = try Self.base()
        // Bundle 1: every input above median + 1 (median 1.2 over all six values); b is the best there.
        let a = Self.input(p, rchi2: [1.1, 9.0], dx: 0.1, fibers: 25..<50)
        let b = Self.input(p, rchi2: [1.2, 3.0], dx: 0.2, fibers: 25..<50)
        let c = Self.input(p, rchi2: [1.2, 4.0])
        let r = try combinePSFs([a, b, c], names: ["a", "b", "c"])
        XCTAssertEqual(r.bundleInputs[1], [1])
        XCTAssertEqual(r.psf.x(fiber: 40, wavelength: 6000), p.x(fiber: 40, wavelength: 6000) + 0.2, accuracy: 1e-9)
        XCTAssertEqual(r.bundleRChi2[1] ?? 0, 3.0, accuracy: 1e-12)
    }

    func testFallbackFibersArePreferredLess() throws {
        let p = try Self.base()
        let a = Self.input(p, rchi2: [1, 1]), c = Self.input(p, rchi2: [1, 1])
        // In b, fiber 3 had no lines of its own (STATUS 1) and its bundle solution is 0.2 pixel off.
        var status = [PSFFiberStatus](repeating: .fitted, count: 50)
        status[3] = .bundleSolution
        let b = Self.input(p, rchi2: [1, 1], dx: 0.2, fibers: 3..<4).withFiberStatus(status)
        let r = try combinePSFs([a.withFiberStatus(.init(repeating: .fitted, count: 50)), b,
                                 c.withFiberStatus(.init(repeating: .fitted, count: 50))], names: ["a", "b", "c"])
        XCTAssertEqual(r.used[3], [0, 2])
        XCTAssertEqual(r.statusRejected, 1)
        XCTAssertEqual(r.psf.x(fiber: 3, wavelength: 6000), p.x(fiber: 3, wavelength: 6000), accuracy: 1e-9)
        XCTAssertEqual(r.psf.fiberStatusValues[3], 0)
        // A fiber flagged in every input keeps all of them and stays flagged.
        var all = [PSFFiberStatus](repeating: .fitted, count: 50)
        all[7] = .bundleSolution
        let r2 = try combinePSFs([a.withFiberStatus(all), b.withFiberStatus(all), c.withFiberStatus(all)], names: ["a", "b", "c"])
        XCTAssertEqual(r2.used[7], [0, 1, 2])
        XCTAssertEqual(r2.psf.fiberStatusValues[7], 1)
    }

    func testWithoutChi2KeysEveryInputIsKept() throws {
        let p = try Self.base()
        let r = try combinePSFs([p, p.shifted(dx: 0.02, dy: 0)], names: ["a", "b"])
        XCTAssertNil(r.chi2Threshold)
        XCTAssertEqual(r.bundleInputs[1], [0, 1])
        XCTAssertTrue(r.bundleRChi2.isEmpty)
    }
}
