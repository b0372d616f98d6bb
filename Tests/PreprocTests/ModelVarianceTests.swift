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
        options.fiberflat = try unitFiberFlat(nspec: frame.traces.nspec, wavemin: frame.psf.wavemin, wavemax: frame.psf.wavemax)
        options.tracesDependency = "psf-r0-00051060.fits"
        let modelled = try Preprocessor.run(frame.rawImage, options: options).image
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

    /// A smooth background injected under b-camera traces is removed between the outermost gaps of each amplifier,
    /// away from the amplifiers' first and last 250 rows (median filter edges). desispec's gap means are weighted by
    /// the ivar, which favours pixels that fluctuate down (data-based ivar), or, with the model variance, gives the
    /// background pixels the image model does not describe (5-sigma outliers of the model) their own, larger
    /// variance: at 30 e the removed background comes out 3% (data-based) to 5% (model) low. The issue's < 1% is
    /// not reached by desispec's algorithm at this level (see Docs/preproc.md); the bounds here catch a broken fit.
    func testBlockBackgroundRemovesInjectedBackground() throws {
        let amplitude = 30.0
        let path = try psfPath("ql-psf-b0.fits")
        let probe = try readPSF(path)
        let nx = Double(probe.npixX), ny = Double(probe.npixY)
        let bg: (Int, Int) -> Double = { r, c in
            amplitude * (0.85 + 0.15 * cos(Double.pi * Double(c) / nx)) * (1 + 0.05 * sin(Double.pi * Double(r) / ny))
        }
        let frame = try TraceFrame.make(psfFile: path, camera: "b0", rowCounts: 1500, seed: 11, background: bg)
        var options = PreprocOptions()
        options.nocosmic = true
        options.bkgsubScience = true
        options.traces = frame.tracesProvider
        let result = try Preprocessor.run(frame.rawImage, options: options)
        let image = result.image
        let plain = try Preprocessor.run(frame.rawImage, options: { var o = options; o.bkgsubScience = false; return o }()).image
        XCTAssertNotNil(image.header.double("BBKGMAXA"))
        // the subtracted background is plain - image
        let sections = try amplifierSections(frame.rawImage.header, rawNy: frame.rawImage.ny, rawNx: frame.rawImage.nx, path: "test")
        var worst = 0.0, sum2 = 0.0, n = 0
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
                    let removed = Double(plain.pix[i]) - Double(image.pix[i])
                    let e = removed - bg(r, c)
                    worst = max(worst, abs(e)); sum2 += e * e; n += 1
                }
            }
        }
        let rms = (sum2 / Double(max(n, 1))).squareRoot()
        print(String(format: "block background: |removed - injected| rms %.3f e, largest %.3f e over %d pixels (amplitude %.0f e)",
                     rms, worst, n, amplitude))
        XCTAssertGreaterThan(n, 100_000)
        XCTAssertLessThan(rms, 0.04 * amplitude)
        XCTAssertLessThan(worst, 0.06 * amplitude)
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
