import DESICore
import FITS
import Foundation
import XCTest

@testable import PSF

/// GAUSS-HERMITE2 PSFs (specex's older model with two cores, specter's GaussHermite2PSF): the real specex file of
/// specter's test data (Tests/Fixtures/PSFGH2/psf-gausshermite2.fits, BOSS camera r2, 25 fibers, GH degrees 6 and 3,
/// tail, CONT; BSD licence, see its README.md) read as specter reads it, written back in a layout both specter and
/// desispec read, and fitted by the shape fit.
final class GaussHermite2Tests: XCTestCase {
    static var file: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/PSFGH2/psf-gausshermite2.fits").standardized.path
    }

    /// Spots of the file against specter 0.11's GaussHermite2PSF.xypix (values printed by specter, README.md).
    func testSpotsMatchSpecter() throws {
        let psf = try GaussHermitePSF.read(Self.file)
        XCTAssertEqual(psf.psfType, "GAUSS-HERMITE2")
        XCTAssertNotNil(psf.core2)
        let expected: [(f: Int, w: Double, x: Double, y: Double, x0: Int, y0: Int, v: [Double])] = [
            (0, 6000.25, 240.93775777553228, 569.4782749035251, 230, 559,
             [0.04046199899023287, 0.038897378986466204, 0.02154934451485211, 1.3803605287394437e-05, 0.00020038050649869138]),
            (12, 7500.0, 335.8378201773187, 1653.9859008627222, 325, 1643,
             [0.051084308242752556, 0.03803256139124345, 0.040888127073912386, 1.5366557798995597e-05, 6.593324661000283e-05]),
            (24, 9000.5, 426.55389572422956, 2704.7698364805374, 416, 2694,
             [0.05192560039033244, 0.039890203361589084, 0.041952996049851615, 2.3414482604966254e-05, 0.00010850545184332291]),
        ]
        for e in expected {
            XCTAssertEqual(psf.x(fiber: e.f, wavelength: e.w), e.x, accuracy: 1e-9)
            XCTAssertEqual(psf.y(fiber: e.f, wavelength: e.w), e.y, accuracy: 1e-9)
            let s = psf.spot(fiber: e.f, wavelength: e.w)
            XCTAssertEqual([s.x0, s.y0, s.nx, s.ny], [e.x0, e.y0, 20, 20])
            // specter's img[row, column] at (10, 10), (10, 12), (12, 10), (0, 0), (3, 15)
            for (k, (r, c)) in [(10, 10), (10, 12), (12, 10), (0, 0), (3, 15)].enumerated() {
                XCTAssertEqual(s.values[r * 20 + c], e.v[k], accuracy: 1e-9 + 1e-6 * e.v[k])
            }
        }
    }

    /// Written back (PSF table with X, Y in HDU 1 as specter's GaussHermite2PSF reads it; XTRACE, YTRACE for desispec)
    /// and read again: the same spots and the layout both readers need.
    func testWriteKeepsTheTwoCoreLayout() throws {
        let psf = try GaussHermitePSF.read(Self.file)
        let out = temporaryPath("gh2-roundtrip.fits")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try psf.write(to: out)
        let back = try GaussHermitePSF.read(out)
        XCTAssertEqual(back.psfType, "GAUSS-HERMITE2")
        for (f, w) in [(0, 6000.25), (12, 7500.0), (24, 9000.5)] {
            let a = psf.spot(fiber: f, wavelength: w), b = back.spot(fiber: f, wavelength: w)
            XCTAssertEqual([a.x0, a.y0, a.nx, a.ny], [b.x0, b.y0, b.nx, b.ny])
            for k in 0..<a.values.count { XCTAssertEqual(a.values[k], b.values[k], accuracy: 1e-12) }
        }
        let f = try FITSFile.open(out)
        defer { try? f.close() }
        try f.moveTo(index: 1)
        let table = try f.readTable()
        guard case .string(let names)? = table["PARAM"]?.data else { return XCTFail("no PARAM column in HDU 1") }
        XCTAssertEqual(Array(names.prefix(2)).map { $0.trimmingCharacters(in: .whitespaces) }, ["X", "Y"])
        XCTAssertNotNil(table["WAVEMIN"]); XCTAssertNotNil(table["WAVEMAX"])
        XCTAssertEqual(table.header.string("PSFTYPE"), "GAUSS-HERMITE2")
        XCTAssertTrue(f.hasHDU("XTRACE")); XCTAssertTrue(f.hasHDU("YTRACE"))
    }

    /// The shape fit on a two-core PSF: an arc drawn with the file's PSF (columns of its 25 fibers, every row, lines
    /// of the shipped list), fitted from that PSF with every GH-i-j but GH-0-0 and every GH2-i-j scaled by 0.6 (the
    /// second core's weight GH2-0-0 among them): the spots move toward the truth (rms difference of the normalised
    /// spots against the truth: measured 0.84 % of the peak at the start, 0.32 % after; reduced chi2 2.32). Not yet
    /// as good as the one-core fit (chi2 1.0): to investigate (the truth's spots are clipped at 0 and normalised on the
    /// stamp, which the linear model does not follow; 4 iterations from this start).
    func testShapeFitRecoversBothCores() throws {
        var truth = try GaussHermitePSF.read(Self.file)
        // Cut to the columns the fibers cover (the shape fit needs the image of the PSF's CCD).
        let xs = (0..<truth.nspec).flatMap { f in [truth.wavemin, truth.wavemax].map { truth.x(fiber: f, wavelength: $0) } }
        let x0 = Int(xs.min()!.rounded(.down)) - 14
        truth = truth.shifted(dx: -Double(x0), dy: 0)
        truth.npixX = Int(xs.max()!.rounded(.up)) - x0 + 15
        // Every other line of the shipped list in range (enough for the Legendre degrees, half the work in a debug build).
        let inRange = try ArcLamps.resolve(nil).lines.filter { $0.wavelength > truth.wavemin + 50 && $0.wavelength < truth.wavemax - 50 }
        let lines = inRange.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let image = Self.render(truth, lines: lines, electrons: 40000, seed: 5)
        var start = truth
        for p in ShapeFitCores.termParameters(truth).dropFirst() {
            start.parameters[p].traces.coefficients = start.parameters[p].traces.coefficients.map { $0 * 0.6 }
            start.parameters[p].legDegW = 3     // the file's coefficients are of degree 3 at most (its LEGDEGW: 7)
        }
        var o = PSFShapeFitOptions()
        o.ncpu = 2
        o.iterations = 4
        let r = try fitPSFShape(image: image, psf: start, lines: lines, options: o)
        let ws = lines.map(\.wavelength)
        let before = Self.spotRMS(start, truth, ws), after = Self.spotRMS(r.psf, truth, ws)
        print(String(format: "GAUSS-HERMITE2 shape fit: spot rms %.5f -> %.5f of the peak, rchi2 %.3f", before, after, r.bundles[0].rchi2))
        XCTAssertGreaterThan(before, 0.006)
        XCTAssertLessThan(after, 0.5 * before)
        XCTAssertEqual(r.bundles.count, 1)
        XCTAssertLessThan(r.bundles[0].rchi2, 3)
    }

    /// An arc of `psf` (every line `electrons` electrons in every fiber), Poisson + 3 e read noise.
    static func render(_ psf: GaussHermitePSF, lines: [ArcLine], electrons: Double, seed: UInt64) -> Image {
        let ny = psf.npixY, nx = psf.npixX
        var model = [Double](repeating: 0, count: ny * nx)
        for f in 0..<psf.nspec {
            for l in lines {
                let s = psf.spot(fiber: f, wavelength: l.wavelength)
                for i in 0..<s.ny where s.y0 + i >= 0 && s.y0 + i < ny {
                    for j in 0..<s.nx where s.x0 + j >= 0 && s.x0 + j < nx {
                        model[(s.y0 + i) * nx + s.x0 + j] += electrons * s.values[i * s.nx + j]
                    }
                }
            }
        }
        var rng = TestRandom(seed: seed)
        var pix = [Float](repeating: 0, count: ny * nx), ivar = pix
        for k in 0..<(ny * nx) {
            pix[k] = Float(model[k] + (9 + model[k]).squareRoot() * rng.gaussian())
            ivar[k] = Float(1 / (9 + max(Double(pix[k]), 0)))
        }
        return Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: ny * nx),
                     readnoise: [Float](repeating: 3, count: ny * nx))
    }

    /// Median over the fibers (every 4th) x the line wavelengths of the rms difference of the spots (each normalised)
    /// as a fraction of the true spot's peak.
    static func spotRMS(_ p: GaussHermitePSF, _ t: GaussHermitePSF, _ waves: [Double]) -> Double {
        var v = [Double]()
        for f in stride(from: 0, to: t.nspec, by: 4) {
            for w in waves {
                let a = p.spot(fiber: f, wavelength: w), b = t.spot(fiber: f, wavelength: w)
                guard let peak = b.values.max(), peak > 0 else { continue }
                let ss = zip(a.values, b.values).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                v.append((ss / Double(b.values.count)).squareRoot() / peak)
            }
        }
        return v.sorted()[v.count / 2]
    }
}
