import XCTest
import DESICore
import FITS
@testable import Extraction

final class FrameWriterTests: XCTestCase {
    func testFrameFileRoundTrip() throws {
        let grid = WaveGrid(wave0: 5000, dw: 0.8, count: 120)
        let scene = SimulatedScene(nspec: 4, bundleSize: 4, npixY: 230, grid: grid, seed: 11)
        let r = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<4, grid: grid,
                                   options: ExtractionOptions(bundleSize: 4, nSubBundles: 2, waveStep: 40))
        var h = FITSHeader(); h.set("CAMERA", "r1")
        let frame = r.frame(fibermap: nil, fiberOffset: 500, header: h)
        let path = NSTemporaryDirectory() + "frame-r1-extraction-test.fits"
        try ExtractionIO.writeFrame(frame, to: path)
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        XCTAssertEqual(f.hduNames(), ["FLUX", "IVAR", "MASK", "WAVELENGTH", "RESOLUTION", "FIBERMAP", "CHI2PIX"])
        let flux = try f.readImage("FLUX", as: Float.self)
        XCTAssertEqual(flux.shape, [4, 120])
        XCTAssertEqual(flux.data, r.flux.map { Float($0) })
        XCTAssertEqual(flux.header.string("BUNIT"), "electron/Angstrom")
        XCTAssertEqual(flux.header.double("WAVESTEP"), 0.8)
        XCTAssertEqual(flux.header.int("FIBERMIN"), 500)
        let res = try f.readImage("RESOLUTION", as: Float.self)
        XCTAssertEqual(res.shape, [4, 11, 120])
        XCTAssertEqual(res.data, r.resolution.data)
        let wave = try f.readImage("WAVELENGTH", as: Double.self)
        XCTAssertEqual(wave.data[119], 5000 + 119 * 0.8, accuracy: 1e-9)
        let fm = try f.readTable("FIBERMAP")
        XCTAssertEqual(fm["FIBER"]?.data.ints, [500, 501, 502, 503])
        let mask = try f.readImage("MASK", as: UInt32.self)
        XCTAssertEqual(mask.data, r.mask)
    }
}
