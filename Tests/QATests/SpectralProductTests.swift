import DESICore
import FITS
import Foundation
import XCTest

@testable import QA

/// QA and the plots read sky, fiber-flat and flux-calibration files with the data-model readers, not as frames.
final class SpectralProductTests: XCTestCase {
    func testEachProductIsReadWithItsOwnReader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qaproducts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let wave = [5000.0, 5001, 5002], values = [1.0, 2, 3, 4, 5, 6], ivar = [Double](repeating: 4, count: 6)
        var header = FITSHeader(); header.set("CAMERA", "r1"); header.set("FIBERMIN", 500)

        let skyPath = dir.appendingPathComponent("sky-r1-00000001.fits").path
        try SkyModel(wave: wave, flux: values, ivar: ivar, mask: [UInt32](repeating: 0, count: 6), nrej: 3, header: header)
            .write(to: skyPath)
        let sky = try SpectralFileReader.read(skyPath)
        XCTAssertEqual(sky.kind, .sky)
        XCTAssertNil(sky.frame, "a sky file is not a frame")
        guard case .sky(let model) = sky.product else { return XCTFail("read as \(sky.product)") }
        XCTAssertEqual(model.nrej, 3)
        XCTAssertEqual(sky.product.perFiber.float32Row(1).values, [4, 5, 6])
        XCTAssertEqual(sky.product.perFiber.fibers, [500, 501])
        XCTAssertEqual(sky.product.perFiber.camera?.name, "r1")

        let flatPath = dir.appendingPathComponent("fiberflat-r1-00000001.fits").path
        try FiberFlat(wave: wave, flat: values, ivar: ivar, chi2pdf: 1.5, header: header).write(to: flatPath)
        let flat = try SpectralFileReader.read(flatPath)
        guard case .fiberflat(let ff) = flat.product else { return XCTFail("read as \(flat.product)") }
        XCTAssertEqual(ff.chi2pdf, 1.5)
        XCTAssertEqual(flat.product.perFiber.float32Row(0).ivar, [4, 4, 4])

        let calibPath = dir.appendingPathComponent("fluxcalib-r1-00000001.fits").path
        try FluxCalibration(wave: wave, calib: values.map { Float($0) }, ivar: ivar.map { Float($0) },
                            mask: [UInt32](repeating: 0, count: 6), header: header).write(calibPath)
        let calib = try SpectralFileReader.read(calibPath)
        guard case .fluxcalib(let fc) = calib.product else { return XCTFail("read as \(calib.product)") }
        XCTAssertEqual(fc.calib, [1, 2, 3, 4, 5, 6])

        XCTAssertThrowsError(try SpectralFileReader.readFrame(skyPath)) { e in
            XCTAssertTrue("\(e)".contains("a sky file, not a frame"), "\(e)")
        }
    }
}
