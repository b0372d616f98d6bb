import DESICore
import FITS
import Foundation
import LinearAlgebra
import XCTest

/// The flux calibration's production paths on the demo night (issue 14): the fallback on the camera's average
/// calibration through the drivers, and the seeing taken from the exposure.
extension NightPipelineTests {
    /// A copy of the demo's production where petal 0's standards are too noisy in r0 for desispec's criterion (median
    /// S/N per flux bin below 2: their inverse variance divided by 10^4), reduced again with `desispec run`: the drivers
    /// pass the camera's average calibration (calib/fluxcalib-r0.fits, written by the simulator as DESI_SPECTRO_CALIB
    /// holds it), so the petal gets the fallback calibration, flagged FCFALLBK and graded in the cframe, instead of
    /// failing; b0 and z0 keep their fitted calibrations. The standards' calibrated flux is within 1 % of the truth (each star within 3 %).
    func testNightWithTooNoisyStandardsGetsTheFlaggedFallbackCalibration() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let fm = FileManager.default
        for c in Self.cameras {
            let average = try AverageFluxCalibration.read(root.appendingPathComponent("calib/fluxcalib-\(c).fits").path)
            XCTAssertEqual(average.pivotSeeing, 1.1)
        }
        let demoProd = root.appendingPathComponent("redux/demo").path
        let prod = root.appendingPathComponent("redux/fallback-\(UUID().uuidString.prefix(8))").path
        try fm.copyItem(atPath: demoProd, toPath: prod)
        defer { try? fm.removeItem(atPath: prod) }
        let dir = "\(prod)/exposures/\(Self.night)/\(e8(5))"
        let framePath = "\(dir)/frame-r0-\(e8(5)).fits"
        // the demo's own calibrations were fitted, at the seeing the simulator recorded
        for c in Self.cameras {
            let cal = try FluxCalibration.read("\(dir)/fluxcalib-\(c)-\(e8(5)).fits")
            XCTAssertEqual(cal.header.bool("FCFALLBK"), false, c)
            XCTAssertEqual(cal.header.double("FCSEEING"), 1.1, c)
            XCTAssertEqual(cal.header.double("SEEING"), 1.1, "the simulator's SEEING reaches the frames (\(c))")
        }
        let stars = try StdStarModels.read("\(dir)/stdstars-0-\(e8(5)).fits")
        var frame = try Frame.read(framePath)
        let rows = frame.fibers.indices.filter { stars.fibers.contains(frame.fibers[$0]) }
        XCTAssertGreaterThanOrEqual(rows.count, 2)
        let nw = frame.nwave
        for s in rows { for j in 0..<nw { frame.ivar[s * nw + j] *= 1e-4 } }
        try fm.removeItem(atPath: framePath)
        try frame.write(to: framePath)
        for product in ["fluxcalib", "cframe"] { try fm.removeItem(atPath: "\(dir)/\(product)-r0-\(e8(5)).fits") }

        let raw = root.appendingPathComponent("raw").path
        let r = try run(["run", "night", Self.night, "--json", "--quiet", "-j", "2", "--raw-root", raw, "--prod-root", prod])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let redone = Set(summary["done"] as? [String] ?? [])
        XCTAssertTrue(redone.contains { $0.hasPrefix("fluxcalib") && $0.contains("r0") }, "\(redone)")

        let cal = try FluxCalibration.read("\(dir)/fluxcalib-r0-\(e8(5)).fits")
        XCTAssertEqual(cal.header.bool("FCFALLBK"), true)
        XCTAssertTrue(cal.header.string("FCFBWHY")?.contains("S/N") == true, cal.header.string("FCFBWHY") ?? "no FCFBWHY")
        for c in ["b0", "z0"] {
            XCTAssertEqual(try FluxCalibration.read("\(dir)/fluxcalib-\(c)-\(e8(5)).fits").header.bool("FCFALLBK"), false, c)
        }
        let cframe = try Frame.read("\(dir)/cframe-r0-\(e8(5)).fits", skipResolution: true)
        let quality = try XCTUnwrap(cframe.quality)
        XCTAssertTrue(quality.allSatisfy { $0.reasons.contains("FCFALLBK") }, "every fiber of the fallback camera is graded")

        // the standards' calibrated flux against their true flux: per star the median ratio over the camera's
        // wavelengths; the fallback has one vector for all fibers, so each star keeps its fiber's throughput and
        // acceptance offsets (a few %), and the median over the stars is the fallback's level
        let truth = try FITSFile.open(root.appendingPathComponent("raw/\(Self.night)/\(e8(5))/\(FileLayout.truthFileName(expid: 5))").path)
        defer { try? truth.close() }
        let tw = try truth.readImage("R0_WAVELENGTH", as: Double.self).data
        let tf = try truth.readImage("R0_FLUX", as: Double.self).data
        let ntw = tw.count
        var perStar: [Double] = []
        for s in rows {
            let t = Interpolation.linear(x: tw, y: Array(tf[(s * ntw)..<((s + 1) * ntw)]), at: cframe.wave, left: 0, right: 0)
            let ratios = (nw / 10..<(nw * 9 / 10)).filter { t[$0] > 0 && cframe.ivar[s * nw + $0] > 0 }
                .map { Double(cframe.flux[s * nw + $0]) / t[$0] }
            perStar.append(Statistics.median(ratios))
        }
        let level = Statistics.median(perStar)
        print("fallback r0: standards' calibrated / true flux per star \(perStar.map { String(format: "%.4f", $0) }), "
              + String(format: "median %.4f, scale FCFBSCAL %.4f", level, cal.header.double("FCFBSCAL") ?? .nan))
        XCTAssertEqual(level, 1, accuracy: 0.01)
        for v in perStar { XCTAssertEqual(v, 1, accuracy: 0.03) }
    }

    /// fluxcalib takes the seeing of the fiber-acceptance corrections from the frame's SEEING keyword (here 1.6"),
    /// and without one uses 1.1" and warns; an explicit --seeing-fwhm wins.
    func testFluxCalibTakesTheSeeingFromTheExposure() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let prod = root.appendingPathComponent("redux/demo").path
        let dir = "\(prod)/exposures/\(Self.night)/\(e8(5))"
        let work = root.appendingPathComponent("seeing-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let frame = try Frame.read("\(dir)/frame-r0-\(e8(5)).fits")
        func calibrate(seeing: Double?, explicit: String? = nil) throws -> (FluxCalibration, CLIResult) {
            var f = frame
            f.header.remove("SEEING")
            if let seeing { f.header.set("SEEING", seeing) }
            let name = "\(work)/frame-\(seeing.map { String($0) } ?? "none")-\(explicit ?? "").fits"
            try f.write(to: name)
            let out = name.replacingOccurrences(of: "/frame-", with: "/fluxcalib-")
            let flat = "\(prod)/calibnight/\(Self.night)/fiberflatnight-r0-\(Self.night).fits"
            let r = try run(["fluxcalib", "-i", name, "--fiberflat", flat,
                             "--sky", "\(dir)/sky-r0-\(e8(5)).fits", "--models", "\(dir)/stdstars-0-\(e8(5)).fits", "-o", out]
                            + (explicit.map { ["--seeing-fwhm", $0] } ?? []))
            XCTAssertEqual(r.status, 0, r.stderr)
            return (try FluxCalibration.read(out), r)
        }
        let (bad, badRun) = try calibrate(seeing: 1.6)
        XCTAssertEqual(bad.header.double("FCSEEING"), 1.6)
        XCTAssertFalse(badRun.stderr.contains("no seeing recorded"), badRun.stderr)
        let (none, noneRun) = try calibrate(seeing: nil)
        XCTAssertEqual(none.header.double("FCSEEING"), 1.1)
        XCTAssertTrue(noneRun.stderr.contains("no seeing recorded"), noneRun.stderr)
        let (forced, _) = try calibrate(seeing: 1.6, explicit: "0.9")
        XCTAssertEqual(forced.header.double("FCSEEING"), 0.9)
        // the corrections follow the seeing: FLAT_TO_PSF_FLUX is the model's at each one
        let fm = try XCTUnwrap(frame.fibermap)
        for (cal, seeing) in [(bad, 1.6), (none, 1.1), (forced, 0.9)] {
            let got = try XCTUnwrap(cal.fiberCorr?["FLAT_TO_PSF_FLUX"]?.data.doubles)
            let want = FiberFluxCorrection.flatToPSF(fm, seeingFWHM: seeing) { _ in }
            for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: 1e-9) }
        }
        let spread = { (c: FluxCalibration) -> Double in
            let v = (c.fiberCorr?["FLAT_TO_PSF_FLUX"]?.data.doubles ?? []).filter { $0 > 0 }
            return (v.max() ?? 0) - (v.min() ?? 0)
        }
        XCTAssertNotEqual(spread(bad), spread(none), "the seeing must change the correction")
    }
}
