import DESICore
import FITS
import Foundation
import StdStars
import TestSupport
import XCTest

/// Writes the reddened-standards case to disk for scripts/compare_fluxcalib.py --stars-case (desispec on the same
/// input): only when DESISPEC_STARS_CASE_DIR is set. Ten standards drawn from the real templates (F stars,
/// $DESISPEC_TESTDATA/templates) or from the synthetic grid, EBV 0.02-0.20, PHOTSYS N for five and S for five,
/// exposures 101 and 102 (the second 30% less transparent), frames of b0 r0 z0 (sky-subtracted, flat-fielded),
/// the templates, and truth-calib.fits (true calibration of each camera and exposure, times the standards'
/// harmonic-mean throughput, as the fit normalises it).
final class ReddenedCaseWriter: XCTestCase {
    func testWriteReddenedStandardsCase() throws {
        guard let dir = ProcessInfo.processInfo.environment["DESISPEC_STARS_CASE_DIR"] else {
            throw XCTSkip("set DESISPEC_STARS_CASE_DIR to write the reddened-standards case for scripts/compare_fluxcalib.py")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"] ?? "../shared/data"
        let real = "\(data)/templates/star_templates_v2.0-lite.fits"
        let templates: StellarTemplates
        var picks: [Int]
        if FileManager.default.fileExists(atPath: real) {
            templates = try StellarTemplates.read(real)
            picks = (0..<templates.count).filter { templates.teff[$0] >= 5800 && templates.teff[$0] <= 7000 }
        } else {
            templates = StellarTemplates.synthetic()
            picks = (0..<templates.count).filter { templates.teff[$0] >= 5500 && templates.teff[$0] <= 6500 }
        }
        picks = Array(stride(from: 0, to: picks.count, by: max(1, picks.count / 10)).map { picks[$0] }.prefix(10))
        XCTAssertEqual(picks.count, 10)
        let stars = picks.enumerated().map { (i, t) in
            SimulatedExposure.Star(template: t, redshift: 1e-4 * Double(i % 5 - 2), rmag: 16.7 + 0.08 * Double(i),
                                   ebv: 0.02 + 0.02 * Double(i), photsys: i < 5 ? "N" : "S")
        }
        try templates.write("\(dir)/templates.fits")
        var truthHDUs: [(String, [Double])] = []
        for (expid, scale, seed) in [(101, 1.0, UInt64(31)), (102, 0.7, UInt64(32))] {
            let sim = try SimulatedExposure.make(templates: templates, filters: FilterSet.shipped(), stars: stars, nscience: 2,
                                                 seed: seed, scienceLevel: 30, expid: expid, calibrationScale: scale)
            let level = 1 / (sim.stdRows.map { 1 / sim.throughput[$0] }.reduce(0, +) / Double(sim.stdRows.count))
            for (c, var frame) in sim.frames.enumerated() {
                var fm = frame.fibermap!
                let n = fm.count
                // the columns desispec's standard-star code reads
                fm.table["MWS_TARGET"] = FITSColumn("MWS_TARGET", .int64([Int64](repeating: 0, count: n)))
                fm.table["BGS_TARGET"] = FITSColumn("BGS_TARGET", .int64([Int64](repeating: 0, count: n)))
                for b in ["G", "BP", "RP"] {
                    fm.table["GAIA_PHOT_\(b)_MEAN_MAG"] = FITSColumn("GAIA_PHOT_\(b)_MEAN_MAG", .float([Float](repeating: 0, count: n)))
                }
                fm.table["TARGET_RA"] = FITSColumn("TARGET_RA", .double([Double](repeating: 150, count: n)))
                fm.table["TARGET_DEC"] = FITSColumn("TARGET_DEC", .double([Double](repeating: 30, count: n)))
                frame.fibermap = fm
                frame.header.set("FLAVOR", "science")
                frame.header.set("EXPTIME", 900.0)
                let cam = frame.camera!.name
                try frame.write(to: String(format: "%@/sframe-%@-%08d.fits", dir, cam, expid))
                truthHDUs.append((String(format: "%@-%d", cam.uppercased(), expid), sim.calibration[c].map { $0 * level }))
                if expid == 101 && c == 0 {
                    let teff = stars.map { templates.teff[$0.template] }
                    try FITSFile.writeAtomically("\(dir)/truth-stars.fits") { f in
                        try f.writeTable(FITSTable(columns: [
                            FITSColumn("FIBER", .int32((0..<stars.count).map { Int32($0) })),
                            FITSColumn("TEFF", .double(teff)),
                            FITSColumn("EBV", .double(stars.map(\.ebv))),
                            FITSColumn("PHOTSYS", .string(stars.map(\.photsys))),
                        ]), name: "STARS")
                    }
                }
            }
        }
        try FITSFile.writeAtomically("\(dir)/truth-calib.fits") { f in
            for (name, v) in truthHDUs { try f.writeImage(v, shape: [v.count], name: name) }
        }
        print("wrote the reddened-standards case to \(dir)")
    }
}
