import DESICore
import FITS
import XCTest

@testable import PSF

/// Trace shifts measured on a synthetic image made with a PSF shifted by known (dx, dy).
final class TraceShiftTests: XCTestCase {
    struct Scene {
        let psf: GaussHermitePSF
        let image: Image
        let refWave: [Double]
        let refFlux: [Double]
    }

    static let lines: [(Double, Double)] = [(5530, 4000), (5561.5, 2500), (5590.2, 5000), (5622.8, 3000), (5650.1, 4500),
                                            (5681.7, 2000), (5712.3, 6000), (5740.9, 3500), (5768.4, 4000)]

    /// 10 fibers x 500 rows; continuum 150 e/A plus arc-like lines, read noise 3 e, Poisson-like Gaussian noise.
    static func makeScene(dx: Double, dy: Double, seed: UInt64) throws -> Scene {
        let psf = try GaussHermitePSF.analytic(nspec: 10, wavemin: 5500, wavemax: 5800, npixX: 112, npixY: 500)
        let truth = psf.shifted(dx: dx, dy: dy)
        let ny = psf.npixY, nx = psf.npixX
        var model = [Double](repeating: 0, count: ny * nx)
        func add(_ fiber: Int, _ w: Double, _ amp: Double) {
            let s = truth.spot(fiber: fiber, wavelength: w)
            for i in 0..<s.ny where s.y0 + i >= 0 && s.y0 + i < ny {
                for j in 0..<s.nx where s.x0 + j >= 0 && s.x0 + j < nx {
                    model[(s.y0 + i) * nx + s.x0 + j] += amp * s.values[i * s.nx + j]
                }
            }
        }
        let step = 0.25
        for f in 0..<psf.nspec {
            var w = 5490.0
            while w < 5810 { add(f, w, 150 * step); w += step }
            for (lw, a) in lines { add(f, lw, a) }
        }
        var rng = TestRandom(seed: seed)
        let noise = ProcessInfo.processInfo.environment["PSFTESTS_NOISELESS"] != nil ? 0.0 : 1.0
        var pix = [Float](repeating: 0, count: ny * nx), ivar = pix
        for k in 0..<(ny * nx) {
            let v = 9 + max(model[k], 0)
            pix[k] = Float(model[k] + noise * v.squareRoot() * rng.gaussian())
            ivar[k] = Float(1 / v)
        }
        var header = FITSHeader()
        header.set("CAMERA", "r0")
        let image = Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: ny * nx),
                          readnoise: [Float](repeating: 3, count: ny * nx), header: header)
        // Reference: the same spectrum with lines 0.1 A wide, sampled at 0.02 A.
        let refWave = (0..<17000).map { 5480 + 0.02 * Double($0) }
        let refFlux = refWave.map { w in
            150 + lines.reduce(0.0) { $0 + $1.1 * exp(-0.5 * pow((w - $1.0) / 0.1, 2)) / (0.1 * (2 * Double.pi).squareRoot()) }
        }
        return Scene(psf: psf, image: image, refWave: refWave, refFlux: refFlux)
    }

    func testRecoversKnownShift() throws {
        let scene = try Self.makeScene(dx: 0.3, dy: -0.4, seed: 42)
        var o = TraceShiftOptions()
        o.degxx = 1; o.degxy = 1; o.degyx = 1; o.degyy = 1
        o.referenceWave = scene.refWave; o.referenceFlux = scene.refFlux
        let r = try computeTraceShifts(image: scene.image, xTrace: scene.psf.xTrace, yTrace: scene.psf.yTrace, psf: scene.psf, options: o)
        print(String(format: "traceshift truth (+0.300, -0.400): measured MEANDX %+.4f MEANDY %+.4f", r.meanDx, r.meanDy))
        XCTAssertEqual(r.meanDx, 0.3, accuracy: 0.02)
        XCTAssertEqual(r.meanDy, -0.4, accuracy: 0.02)
        // For comparisons with desi_compute_trace_shifts (scripts/compare_traceshift_desispec.sh): keep the inputs.
        if let dir = ProcessInfo.processInfo.environment["PSFTESTS_EXPORT_DIR"] {
            try scene.image.write(to: dir + "/preproc-synthetic.fits")
            try scene.psf.write(to: dir + "/psf-synthetic.fits")
            let text = zip(scene.refWave, scene.refFlux).map { String(format: "%.3f %.6g", $0, $1) }.joined(separator: "\n")
            try text.write(toFile: dir + "/spectrum-synthetic.txt", atomically: true, encoding: .utf8)
        }
        // Per fiber at the centre too.
        for f in [0, 5, 9] {
            XCTAssertEqual(r.xTrace.eval(f, 5650) - scene.psf.xTrace.eval(f, 5650), 0.3, accuracy: 0.04)
            XCTAssertEqual(r.yTrace.eval(f, 5650) - scene.psf.yTrace.eval(f, 5650), -0.4, accuracy: 0.04)
        }
        if ProcessInfo.processInfo.environment["PSFTESTS_VERBOSE"] != nil {
            for q in r.offsets where q.axis == 0 && q.fiber == 5 { print("dy offset", q.wavelength, q.delta, q.error) }
        }
        XCTAssertTrue(r.offsets.contains { $0.axis == 1 } && r.offsets.contains { $0.axis == 0 })
    }

    func testContinuumOnlyMeasuresXAndKeepsY() throws {
        let scene = try Self.makeScene(dx: -0.25, dy: 0.0, seed: 7)
        var o = TraceShiftOptions()
        o.degxx = 0; o.degxy = 0; o.continuum = true
        let r = try computeTraceShifts(image: scene.image, xTrace: scene.psf.xTrace, yTrace: scene.psf.yTrace, psf: scene.psf, options: o)
        print(String(format: "traceshift --continuum truth -0.250: measured MEANDX %+.4f", r.meanDx))
        XCTAssertEqual(r.meanDx, -0.25, accuracy: 0.02)
        XCTAssertEqual(r.maxDy, 0, accuracy: 1e-9)
        XCTAssertEqual(r.minDy, 0, accuracy: 1e-9)
    }

    /// The image as `desispec traceshift` reads it, its mask folded into ivar (`Image.read(maskIntoIvar: true)`, no
    /// mask kept), gives the trace shifts of the image read whole, bit for bit: with cosmic-ray-like masked pixels
    /// and a masked column on the traces, for the x and y passes with the external spectrum and for the continuum
    /// (its large shift scan included; the arc scan's spot detection: TraceShiftLargeScanTests).
    func testMaskFoldedIntoIvarGivesTheSameShifts() throws {
        let scene = try Self.makeScene(dx: 0.2, dy: -0.3, seed: 9)
        var image = scene.image
        for k in stride(from: 17, to: image.mask.count, by: 211) { image.mask[k] = CCDMask.cosmic }
        for y in 0..<image.ny { image.mask[y * image.nx + 40] |= CCDMask.bad }   // a bad column under fiber traces
        let path = NSTemporaryDirectory() + "preproc-fold-\(ProcessInfo.processInfo.processIdentifier).fits"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try image.write(to: path)
        let whole = try Image.read(path, readNoise: false), folded = try Image.read(path, readNoise: false, maskIntoIvar: true)
        XCTAssertTrue(folded.mask.isEmpty)
        XCTAssertEqual(folded.pix, whole.pix)
        for k in 0..<whole.ivar.count { XCTAssertEqual(folded.ivar[k], whole.mask[k] == 0 ? whole.ivar[k] : 0) }
        XCTAssertThrowsError(try Image.read(path, maskIntoIvar: true).write(to: path + ".out.fits")) { e in
            XCTAssertTrue("\(e)".contains("folded"), "\(e)")
        }
        var sky = TraceShiftOptions()
        sky.degxx = 1; sky.degxy = 1; sky.degyx = 1; sky.degyy = 1
        sky.referenceWave = scene.refWave; sky.referenceFlux = scene.refFlux
        var continuum = TraceShiftOptions()
        continuum.continuum = true; continuum.degxx = 0; continuum.degxy = 0
        for (name, o) in [("sky", sky), ("continuum", continuum)] {
            let a = try computeTraceShifts(image: whole, xTrace: scene.psf.xTrace, yTrace: scene.psf.yTrace, psf: scene.psf, options: o)
            let b = try computeTraceShifts(image: folded, xTrace: scene.psf.xTrace, yTrace: scene.psf.yTrace, psf: scene.psf, options: o)
            XCTAssertEqual(b.xTrace.coefficients.map(\.bitPattern), a.xTrace.coefficients.map(\.bitPattern), name)
            XCTAssertEqual(b.yTrace.coefficients.map(\.bitPattern), a.yTrace.coefficients.map(\.bitPattern), name)
            XCTAssertEqual(b.offsets.count, a.offsets.count, name)
        }
    }
}
