import DESICore
import FITS
import Foundation
import PSF
import Simulation
import XCTest

@testable import Preproc

/// `--model-variance` and `--bkgsub-for-science` on full-size frames with a real PSF's traces.
final class ModelVarianceTests: XCTestCase {
    func psfPath(_ name: String) throws -> String {
        let p = "\(testDataDirectory())/psf/\(name)"
        guard FileManager.default.fileExists(atPath: p) else { throw XCTSkip("no \(p)") }
        return p
    }

    /// Pulls (image - truth) x sqrt(ivar) on the traces: the variance from the pixels themselves is biased low where
    /// the pixel fluctuates down (pull mean below 0); the image model's is not. The traces have the cross-dispersion
    /// profile the model assumes (desispec's 1.1 x sigma Gaussian, tuned on real PSFs' wings); on pixel-integrated
    /// Gaussian traces the model is 5% low at the centre and 15% high two pixels out (see Docs/preproc.md).
    func testModelVariancePullsOnBrightTraces() throws {
        let frame = try TraceFrame.make(psfFile: try psfPath("psf-r0-00051060.fits"), camera: "r0", modelProfile: true)
        var options = PreprocOptions()
        options.nocosmic = true
        let dataBased = try Preprocessor.run(frame.rawImage, options: options).image
        options.modelVariance = true
        options.traces = frame.tracesProvider
        options.fiberflat = ModelFiberFlat(try unitFiberFlat(nspec: frame.traces.nspec, wavemin: frame.psf.wavemin,
                                                             wavemax: frame.psf.wavemax))
        options.tracesDependency = "psf-r0-00051060.fits"
        let modelled = try Preprocessor.run(frame.rawImage, options: options).image
        // without the image-sized READNOISE array (the preproc command's way) the variance keeps the rows it computed
        // for the plane: the same values as the array, the same image
        options.readNoiseImage = false
        let lean = try Preprocessor.run(frame.rawImage, options: options)
        XCTAssertNotNil(lean.readNoise.kept, "the model variance should keep the READNOISE rows it computed")
        XCTAssertEqual(lean.image.readnoise, [])
        XCTAssertEqual(lean.readNoise.values(), modelled.readnoise)
        XCTAssertEqual(lean.image.ivar, modelled.ivar)
        XCTAssertTrue(modelled.readnoise.contains { $0 > 0 })
        let d = frame.pulls(dataBased, threshold: 20), m = frame.pulls(modelled, threshold: 20)
        print(String(format: "pulls on %d trace pixels (expected > 20 e): data-based variance mean %.4f std %.4f; "
                     + "model variance mean %.4f std %.4f", m.count, d.mean, d.std, m.mean, m.std))
        XCTAssertEqual(m.mean, 0, accuracy: 0.01)
        XCTAssertEqual(m.std, 1, accuracy: 0.02)
        XCTAssertLessThan(d.mean, m.mean - 0.01, "the data-based variance should be visibly biased on the traces")
        XCTAssertTrue(modelled.header.cards.contains { $0.value.stringValue == "psf-r0-00051060.fits" })
        // the image itself is unchanged by the variance model
        XCTAssertEqual(modelled.pix, dataBased.pix)
    }

    /// Fibers whose 7-column boxcar holds a hot column (200 e, as `simulate --calib`'s CCDs) or a dead one of the
    /// calibration mask, on faint sky-like traces. desispec's image model sums those pixels as signal: next to a hot
    /// column the model is several times too bright, the fiber's pixels fail the 5-sigma test and take the variance
    /// of their own values, which biases an extraction of the fiber low (a sky fiber so placed biased the demo's
    /// coadds by +0.27 sigma). Ours leaves them out. Measured as an extraction sees it, on the fibers' unmasked pixels
    /// of the rows whose box holds the column: the ivar-weighted mean of (image - truth) relative to that of the
    /// truth, and the mean pull; the data-based variance is printed and must be visibly biased by the same measure.
    func testModelVarianceUnbiasedNextToBadColumns() throws {
        let path = try psfPath("psf-r0-00051060.fits")
        let probe = try readPSF(path)
        let midWave = (probe.wavemin + probe.wavemax) / 2
        let hotFibers = [40, 140, 240, 340, 440], deadFibers = [90, 190, 290, 390]
        func column(_ fiber: Int, _ offset: Double) -> Int { Int((probe.x(fiber: fiber, wavelength: midWave) + offset).rounded()) }
        let columns = hotFibers.map { BadColumn(column: column($0, 2.3), extraElectrons: 200) }
            + deadFibers.map { BadColumn(column: column($0, -2.4), dead: true) }
        let frame = try TraceFrame.make(psfFile: path, camera: "r0", rowCounts: 150, seed: 21, modelProfile: true, badColumns: columns)
        var mask = [Float](repeating: 0, count: frame.ny * frame.nx)
        for c in columns {
            let bit = Float(c.dead ? CCDMask.dead : CCDMask.bad)
            for r in 0..<frame.ny { mask[r * frame.nx + c.column] = bit }
        }
        var options = PreprocOptions()
        options.nocosmic = true
        options.mask = .array(mask)
        let dataBased = try Preprocessor.run(frame.rawImage, options: options).image
        options.modelVariance = true
        options.traces = frame.tracesProvider
        options.fiberflat = ModelFiberFlat(try unitFiberFlat(nspec: frame.traces.nspec, wavemin: frame.psf.wavemin,
                                                             wavemax: frame.psf.wavemax))
        let modelled = try Preprocessor.run(frame.rawImage, options: options).image

        let g = frame.traces
        let fibers = zip(hotFibers + deadFibers, columns).map { ($0, $1.column) }
        func bias(_ image: Image, _ selected: [(fiber: Int, column: Int)]) -> (relative: Double, pull: Double, pixels: Int) {
            var swr = 0.0, swt = 0.0, sp = 0.0, n = 0
            for (f, column) in selected {
                for r in 0..<frame.ny {
                    let x = g.x[f * g.ny + r]
                    let box = Int(x - 3)..<Int(x + 4)
                    guard box.contains(column), box.lowerBound >= 0, box.upperBound <= frame.nx else { continue }
                    for i in box where image.mask[r * frame.nx + i] == 0 && image.ivar[r * frame.nx + i] > 0 {
                        let k = r * frame.nx + i, w = Double(image.ivar[k]), t = frame.expected[k], d = Double(image.pix[k]) - t
                        swr += w * d; swt += w * t; sp += d * w.squareRoot(); n += 1
                    }
                }
            }
            return (swr / swt, sp / Double(max(n, 1)), n)
        }
        let m = bias(modelled, fibers), d = bias(dataBased, fibers)
        // fibers away from the bad columns, every row (the "column" is the trace's own centre column, in every box)
        let others = (0..<g.nspec).filter { f in !fibers.contains { abs($0.0 - f) <= 1 } }.filter { $0 % 25 == 7 }
        let control = bias(modelled, others.map { f in (f, Int(g.x[f * g.ny + g.ny / 2])) })
        print(String(format: "fibers with a bad column in their box (%d pixels): ivar-weighted (image - truth) / truth %+.4f, "
                     + "mean pull %+.4f with the model variance; %+.4f, %+.4f with the data-based variance; "
                     + "%d fibers without one: %+.4f, %+.4f", m.pixels, m.relative, m.pull, d.relative, d.pull, others.count,
                     control.relative, control.pull))
        XCTAssertGreaterThan(m.pixels, 20_000)
        XCTAssertEqual(m.relative, 0, accuracy: 0.005)
        XCTAssertEqual(m.pull, 0, accuracy: 0.05)
        XCTAssertEqual(control.relative, 0, accuracy: 0.005)
        XCTAssertLessThan(d.relative, -0.01, "the data-based variance should be visibly biased by this measure")
    }

    /// A smooth background injected under b-camera traces is removed between the outermost gaps of each amplifier,
    /// away from the amplifiers' first and last 250 rows (median filter edges), to < 1% rms of its amplitude with
    /// the gaps' plain mean (default). desispec's inverse-variance weighted mean (`.ivar`) favours the pixels that
    /// fluctuate down and comes out about 3% low at 30 e: printed, and asserted to be worse, as the reason for the
    /// default.
    func testBlockBackgroundRemovesInjectedBackground() throws {
        let amplitude = 30.0
        let path = try psfPath("ql-psf-b0.fits")
        let probe = try readPSF(path)
        let bg = TraceFrame.smoothBackground(amplitude: amplitude, ny: probe.npixY, nx: probe.npixX)
        let frame = try TraceFrame.make(psfFile: path, camera: "b0", rowCounts: 1500, seed: 11, background: bg)
        var options = PreprocOptions()
        options.nocosmic = true
        options.traces = frame.tracesProvider
        let plain = try Preprocessor.run(frame.rawImage, options: options).image
        options.bkgsubScience = true
        let uniform = try Preprocessor.run(frame.rawImage, options: options).image
        options.bkgsubWeights = .ivar
        let weighted = try Preprocessor.run(frame.rawImage, options: options).image
        XCTAssertNotNil(uniform.header.double("BBKGMAXA"))
        let u = try backgroundResidual(frame: frame, plain: plain, subtracted: uniform, truth: bg)
        let w = try backgroundResidual(frame: frame, plain: plain, subtracted: weighted, truth: bg)
        print(String(format: "block background (amplitude %.0f e, %d pixels): |removed - injected| uniform weights rms %.3f e "
                     + "(%.2f%%), mean %.3f e, largest %.3f e; desispec's ivar weights rms %.3f e (%.2f%%), mean %.3f e, largest %.3f e",
                     amplitude, u.count, u.rms, 100 * u.rms / amplitude, u.mean, u.worst,
                     w.rms, 100 * w.rms / amplitude, w.mean, w.worst))
        XCTAssertGreaterThan(u.count, 100_000)
        XCTAssertLessThan(u.rms, 0.01 * amplitude)
        XCTAssertLessThan(u.worst, 0.03 * amplitude)
        XCTAssertGreaterThan(w.rms, 2 * u.rms, "desispec's weights should be visibly biased")
    }

    /// (removed - injected) between the outermost gaps of each amplifier, 250 rows from its ends, every 7th row.
    func backgroundResidual(frame: TraceFrame, plain: Image, subtracted image: Image,
                            truth bg: (Int, Int) -> Double) throws -> (rms: Double, mean: Double, worst: Double, count: Int) {
        let sections = try amplifierSections(frame.rawImage.header, rawNy: frame.rawImage.ny, rawNx: frame.rawImage.nx, path: "test")
        var worst = 0.0, sum = 0.0, sum2 = 0.0, n = 0
        let g = frame.traces
        for a in sections {
            let rows = a.ccd.rows, cols = a.ccd.cols
            for r in stride(from: rows.lowerBound + 250, to: rows.upperBound - 250, by: 7) {
                let gapsX = [g.x[r] - 7.5] + (1..<20).map { (g.x[($0 * 25 - 1) * g.ny + r] + g.x[($0 * 25) * g.ny + r]) / 2 }
                    + [g.x[499 * g.ny + r] + 7.5]
                let inside = gapsX.filter { $0 - 1 >= Double(cols.lowerBound) && $0 + 1 < Double(cols.upperBound) }
                guard let lo = inside.min(), let hi = inside.max() else { continue }
                for c in Int(lo.rounded(.up))...Int(hi) {
                    let i = r * frame.nx + c
                    let e = Double(plain.pix[i]) - Double(image.pix[i]) - bg(r, c)
                    worst = max(worst, abs(e)); sum += e; sum2 += e * e; n += 1
                }
            }
        }
        return ((sum2 / Double(max(n, 1))).squareRoot(), sum / Double(max(n, 1)), worst, n)
    }

    /// scripts/compare_preproc.py --bkgsub / --scattered-light run this with PREPROC_B0_FIXTURE_DIR to write the raw b0
    /// frames (500 bright traces at ql-psf-b0.fits's positions, 1500 e per row and fiber on average): with the block
    /// tests' 30 e smooth background (desi-00001240.fits.fz), and with injected scattered light
    /// (desi-00001241.fits.fz, the injected electrons in scattered-light-b0.fits).
    func testWriteB0FrameFixtures() throws {
        guard let dir = ProcessInfo.processInfo.environment["PREPROC_B0_FIXTURE_DIR"] else {
            throw XCTSkip("set PREPROC_B0_FIXTURE_DIR to write the b0 frame fixtures")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = try psfPath("ql-psf-b0.fits")
        let probe = try readPSF(path)
        let ny = probe.npixY, nx = probe.npixX
        let bg = TraceFrame.smoothBackground(amplitude: 30, ny: ny, nx: nx)
        let withBackground = try TraceFrame.make(psfFile: path, camera: "b0", rowCounts: 1500, seed: 11, background: bg)
        try writeFixture(withBackground, expid: 1240, dir: dir)
        let withLight = try TraceFrame.make(psfFile: path, camera: "b0", rowCounts: 1500, seed: 12,
                                            scatteredLight: TraceFrame.scatteredLight(camera: "b0", ny: ny, nx: nx))
        try writeFixture(withLight, expid: 1241, dir: dir)
        try FITSFile.writeAtomically("\(dir)/scattered-light-b0.fits") { f in
            try f.writeImage(withLight.scattered!.map(Float.init), shape: [ny, nx])
        }
    }

    func writeFixture(_ frame: TraceFrame, expid: Int, dir: String) throws {
        var primary = frame.primary
        primary.set("EXPID", expid)
        var camera = frame.rawCamera
        camera.header.set("EXPID", expid)
        try RawExposureWriter.writeRawExposure(path: "\(dir)/desi-\(String(format: "%08d", expid)).fits.fz", primaryHeader: primary,
                                               cameras: [camera])
    }

    /// scripts/compare_preproc.py --model-variance runs this with PREPROC_TRACE_FIXTURE_DIR to write the raw r0 frame
    /// with bright traces at the real PSF's positions (desi-00001234.fits.fz) that desispec and we preprocess.
    func testWriteTraceFrameFixture() throws {
        guard let dir = ProcessInfo.processInfo.environment["PREPROC_TRACE_FIXTURE_DIR"] else {
            throw XCTSkip("set PREPROC_TRACE_FIXTURE_DIR to write the trace-frame fixture")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let frame = try TraceFrame.make(psfFile: try psfPath("psf-r0-00051060.fits"), camera: "r0")
        let path = "\(dir)/desi-00001234.fits.fz"
        try RawExposureWriter.writeRawExposure(path: path, primaryHeader: frame.primary, cameras: [frame.rawCamera])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }
}
