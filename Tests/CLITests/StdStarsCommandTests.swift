import DESICore
import FITS
import Foundation
import StdStars
import TestSupport
import XCTest

/// `desispec stdstars` on bad input: no templates, an unknown PHOTSYS; one-line errors, no output file.
final class StdStarsCommandTests: XCTestCase {
    func writeFrames(_ dir: URL, photsys: [String]? = nil) throws -> [String] {
        let sim = try SimulatedExposure.make(templates: StellarTemplates.synthetic(), filters: FilterSet.shipped(),
                                             stars: [.init(template: 10, redshift: 0, rmag: 17, ebv: 0.1, photsys: "N"),
                                                     .init(template: 20, redshift: 0, rmag: 17, ebv: 0.05, photsys: "S")],
                                             nscience: 1, noise: false, arms: [.b, .r])
        return try sim.frames.map { f in
            var f = f
            if let p = photsys { f.fibermap!.table["PHOTSYS"] = FITSColumn("PHOTSYS", .string(p)) }
            f.header.set("FLAVOR", "science")
            let path = dir.appendingPathComponent("sframe-\(f.camera!.name)-00001234.fits").path
            try f.write(to: path)
            return path
        }
    }

    func testMissingTemplatesIsAnError() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let frames = try writeFrames(dir)
        let out = dir.appendingPathComponent("stdstars-0-00001234.fits").path
        let r = try CLIRunner.run(["stdstars", "--frames"] + frames + ["-o", out],
                                  environment: ["STD_TEMPLATES": "", "DESI_BASIS_TEMPLATES": ""])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no stellar templates") && r.stderr.contains("--builtin-templates"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testUnknownPhotsysIsAnError() throws {
        let dir = try CLIRunner.temporaryDirectory(self)
        let frames = try writeFrames(dir, photsys: ["N", "Q", "S"])
        let out = dir.appendingPathComponent("stdstars-0-00001234.fits").path
        let r = try CLIRunner.run(["stdstars", "--builtin-templates", "--frames"] + frames + ["-o", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("unknown PHOTSYS 'Q' of fiber 1"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("error") || $0.contains("PHOTSYS") }.count, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
