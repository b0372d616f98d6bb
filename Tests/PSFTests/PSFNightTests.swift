import DESICore
import FITS
import XCTest

@testable import PSF

/// The night's PSF: coefficient means over the inputs, outliers left out per fiber, incompatible inputs refused.
final class PSFNightTests: XCTestCase {
    static func base() throws -> GaussHermitePSF {
        try GaussHermitePSF.analytic(nspec: 6, wavemin: 5650, wavemax: 7800, npixX: 80, npixY: 600)
    }

    /// `p` with fiber `fiber` moved by dx (all fibers when nil) and GHSIGX scaled.
    static func moved(_ p: GaussHermitePSF, dx: Double, fiber: Int? = nil, sigmaScale: Double = 1) -> GaussHermitePSF {
        var q = p
        for f in 0..<p.nspec where fiber == nil || fiber == f { q.xTrace.coefficients[f * q.xTrace.ncoef] += dx }
        let k = q.sigX, nc = q.parameters[k].traces.ncoef
        for f in 0..<p.nspec where fiber == nil || fiber == f {
            for c in 0..<nc { q.parameters[k].traces.coefficients[f * nc + c] *= sigmaScale }
        }
        return try! q.withTraces(x: q.xTrace, y: q.yTrace)
    }

    func testTwoInputsAreAveraged() throws {
        let p = try Self.base()
        let a = Self.moved(p, dx: 0.02, sigmaScale: 1.01), b = Self.moved(p, dx: -0.04, sigmaScale: 0.99)
        let r = try combinePSFs([a, b], names: ["a", "b"])
        XCTAssertEqual(r.rejected, 0)
        for f in 0..<p.nspec {
            XCTAssertEqual(r.psf.x(fiber: f, wavelength: 6500), p.x(fiber: f, wavelength: 6500) - 0.01, accuracy: 1e-9)
            XCTAssertEqual(r.psf.xsigma(fiber: f, wavelength: 6500), p.xsigma(fiber: f, wavelength: 6500), accuracy: 1e-9)
            XCTAssertEqual(r.psf.y(fiber: f, wavelength: 7000), p.y(fiber: f, wavelength: 7000), accuracy: 1e-9)
        }
    }

    func testAnOutlierFiberOfOneInputIsLeftOut() throws {
        let p = try Self.base()
        let a = Self.moved(p, dx: 0.01), b = Self.moved(p, dx: -0.01), c = Self.moved(Self.moved(p, dx: 0.02), dx: 0.8, fiber: 2)
        let r = try combinePSFs([a, b, c], names: ["a", "b", "c"])
        XCTAssertEqual(r.rejected, 1)
        XCTAssertEqual(r.used[2], [0, 1])
        XCTAssertEqual(r.used[3], [0, 1, 2])
        // Fiber 2: mean of a and b; the others: mean of the three.
        XCTAssertEqual(r.psf.x(fiber: 2, wavelength: 6000), p.x(fiber: 2, wavelength: 6000), accuracy: 1e-9)
        XCTAssertEqual(r.psf.x(fiber: 3, wavelength: 6000), p.x(fiber: 3, wavelength: 6000) + 0.02 / 3, accuracy: 1e-9)
        // A width outlier too.
        let d = Self.moved(p, dx: 0.0, fiber: 4, sigmaScale: 1.2)
        let r2 = try combinePSFs([a, b, d], names: ["a", "b", "d"])
        XCTAssertEqual(r2.used[4], [0, 1])
        XCTAssertEqual(r2.psf.xsigma(fiber: 4, wavelength: 6000), p.xsigma(fiber: 4, wavelength: 6000), accuracy: 1e-9)
    }

    func testIncompatibleInputsAreRefusedWithTheFileName() throws {
        let p = try Self.base()
        let other = try GaussHermitePSF.analytic(nspec: 6, wavemin: 5600, wavemax: 7800, npixX: 80, npixY: 600)
        XCTAssertThrowsError(try combinePSFs([p, other], names: ["a.fits", "b.fits"])) { e in
            XCTAssertTrue("\(e)".hasPrefix("b.fits") && "\(e)".contains("wavelength range"), "\(e)")
        }
        let fewer = try GaussHermitePSF.analytic(nspec: 5, wavemin: 5650, wavemax: 7800, npixX: 80, npixY: 600)
        XCTAssertThrowsError(try combinePSFs([p, fewer], names: ["a.fits", "c.fits"])) { e in
            XCTAssertTrue("\(e)".hasPrefix("c.fits") && "\(e)".contains("fibers"), "\(e)")
        }
        var b0 = p, r0 = p
        b0.headers.table.set("CAMERA", "b0"); r0.headers.table.set("CAMERA", "r0")
        XCTAssertThrowsError(try combinePSFs([r0, b0], names: ["r.fits", "b.fits"])) { e in
            XCTAssertTrue("\(e)".contains("camera b0"), "\(e)")
        }
        // specex writes CAMERA = "'r0      '" (quotes inside the value): the same camera as r0.
        var quoted = p
        quoted.headers.table.set("CAMERA", "'r0      '")
        XCTAssertEqual(quoted.camera, "r0")
        XCTAssertNoThrow(try combinePSFs([r0, quoted], names: ["r.fits", "q.fits"]))
    }
}
