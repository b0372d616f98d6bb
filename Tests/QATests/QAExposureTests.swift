import DESICore
import FITS
import Foundation
import Plot
import XCTest

@testable import QA

final class QAExposureTests: XCTestCase {
    func cameraQA(_ cam: String, expid: Int, medResid: Double, zp: Double? = nil, warnings: [String] = []) -> QAValue {
        var items: [(String, QAValue)] = [("CAMERA", .string(cam)), ("EXPID", .int(expid)), ("NIGHT", .string("20230101")),
                                          ("FLAVOR", .string("science")),
                                          ("SKYSUB", .dict([("MED_RESID", .double(medResid)), ("NBAD_PCHI", .int(2))]))]
        if let zp { items.append(("FLUXCALIB", .dict([("ZP", .double(zp)), ("MAX_ZP_OFF", .list([.double(0.05), .int(65)]))]))) }
        items.append(("WARNINGS", .list(warnings.map { .string($0) })))
        return .dict(items)
    }

    func testJSONRoundTripKeepsOrderTypesAndNaN() throws {
        let v: QAValue = .dict([("B", .int(3)), ("A", .double(2.5)), ("C", .list([.double(1.0), .int(-7), .string("x \"q\"\n")])),
                                ("D", .dict([("E", .bool(true)), ("F", .double(.nan)), ("G", .list([]))])), ("H", .double(-1.25e-12))])
        let back = try QAValue.parseJSON(v.json())
        XCTAssertEqual(back, v)
        XCTAssertEqual(back.keys, ["B", "A", "C", "D", "H"])
        XCTAssertEqual(back.lookup("C.1")?.int, -7)
        XCTAssertEqual(back.lookup("D.E")?.bool, true)
        XCTAssertNil(back.lookup("D.Z"))
        XCTAssertThrowsError(try QAValue.parseJSON("{\"a\": [1, 2}", path: "bad.json")) { e in
            XCTAssertTrue("\(e)".hasPrefix("bad.json: invalid JSON"), "\(e)")
        }
    }

    func testExposureCombinesCamerasInOrderWithSummaryAndWarnings() throws {
        let e = try QAExposure(cameraQA: [("z0", cameraQA("z0", expid: 7, medResid: 0.3)),
                                          ("b0", cameraQA("b0", expid: 7, medResid: -0.1, zp: 26.5, warnings: ["FLUXCALIB: bad star"])),
                                          ("r1", cameraQA("r1", expid: 7, medResid: 0.2)),
                                          ("r0", cameraQA("r0", expid: 7, medResid: 0.0, zp: 27.0))])
        XCTAssertEqual(e.cameras.map(\.0), ["b0", "r0", "z0", "r1"])
        XCTAssertEqual(e.warnings, ["b0 FLUXCALIB: bad star"])
        let v = e.qaValue
        let rows = try XCTUnwrap(v["SUMMARY"]?.list)
        XCTAssertEqual(rows[0]["ZP"]?.double, 26.5)
        XCTAssertEqual(rows[2]["MED_RESID"]?.double, 0.3)
        XCTAssertNil(rows[2]["ZP"], "no FLUXCALIB for z0")
        XCTAssertEqual(rows[0]["NWARNINGS"]?.int, 1)
        // Round trip through the file format.
        let back = try QAExposure(try QAValue.parseJSON(v.json()), path: "qa.json")
        XCTAssertEqual(back.cameras.map(\.0), e.cameras.map(\.0))
        XCTAssertEqual(back.metric("r0", "FLUXCALIB.ZP"), 27.0)
        // The figure: 2 panels with points.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qaexp-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try e.figure(path: dir.appendingPathComponent("qa.png").path)
        let png = try PNGImage(path: dir.appendingPathComponent("qa.png").path)
        XCTAssertEqual(png.width, 1000)
        XCTAssertGreaterThan(png.pixels.filter { $0.b > 0.6 && $0.r < 0.3 }.count, 50, "blue points of b0")
    }

    func testExposureRefusesMixedExposuresAndRepeatedCameras() {
        XCTAssertThrowsError(try QAExposure(cameraQA: [("a.json", cameraQA("b0", expid: 7, medResid: 0)),
                                                       ("b.json", cameraQA("r0", expid: 8, medResid: 0))])) { e in
            XCTAssertTrue("\(e)".hasPrefix("b.json: EXPID 8 differs from 7"), "\(e)")
        }
        XCTAssertThrowsError(try QAExposure(cameraQA: [("a.json", cameraQA("b0", expid: 7, medResid: 0)),
                                                       ("b.json", cameraQA("b0", expid: 7, medResid: 0))]))
    }

    func testNightTimeSeriesAndHTML() throws {
        let e1 = try QAExposure(cameraQA: [("", cameraQA("b0", expid: 12, medResid: 0.1, zp: 26.0)),
                                           ("", cameraQA("r0", expid: 12, medResid: 0.2))])
        let e0 = try QAExposure(cameraQA: [("", cameraQA("b0", expid: 10, medResid: -0.1, zp: 26.2, warnings: ["DIAGNOSIS: excess <b>"]))])
        let night = QANight(night: "20230101", exposures: [e1, e0])
        XCTAssertEqual(night.exposures.map(\.expid), [10, 12])
        let s = night.series("SKYSUB.MED_RESID")
        XCTAssertEqual(s.map(\.camera), ["b0", "r0"])
        XCTAssertEqual(s[0].points.map(\.expid), [10, 12])
        XCTAssertEqual(s[0].points.map(\.value), [-0.1, 0.1])
        XCTAssertEqual(s[1].points.map(\.expid), [12])
        XCTAssertEqual(night.series("FLUXCALIB.MAX_ZP_OFF.1")[0].points.map(\.value), [65, 65])
        let v = night.qaValue(metrics: ["FLUXCALIB.ZP"])
        XCTAssertEqual(v.lookup("TIME_SERIES.FLUXCALIB.ZP")?.keys, nil, "dots in metric names are keys, not paths")
        XCTAssertEqual(v["TIME_SERIES"]?["FLUXCALIB.ZP"]?["b0"]?["VALUE"], .doubles([26.2, 26.0]))
        let html = HTMLIndex.nightPage(night, figures: ["qa-20230101-SKYSUB_MED_RESID.png"],
                                       exposurePages: [10: "exposures/20230101/00000010/qa-00000010.html"],
                                       exposureFigures: [:])
        XCTAssertTrue(html.contains("<img src=\"qa-20230101-SKYSUB_MED_RESID.png\""))
        XCTAssertTrue(html.contains("<li>10 b0 DIAGNOSIS: excess &lt;b&gt;</li>"), "warnings listed and escaped")
        XCTAssertTrue(html.contains("<td class=\"warn\">1</td>"), "the exposure's warning count is highlighted")
        XCTAssertTrue(html.contains("href=\"exposures/20230101/00000010/qa-00000010.html\""))
        let page = HTMLIndex.exposurePage(e0, figures: ["qa-sky-b0-00000010.png"])
        // NFEATURES column of b0 highlighted (DIAGNOSIS warning) although the value is absent.
        XCTAssertTrue(page.contains("<td class=\"warn\"></td>"), page)
    }

    func testSpectralFileReaderTellsKinds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qakind-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, hdu0: String, bunit: String? = nil) throws -> String {
            let path = dir.appendingPathComponent(name).path
            var h = FITSHeader(); h.set("CAMERA", "b3")
            if let bunit { h.set("BUNIT", bunit) }
            try FITSFile.writeAtomically(path) { f in
                try f.writeImage([Float](repeating: 1, count: 6), shape: [2, 3], name: hdu0, header: h)
                try f.writeImage([Float](repeating: 1, count: 6), shape: [2, 3], name: "IVAR")
                try f.writeImage([Double](arrayLiteral: 1, 2, 3), shape: [3], name: "WAVELENGTH")
            }
            return path
        }
        XCTAssertEqual(try SpectralFileReader.read(try write("sframe-b3-00000001.fits", hdu0: "FLUX")).kind, .sframe)
        XCTAssertEqual(try SpectralFileReader.read(try write("x.fits", hdu0: "FLUX", bunit: "10**-17 erg/(s cm2 Angstrom)")).kind, .cframe)
        XCTAssertEqual(try SpectralFileReader.read(try write("y.fits", hdu0: "FLUX")).kind, .frame)
        XCTAssertEqual(try SpectralFileReader.read(try write("z.fits", hdu0: "SKY")).kind, .sky)
        let r = try SpectralFileReader.read(try write("frame-b3-00000001.fits", hdu0: "FLUX"))
        XCTAssertEqual(r.frame?.camera?.name, "b3")
        XCTAssertEqual(r.frame?.mask, [UInt32](repeating: 0, count: 6), "no MASK HDU: all good")
        let pre = try write("preproc.fits", hdu0: "IMAGE")
        XCTAssertThrowsError(try SpectralFileReader.read(pre)) { e in XCTAssertTrue("\(e)".contains("CCD image"), "\(e)") }
    }
}
