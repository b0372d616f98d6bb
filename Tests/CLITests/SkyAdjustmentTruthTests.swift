import DESICore
import FITS
import Foundation
import XCTest

/// `desispec simulate --psf-wave-offset --psf-width-scale` renders a flat and a science exposure whose PSF differs
/// per fiber from truth-psf-r0.fits; both are reduced with that unperturbed PSF (preproc, extract, fiberflat) and
/// `desispec sky --adjust-wavelength --adjust-lsf --adjust-with-more-fibers --save-adjustments` must find the
/// injected per-fiber offsets and LSF-width changes (truth-psf-perturbation-r0.fits). Needs the release binary.
final class SkyAdjustmentTruthTests: XCTestCase {
    static let nspec = 40
    static let offset = (amplitude: 0.08, period: 40.0)      // Angstrom, fibers
    static let scale = (amplitude: 0.04, period: 50.0)

    func testFittedAdjustmentsMatchTheInjectedPSFErrors() throws {
        let bin = try CLIRunner.requireReleaseExecutable(for: "simulate, preproc, extract of 40 fibers")
        let dir = try CLIRunner.temporaryDirectory(self)
        func run(_ args: [String]) throws { try CLIRunner.runStep(args, executable: bin) }
        let raw = dir.appendingPathComponent("raw").path
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        for (expid, flavor) in [(1, "flat"), (2, "science")] {
            let e = String(format: "%08d", expid)
            try run(["simulate", "--night", "20250101", "--expid", "\(expid)", "--flavor", flavor, "--cameras", "r0",
                     "--nspec", "\(Self.nspec)", "--ccd-size", "narrow", "--no-cosmics", "--seed", "5", "--outdir", raw,
                     "--psf-wave-offset", "\(Self.offset.amplitude),\(Self.offset.period)",
                     "--psf-width-scale", "\(Self.scale.amplitude),\(Self.scale.period)"])
            try run(["preproc", "-i", "\(raw)/20250101/\(e)/desi-\(e).fits.fz", "--cameras", "r0",
                     "--fibermap", "\(raw)/20250101/\(e)/fibermap-\(e).fits", "-o", path("preproc-\(e).fits"), "--no-calib-config"])
            try run(["extract", "-i", path("preproc-\(e).fits"), "-p", "\(raw)/20250101/\(e)/truth-psf-r0.fits",
                     "-w", "6000,7600,0.8", "-o", path("frame-r0-\(e).fits")])
        }
        try run(["fiberflat", "-i", path("frame-r0-00000001.fits"), "-o", path("fiberflat.fits")])
        try run(["sky", "-i", path("frame-r0-00000002.fits"), "--fiberflat", path("fiberflat.fits"), "-o", path("sky.fits"),
                 "--adjust-wavelength", "--adjust-lsf", "--adjust-with-more-fibers", "--save-adjustments", path("skycorr.fits")])

        let truth = try FITSFile.open("\(raw)/20250101/00000002/truth-psf-perturbation-r0.fits")
        let t = try truth.readTable("PSFPERTURB")
        let injectedOffset = try XCTUnwrap(t["WAVEOFFSET"]?.data.doubles)
        let injectedVariance = try XCTUnwrap(t["LSFVARDELTA"]?.data.doubles)
        XCTAssertEqual(injectedOffset.count, Self.nspec)
        XCTAssertEqual(injectedOffset[10], Self.offset.amplitude, accuracy: 1e-12)   // sin(2 pi 10 / 40) = 1
        let corr = try FITSFile.open(path("skycorr.fits"))
        let dwave = try corr.readImage("DWAVE", as: Double.self)
        let dlsf = try corr.readImage("DLSF", as: Double.self)
        let nwave = dwave.shape[1]
        let objtype = try XCTUnwrap(try Frame.read(path("frame-r0-00000002.fits")).fibermap?.objtypes)
        let sky = (0..<Self.nspec).filter { objtype[$0] == "SKY" }
        // the sky model absorbs the sky fibers' mean error: a fiber whose lines land at lambda + delta gets
        // dwave = mean_sky(delta) - delta; dlsf = (variance change - its sky mean) / the variance of one unit
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let skyOffset = mean(sky.map { injectedOffset[$0] }), skyVariance = mean(sky.map { injectedVariance[$0] })
        let unit = Self.lsfVariancePerUnit(step: 0.8)
        var dwErr = [Double](), dlErr = [Double](), dlTruth = [Double]()
        for f in 0..<Self.nspec {
            let fittedDw = mean(Array(dwave.data[(f * nwave)..<((f + 1) * nwave)]))
            let fittedDl = mean(Array(dlsf.data[(f * nwave)..<((f + 1) * nwave)]))
            dwErr.append(fittedDw - (skyOffset - injectedOffset[f]))
            dlTruth.append((injectedVariance[f] - skyVariance) / unit)
            dlErr.append(fittedDl - dlTruth.last!)
        }
        func rms(_ v: [Double]) -> Double { (v.map { $0 * $0 }.reduce(0, +) / Double(v.count)).squareRoot() }
        // least-squares slope of fitted on injected, and the scatter about the common offset (the sky fibers' own
        // fits set the zero point: with 4 sky fibers it is known to ~0.006 A, ~0.06 units)
        func slope(_ truth: [Double], _ err: [Double]) -> Double {
            let mt = mean(truth), fitted = zip(truth, err).map { $0 + $1 }, mf = mean(fitted)
            let sxy = zip(truth, fitted).reduce(0.0) { $0 + ($1.0 - mt) * ($1.1 - mf) }
            return sxy / truth.reduce(0.0) { $0 + ($1 - mt) * ($1 - mt) }
        }
        let dwTruth = injectedOffset.map { skyOffset - $0 }
        let dwScatter = rms(dwErr.map { $0 - mean(dwErr) }), dlScatter = rms(dlErr.map { $0 - mean(dlErr) })
        print(String(format: "dwave: rms error %.4f A, about the mean error %.4f A, slope %.3f (injected rms %.4f A); "
                     + "dlsf: rms error %.3f, about the mean %.3f, slope %.3f (injected rms %.3f)", rms(dwErr), dwScatter,
                     slope(dwTruth, dwErr), rms(dwTruth), rms(dlErr), dlScatter, slope(dlTruth, dlErr), rms(dlTruth)))
        // measured (seed 5): dwave rms error 0.0128 A, 0.0111 about the mean, slope 1.03 (injected rms 0.057 A);
        // dlsf rms error 0.115, 0.100 about the mean, slope 1.05 (injected rms 0.125)
        XCTAssertLessThan(dwScatter, 0.3 * rms(dwTruth), "fitted wavelength offsets vs injected")
        XCTAssertLessThan(abs(mean(dwErr)), 0.02)
        XCTAssertEqual(slope(dwTruth, dwErr), 1, accuracy: 0.15)
        XCTAssertLessThan(dlScatter, 0.9 * rms(dlTruth), "fitted LSF changes vs injected")
        XCTAssertEqual(slope(dlTruth, dlErr), 1, accuracy: 0.4, "fitted LSF changes vs injected (units of desispec's dlsf)")
    }

    /// desispec's unit of dlsf: the variance (A^2) of its 0.3 A Gaussian sampled on the grid
    /// (+-(int(4 sigma) + 1) pixels, normalized), divided by 0.3 A (an independent copy of the definition).
    static func lsfVariancePerUnit(step: Double) -> Double {
        let sigma = 0.3 / step, hw = Int(4 * sigma) + 1
        let k = (-hw...hw).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let norm = k.reduce(0, +)
        return zip(-hw...hw, k).reduce(0.0) { $0 + $1.1 / norm * pow(Double($1.0) * step, 2) } / 0.3
    }
}
