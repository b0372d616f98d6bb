import Coadd
import DESICore
import FITS
import XCTest

/// QUALITY_GRADE / QUALITY_REASONS through spectra (worst over an exposure's cameras) and coadds (worst usable grade,
/// counts per grade in QUALITY_NGRADE, each exposure's grade in EXP_FIBERMAP).
final class QualityGradeCoaddTests: XCTestCase {
    func frame(cam: String, expid: Int, wave: [Double], grades: [FiberQuality]) -> FrameInput {
        let fibers = grades.count, n = fibers * wave.count
        var h = FITSHeader(); h.set("CAMERA", cam); h.set("NIGHT", 20201214); h.set("EXPID", expid)
        h.set("TILEID", 1000); h.set("EXPTIME", 900.0)
        let fm = FITSTable(columns: [FITSColumn("TARGETID", .int64((0..<fibers).map { 100 + Int64($0) })),
                                     FITSColumn("FIBER", .int32((0..<fibers).map(Int32.init)))])
        var f = Frame(wave: wave, flux: [Float](repeating: 1, count: n), ivar: [Float](repeating: 1, count: n),
                      mask: [UInt32](repeating: 0, count: n), resolution: Sim.resolution(nspec: fibers, nwave: wave.count, sigma: 1),
                      fibermap: Fibermap(table: fm), header: h)
        f.addQuality(grades)
        return FrameInput(frame: f, path: "cframe-\(cam)-\(expid).fits")
    }

    func testSpectraTakeTheWorstCameraAndCoaddsTheWorstUsableExposure() throws {
        let wb = Sim.grid(3600, 0.8, 20), wr = Sim.grid(5800, 0.8, 20)
        let good = FiberQuality(), masked = FiberQuality(reasons: [.masked]), fallback = FiberQuality(reasons: [.fallbackCalibration])
        let dead = FiberQuality(reasons: [.noLight]), negative = FiberQuality(reasons: [.negativeFlux])
        // target 100: good; 101: MASKED in r of exposure 1, FCFALLBK in exposure 2; 102: dead in exposure 1 only;
        // 103: unusable in both exposures (NOLIGHT, then NEGFLUX)
        let frames = [
            frame(cam: "b0", expid: 1, wave: wb, grades: [good, good, dead, dead]),
            frame(cam: "r0", expid: 1, wave: wr, grades: [good, masked, good, good]),
            frame(cam: "b0", expid: 2, wave: wb, grades: [good, fallback, good, negative]),
            frame(cam: "r0", expid: 2, wave: wr, grades: [good, fallback, good, good]),
        ]
        let s = try SpectraGrouping.group(frames)
        guard case .int16(let g)? = s.fibermap["QUALITY_GRADE"]?.data else { return XCTFail("no int16 QUALITY_GRADE") }
        XCTAssertEqual(g, [0, 2, 3, 3, 0, 1, 0, 4])
        guard case .string(let r)? = s.fibermap["QUALITY_REASONS"]?.data else { return XCTFail("no QUALITY_REASONS") }
        XCTAssertEqual(r, ["", "MASKED", "NOLIGHT", "NOLIGHT", "", "FCFALLBK", "", "NEGFLUX"])

        let (fm, exp) = try CoaddFibermap.coadd(s.fibermap)
        XCTAssertEqual(fm["QUALITY_GRADE"]?.data.ints, [0, 2, 0, 3])
        guard case .string(let cr)? = fm["QUALITY_REASONS"]?.data else { return XCTFail("no coadd QUALITY_REASONS") }
        XCTAssertEqual(cr, ["", "FCFALLBK,MASKED", "", "NOLIGHT"])
        let ngrade = try XCTUnwrap(fm["QUALITY_NGRADE"])
        XCTAssertEqual(ngrade.cellShape, [6])
        XCTAssertEqual(ngrade.data.ints, [2, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0])
        XCTAssertEqual(exp["QUALITY_GRADE"]?.data.ints, g.map(Int.init))
    }
}
