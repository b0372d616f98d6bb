import DESICore
import FITS
import XCTest

@testable import PSF

/// Broken fibers, masked and saturated lines, a missing lamp: the fit goes on with what is left (a fiber without
/// lines of its own takes its bundle's smooth solution and is flagged in STATUS), never a crash; an image without
/// lines is a one-line error and no file. Arcs of the analytic PSF (12 fibers in bundles of 6) with the shipped
/// measured lines, fitted from the truth moved by (+0.3, -0.4) pixel with widths x 1.05.
final class PSFRobustnessTests: XCTestCase {
    static func options() -> PSFFitOptions {
        var o = PSFFitOptions()
        o.ncpu = 2; o.bundleSize = 6
        return o
    }

    static func start(_ truth: GaussHermitePSF) -> GaussHermitePSF {
        PSFFitTests.perturbed(truth, dx: 0.3, dy: -0.4, sigmaScale: 1.05)
    }

    /// Largest trace error (pixels) of fibers `fibers` over the wavelengths of the lines.
    static func maxError(_ r: PSFFitResult, _ truth: GaussHermitePSF, lines: [ArcLine], fibers: [Int]) -> Double {
        let w = lines.map(\.wavelength).filter { $0 > truth.wavemin && $0 < truth.wavemax }
        var e = 0.0
        for f in fibers {
            for k in 0...20 {
                let wave = w.min()! + (w.max()! - w.min()!) * Double(k) / 20
                e = max(e, abs(r.psf.x(fiber: f, wavelength: wave) - truth.x(fiber: f, wavelength: wave)),
                        abs(r.psf.y(fiber: f, wavelength: wave) - truth.y(fiber: f, wavelength: wave)))
            }
        }
        return e
    }

    func testBrokenFibersTakeTheBundleSolutionAndAreFlagged() throws {
        let truth = try PSFFitTests.truthPSF()
        let lines = try ArcLamps.measured()
        let image = PSFFitTests.arcImage(truth: truth, lines: lines, seed: 31, darkFibers: [3, 6])
        let r = try fitPSF(image: image, psf: Self.start(truth), lines: lines, options: Self.options())
        let status = r.fiberStatus
        XCTAssertEqual(status[3], .bundleSolution); XCTAssertEqual(status[6], .bundleSolution)
        XCTAssertEqual(status.filter { $0 == .fitted }.count, 10)
        // The move is the same for the whole bundle: its smooth solution puts the dark fibers right.
        XCTAssertLessThan(Self.maxError(r, truth, lines: lines, fibers: [3, 6]), 0.05)
        XCTAssertLessThan(Self.maxError(r, truth, lines: lines, fibers: Array(0..<12)), 0.05)
        // STATUS is written in the PSF table and read back.
        let path = temporaryPath("status-psf.fits")
        try r.psf.withFiberStatus(status).write(to: path)
        let back = try XCTUnwrap(try readPSF(path) as? GaussHermitePSF)
        XCTAssertEqual(back.fiberStatusValues, status.map(\.rawValue))
    }

    func testAWholeDarkBundleTakesTheNearestFibers() throws {
        let truth = try PSFFitTests.truthPSF()
        let lines = try ArcLamps.measured()
        let image = PSFFitTests.arcImage(truth: truth, lines: lines, seed: 32, darkFibers: Set(6..<12))
        let r = try fitPSF(image: image, psf: Self.start(truth), lines: lines, options: Self.options())
        XCTAssertEqual(r.fiberStatus[0..<6].filter { $0 == .fitted }.count, 6)
        XCTAssertTrue(r.fiberStatus[6..<12].allSatisfy { $0 == .neighbours })
        XCTAssertLessThan(Self.maxError(r, truth, lines: lines, fibers: Array(0..<6)), 0.05)
    }

    func testMaskedLinesAreLeftOut() throws {
        let truth = try PSFFitTests.truthPSF()
        let lines = try ArcLamps.measured()
        var image = PSFFitTests.arcImage(truth: truth, lines: lines, seed: 33)
        // Every line of fiber 5 masked (a bad column region), and one bright line masked in every fiber.
        let inRange = lines.filter { $0.wavelength > truth.wavemin && $0.wavelength < truth.wavemax }
        let bright = inRange.max { $0.intensity < $1.intensity }!.wavelength
        for f in 0..<truth.nspec {
            for l in inRange where f == 5 || l.wavelength == bright {
                let xc = Int(truth.x(fiber: f, wavelength: l.wavelength).rounded())
                let yc = Int(truth.y(fiber: f, wavelength: l.wavelength).rounded())
                for y in max(0, yc - 1)...min(image.ny - 1, yc + 1) {
                    for x in (xc - 1)...(xc + 1) { image.mask[y * image.nx + x] |= CCDMask.bad; image.ivar[y * image.nx + x] = 0 }
                }
            }
        }
        let r = try fitPSF(image: image, psf: Self.start(truth), lines: lines, options: Self.options())
        XCTAssertEqual(r.fiberStatus[5], .bundleSolution)
        XCTAssertTrue(r.linesNotFound(lines).contains(bright))
        XCTAssertFalse(r.measurements.contains { $0.fiber == 5 })
        XCTAssertLessThan(Self.maxError(r, truth, lines: lines, fibers: Array(0..<12)), 0.05)
    }

    func testSaturatedLinesAreLeftOut() throws {
        let truth = try PSFFitTests.truthPSF()
        let lines = try ArcLamps.measured()
        // Brighter arc: the brightest lines saturate; preproc masks their saturated pixels (SATURATED, ivar 0).
        var image = PSFFitTests.arcImage(truth: truth, lines: lines, scale: 3, seed: 34)
        let inRange = lines.filter { $0.wavelength > truth.wavemin && $0.wavelength < truth.wavemax }
        let peak = truth.spot(fiber: 0, wavelength: 6500).values.max()!
        let third = inRange.map(\.intensity).sorted(by: >)[2]
        let level = Float(0.8 * 3 * third * peak)
        for k in 0..<image.pix.count where image.pix[k] > level {
            image.pix[k] = level; image.mask[k] |= CCDMask.saturated; image.ivar[k] = 0
        }
        // The (fiber, line) pairs with a saturated pixel within a pixel of the line's centre.
        var hit = [(Int, Double)]()
        for f in 0..<truth.nspec {
            for l in inRange {
                let xc = Int(truth.x(fiber: f, wavelength: l.wavelength).rounded())
                let yc = Int(truth.y(fiber: f, wavelength: l.wavelength).rounded())
                guard yc >= 1, yc < image.ny - 1 else { continue }
                let core = (yc - 1...yc + 1).flatMap { y in (xc - 1...xc + 1).map { y * image.nx + $0 } }
                if core.contains(where: { image.mask[$0] & CCDMask.saturated != 0 }) { hit.append((f, l.wavelength)) }
            }
        }
        XCTAssertGreaterThanOrEqual(Set(hit.map(\.1)).count, 2)
        let r = try fitPSF(image: image, psf: Self.start(truth), lines: lines, options: Self.options())
        for (f, w) in hit {
            XCTAssertFalse(r.measurements.contains { $0.fiber == f && $0.wavelengths.contains(w) }, "fiber \(f) line \(w)")
        }
        XCTAssertTrue(r.fiberStatus.allSatisfy { $0 == .fitted })
        XCTAssertLessThan(Self.maxError(r, truth, lines: lines, fibers: Array(0..<12)), 0.05)
    }

    func testAMissingLampIsNotACrash() throws {
        let truth = try PSFFitTests.truthPSF()
        let lines = try ArcLamps.measured()
        // The neon lamp is off: lines of the measured list within 0.05 A of a NeI line of specex's list are absent.
        let text = try String(contentsOfFile: try ArcLamps.shippedPath("specex"), encoding: .utf8)
        let neon = text.split(separator: "\n").filter { $0.hasPrefix("NeI ") }.compactMap { Double($0.split(separator: " ")[1]) }
        let isNeon = { (l: ArcLine) in neon.contains { abs($0 - l.wavelength) < 0.05 } }
        let lit = lines.filter { !isNeon($0) }
        let missing = lines.filter { isNeon($0) && $0.wavelength > truth.wavemin && $0.wavelength < truth.wavemax }
        XCTAssertGreaterThan(missing.count, 10)
        let image = PSFFitTests.arcImage(truth: truth, lines: lit, seed: 35)
        let r = try fitPSF(image: image, psf: Self.start(truth), lines: lines, options: Self.options())
        // A missing line is never fitted alone (in a blend with a lit line it gets its own flux, about 0), and most are
        // reported as found in no fiber.
        for l in missing { XCTAssertFalse(r.measurements.contains { $0.wavelengths == [l.wavelength] }, "\(l.wavelength)") }
        let notFound = Set(r.linesNotFound(lines))
        XCTAssertGreaterThan(missing.filter { notFound.contains($0.wavelength) }.count, missing.count / 2)
        XCTAssertTrue(r.fiberStatus.allSatisfy { $0 == .fitted })
        XCTAssertLessThan(Self.maxError(r, truth, lines: lines, fibers: Array(0..<12)), 0.05)
    }

    func testNoLinesAtAllIsAOneLineErrorAndNoFile() throws {
        let truth = try PSFFitTests.truthPSF()
        let dark = PSFFitTests.arcImage(truth: truth, lines: [], seed: 36)
        let image = temporaryPath("dark-arc.fits"), psf = temporaryPath("dark-start.fits"), out = temporaryPath("dark-out.fits")
        try dark.write(to: image)
        try truth.write(to: psf)
        try? FileManager.default.removeItem(atPath: out)
        XCTAssertThrowsError(try fitPSFFile(PSFFitRequest(imagePath: image, psfPath: psf, outputPath: out), info: { _ in },
                                            warning: { _ in })) { e in
            XCTAssertFalse("\(e)".contains("\n"), "\(e)")
            XCTAssertTrue("\(e)".contains("no arc line"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // Without the coarse scan, the fine fit says the same in its words.
        var o = Self.options()
        o.coarseScan = nil
        XCTAssertThrowsError(try fitPSF(image: dark, psf: truth, lines: try ArcLamps.measured(), options: o)) { e in
            XCTAssertTrue("\(e)".contains("arc lines with S/N"), "\(e)")
        }
    }
}
