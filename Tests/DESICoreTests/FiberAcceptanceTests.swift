import DESICore
import FITS
import Foundation
import XCTest

final class FiberAcceptanceTests: XCTestCase {
    /// Brute force: the Moffat density summed on a fine grid (midpoints, 3 x 3 sub-samples at the edge cells' level
    /// of the grid) over the elliptical aperture; independent of the ray formula of `apertureFraction`.
    static func bruteForce(_ m: MoffatProfile, a: Double, b: Double, dx: Double, dy: Double, n: Int = 1500) -> Double {
        let hx = 2 * a / Double(n), hy = 2 * b / Double(n)
        var sum = 0.0
        for i in 0..<n {
            let x = -a + (Double(i) + 0.5) * hx
            for j in 0..<n {
                let y = -b + (Double(j) + 0.5) * hy
                guard x * x / (a * a) + y * y / (b * b) <= 1 else { continue }
                // aperture point (x, y) seen from the profile centre at (-dx, -dy)
                sum += m.density(((x + dx) * (x + dx) + (y + dy) * (y + dy)).squareRoot())
            }
        }
        return sum * hx * hy
    }

    func testMoffatFWHMAndCircularApertureClosedForm() {
        let m = MoffatProfile(fwhm: 1.1, beta: 3.5)
        XCTAssertEqual(m.fwhm, 1.1, accuracy: 1e-12)
        XCTAssertEqual(m.density(0.55) / m.density(0), 0.5, accuracy: 1e-12)
        for r in [0.3, 0.75, 1.2, 3.0] {
            let closed = 1 - pow(1 + (r / m.alpha) * (r / m.alpha), 1 - m.beta)
            XCTAssertEqual(m.apertureFraction(semiAxisX: r, semiAxisY: r), closed, accuracy: 1e-12)
            XCTAssertEqual(m.enclosedFraction(r), closed, accuracy: 1e-15)
        }
    }

    func testOffsetEllipticalApertureAgainstBruteForce() {
        let m = MoffatProfile(fwhm: 1.3, beta: 3.5)
        // (a, b, dx, dy): centred ellipse, offset inside, offset near the edge, centre outside the aperture
        let cases: [(Double, Double, Double, Double)] = [(0.79, 0.73, 0, 0), (0.79, 0.73, 0.2, -0.15),
                                                          (0.75, 0.70, 0.6, 0.3), (0.75, 0.70, 1.1, 0.4)]
        for (a, b, dx, dy) in cases {
            let ray = m.apertureFraction(semiAxisX: a, semiAxisY: b, offsetX: dx, offsetY: dy)
            let brute = Self.bruteForce(m, a: a, b: b, dx: dx, dy: dy)
            XCTAssertEqual(ray, brute, accuracy: 3e-4, "a \(a) b \(b) offset \(dx) \(dy)")
        }
    }

    /// Rows of DESI-0329's Echo 22 table (platescale.txt) between the 20 mm nodes.
    func testPlateScaleReproducesTheDesignTable() {
        let rows: [(Double, Double, Double)] = [(0, 67.50706676, 67.50706676), (150, 68.78620831, 67.92948369),
                                                (233, 70.56602368, 68.51357897), (310, 72.87217777, 69.2604973),
                                                (415, 76.94034528, 70.57489528)]
        for (r, mps, sps) in rows {
            let s = DESIPlateScale.scales(radius: r)
            XCTAssertEqual(s.radial / mps, 1, accuracy: 2e-4, "radial at \(r) mm")
            XCTAssertEqual(s.azimuthal / sps, 1, accuracy: 2e-4, "azimuthal at \(r) mm")
        }
    }

    /// The fiber on the sky: 107 um over the plate scales; a radial positioning offset moves the source along x.
    func testApertureGeometry() {
        let ap = FiberFluxCorrection.Aperture(x: 0, y: 300, dx: 0, dy: 0.010)
        let s = DESIPlateScale.scales(radius: 300)
        XCTAssertEqual(ap.semiAxisRadial, 53.5 / s.radial, accuracy: 1e-12)
        XCTAssertEqual(ap.semiAxisAzimuthal, 53.5 / s.azimuthal, accuracy: 1e-12)
        XCTAssertEqual(ap.offsetRadial, 10 / s.radial, accuracy: 1e-12)
        XCTAssertEqual(ap.offsetAzimuthal, 0, accuracy: 1e-12)
    }

    /// An exponential disk in negligible seeing: the fraction within a circle of radius R has the closed form
    /// 1 - (1 + R/rd) exp(-R/rd) (fine radial steps: without seeing the integrand is a step at the fiber edge).
    func testDiskFractionInNegligibleSeeing() {
        let ap = FiberFluxCorrection.Aperture(diameterArcsec: 1.5)
        for hl in [0.3, 0.8, 2.0] {
            let rd = hl / 1.67835, x = 0.75 / rd
            let truth = 1 - (1 + x) * exp(-x)
            let f = FiberFluxCorrection.diskFraction(ap, seeingFWHM: 0.01, halfLightRadius: hl, radialSteps: 2000)
            XCTAssertEqual(f, truth, accuracy: 2e-3, "half-light radius \(hl)")
        }
    }

    /// In real seeing the default 48 radial steps are converged; an offset elliptical fiber too.
    func testDiskFractionConverged() {
        let ap = FiberFluxCorrection.Aperture(x: 0, y: 350, dx: 0.005, dy: -0.004)
        for hl in [0.45, 2.0] {
            let coarse = FiberFluxCorrection.diskFraction(ap, seeingFWHM: 1.1, halfLightRadius: hl)
            let fine = FiberFluxCorrection.diskFraction(ap, seeingFWHM: 1.1, halfLightRadius: hl, radialSteps: 1000)
            XCTAssertEqual(coarse, fine, accuracy: 1e-4, "half-light radius \(hl)")
        }
    }

    func fibermap(x: [Double], y: [Double], objtype: [String], morph: [String]? = nil, shapeR: [Double]? = nil) -> Fibermap {
        var cols = [FITSColumn("FIBER", .int32(x.indices.map { Int32($0) })), FITSColumn("OBJTYPE", .string(objtype)),
                    FITSColumn("FIBER_X", .double(x)), FITSColumn("FIBER_Y", .double(y)),
                    FITSColumn("DELTA_X", .double(x.map { _ in 0 })), FITSColumn("DELTA_Y", .double(x.map { _ in 0 }))]
        if let m = morph { cols.append(FITSColumn("MORPHTYPE", .string(m))) }
        if let r = shapeR { cols.append(FITSColumn("SHAPE_R", .double(r))) }
        return Fibermap(table: FITSTable(columns: cols))
    }

    /// FLAT_TO_PSF_FLUX: (solid angle / point-source fraction) relative to the median, from the brute-force fraction.
    func testFlatToPSFCorrection() {
        let xs = [0.0, 150, 280, 0, 400], ys = [0.0, 100, 0, 350, 0]
        let fm = fibermap(x: xs, y: ys, objtype: ["TGT", "TGT", "SKY", "TGT", "TGT"])
        let corr = FiberFluxCorrection.flatToPSF(fm, seeingFWHM: 1.1)
        XCTAssertEqual(corr[2], 1)  // sky fiber
        let m = MoffatProfile(fwhm: 1.1, beta: 3.5)
        let raw = [0, 1, 3, 4].map { i -> Double in
            let ap = FiberFluxCorrection.Aperture(x: xs[i], y: ys[i])
            let f = Self.bruteForce(m, a: ap.semiAxisRadial, b: ap.semiAxisAzimuthal, dx: 0, dy: 0, n: 1000)
            return ap.semiAxisRadial * ap.semiAxisAzimuthal / f
        }
        let med = raw.sorted()[1...2].reduce(0, +) / 2
        for (k, i) in [0, 1, 3, 4].enumerated() { XCTAssertEqual(corr[i], raw[k] / med, accuracy: 3e-4) }
        // the edge fiber sees a smaller patch of sky (its flat is lower, which overcorrects a star) and catches a
        // smaller fraction of the star, less so: its correction is smaller (desispec: 1 / fraction / scale^2)
        XCTAssertLessThan(corr[4], corr[0] - 0.05)
    }

    func testPSFToFiberCorrection() {
        let fm = fibermap(x: [10, 300, 300], y: [0, 0, 0], objtype: ["TGT", "TGT", "TGT"], morph: ["PSF", "PSF", "EXP"],
                          shapeR: [0, 0, 1.0])
        let corr = FiberFluxCorrection.psfToFiber(fm, seeingFWHM: 1.1)
        XCTAssertEqual(corr[0], 0.789, accuracy: 1e-12)
        XCTAssertEqual(corr[1], 0.789, accuracy: 1e-12)
        // extended: 0.789 x (disk/point nominal) x (point/disk current)
        let ap = FiberFluxCorrection.Aperture(x: 300, y: 0), nom = FiberFluxCorrection.Aperture(diameterArcsec: 1.5)
        let expected = 0.789 * FiberFluxCorrection.diskFraction(nom, seeingFWHM: 1, halfLightRadius: 1)
            / FiberFluxCorrection.pointSourceFraction(nom, seeingFWHM: 1)
            * FiberFluxCorrection.pointSourceFraction(ap, seeingFWHM: 1.1)
            / FiberFluxCorrection.diskFraction(ap, seeingFWHM: 1.1, halfLightRadius: 1)
        XCTAssertEqual(corr[2], expected, accuracy: 1e-12)
        XCTAssertLessThan(corr[2], 0.789)
    }

    func testNoFiberPositionsGivesOneWithAWarning() {
        let fm = Fibermap(table: FITSTable(columns: [FITSColumn("FIBER", .int32([0, 1])),
                                                     FITSColumn("OBJTYPE", .string(["TGT", "TGT"]))]))
        var warnings: [String] = []
        XCTAssertEqual(FiberFluxCorrection.flatToPSF(fm, seeingFWHM: 1.1) { warnings.append($0) }, [1, 1])
        XCTAssertEqual(FiberFluxCorrection.psfToFiber(fm, seeingFWHM: 1.1) { warnings.append($0) }, [1, 1])
        XCTAssertEqual(warnings.count, 2)
        XCTAssertTrue(warnings[0].contains("FIBER_X"))
    }
}
