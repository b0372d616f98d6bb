import DESICore
import FITS
import XCTest

@testable import Extraction

final class FrameOutputTests: XCTestCase {
    func testFrameFileRoundTrip() throws {
        let grid = WaveGrid(wave0: 5000, dw: 0.8, count: 120)
        let scene = SimulatedScene(nspec: 4, bundleSize: 4, npixY: 230, grid: grid, seed: 11)
        let r = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<4, grid: grid,
                                   options: ExtractionOptions(bundleSize: 4, nSubBundles: 2, waveStep: 40))
        var h = FITSHeader(); h.set("CAMERA", "r1"); h.set("OBSTYPE", "SCIENCE")
        let frame = r.frame(fibermap: nil, fiberOffset: 500, header: h)
        let path = NSTemporaryDirectory() + "frame-r1-extraction-test-\(UUID().uuidString).fits"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        try frame.write(to: path)

        // the layout desispec.io.read_frame expects
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        XCTAssertEqual(f.hduNames(), ["FLUX", "IVAR", "MASK", "WAVELENGTH", "RESOLUTION", "FIBERMAP", "CHI2PIX"])
        let flux = try f.readImage("FLUX", as: Float.self)
        XCTAssertEqual(flux.shape, [4, 120])
        XCTAssertEqual(flux.header.string("BUNIT"), "electron/Angstrom")
        XCTAssertEqual(flux.header.string("FLAVOR"), "science")
        XCTAssertEqual(flux.header.double("WAVESTEP"), 0.8)
        XCTAssertEqual(flux.header.int("FIBERMIN"), 500)
        XCTAssertEqual(flux.header.int("NSPEC"), 4)

        // and back through DESICore's reader: the same numbers
        let back = try Frame.read(path)
        XCTAssertEqual(back.flux, r.flux.map { Float($0) })
        XCTAssertEqual(back.ivar, r.ivar.map { Float($0) })
        XCTAssertEqual(back.mask, r.mask)
        XCTAssertEqual(back.resolution, r.resolution)
        XCTAssertEqual(back.resolution?.ndiag, 11)
        XCTAssertEqual(back.wave[119], 5000 + 119 * 0.8, accuracy: 1e-9)
        XCTAssertEqual(back.fibers, [500, 501, 502, 503])
        XCTAssertEqual(back.chi2pix, r.chi2pix.map { Float($0) })
    }
}
