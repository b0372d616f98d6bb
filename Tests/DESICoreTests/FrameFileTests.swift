import DESICore
import FITS
import Foundation
import XCTest

final class FrameFileTests: XCTestCase {
    func tmp(_ name: String) -> String {
        if let dir = ProcessInfo.processInfo.environment["DESISPEC_TEST_OUT"] { return "\(dir)/\(name)" }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("framefile-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    func sampleFrame() -> Frame {
        let nspec = 3, nwave = 5, ndiag = 3
        var h = FITSHeader(); h.set("CAMERA", "r0"); h.set("EXPID", 12); h.set("NIGHT", "20250101")
        let fm = Fibermap(table: FITSTable(columns: [FITSColumn("FIBER", .int32([500, 501, 502])),
                                                     FITSColumn("OBJTYPE", .string(["SKY", "TGT", "TGT"]))]))
        return Frame(wave: (0..<nwave).map { 5760 + 0.8 * Double($0) },
                     flux: (0..<(nspec * nwave)).map { Float($0) * 1.5 }, ivar: [Float](repeating: 2, count: nspec * nwave),
                     mask: (0..<(nspec * nwave)).map { $0 == 7 ? SpecMask.cosmic | SpecMask.someBadPix : 0 },
                     resolution: ResolutionData(nspec: nspec, ndiag: ndiag, nwave: nwave,
                                                data: (0..<(nspec * ndiag * nwave)).map { Float($0) / 100 }),
                     fibermap: fm, chi2pix: [Float](repeating: 1.1, count: nspec * nwave), header: h)
    }

    func testFrameRoundTrip() throws {
        let path = tmp("frame-r0-00000012.fits")
        let frame = sampleFrame()
        try frame.write(to: path)
        let back = try Frame.read(path)
        XCTAssertEqual(back.wave, frame.wave)
        XCTAssertEqual(back.flux, frame.flux)
        XCTAssertEqual(back.ivar, frame.ivar)
        XCTAssertEqual(back.mask, frame.mask)
        XCTAssertEqual(back.resolution, frame.resolution)
        XCTAssertEqual(back.chi2pix ?? [], frame.chi2pix ?? [])
        XCTAssertEqual(back.fibers, [500, 501, 502])
        XCTAssertEqual(back.fibermap?.objtypes, ["SKY", "TGT", "TGT"])
        XCTAssertEqual(back.camera, Camera("r0"))
        XCTAssertEqual(back.header.string("BUNIT"), "electron/Angstrom")
        XCTAssertNil(try Frame.read(path, skipResolution: true).resolution)
    }

    /// cframe's pass-through: a frame read without its resolution and written with the stored RESOLUTION gives the
    /// file that writing the resolution's values gives; a RESOLUTION of another frame's shape is refused.
    func testStoredResolutionIsWrittenUnchanged() throws {
        let path = tmp("frame-r0-00000012.fits"), viaValues = tmp("values.fits"), viaBytes = tmp("bytes.fits")
        let frame = sampleFrame()
        try frame.write(to: path)
        try Frame.read(path).write(to: viaValues)
        let stored = try XCTUnwrap(try Frame.storedResolution(path))
        let light = try Frame.read(path, skipResolution: true)
        try light.checkStoredResolution(stored)
        try light.write(to: viaBytes, storedResolution: stored)
        let a = try Frame.read(viaValues), b = try Frame.read(viaBytes)
        XCTAssertEqual(b.resolution, frame.resolution)
        XCTAssertEqual(b.resolution, a.resolution)
        XCTAssertEqual(b.flux, a.flux)
        let f = try FITSFile.open(viaBytes), g = try FITSFile.open(viaValues)
        XCTAssertEqual(f.hduNames(), g.hduNames())
        try f.moveTo(name: "RESOLUTION"); try g.moveTo(name: "RESOLUTION")
        XCTAssertEqual(try f.readHeader().string("DATASUM"), try g.readHeader().string("DATASUM"))
        XCTAssertEqual(try f.checksumState().hdu, .correct)
        // a frame of other spectra: the stored resolution does not belong to it
        var other = light
        other.wave = Array(other.wave.prefix(4))
        other.flux = Array(other.flux.prefix(12)); other.ivar = Array(other.ivar.prefix(12)); other.mask = Array(other.mask.prefix(12))
        XCTAssertThrowsError(try other.checkStoredResolution(stored))
        // no RESOLUTION HDU: nothing stored
        var bare = frame; bare.resolution = nil
        let bareFile = tmp("bare.fits")
        try bare.write(to: bareFile)
        XCTAssertNil(try Frame.storedResolution(bareFile))
    }

    func testImageRoundTripKeepsMaskBits() throws {
        let path = tmp("preproc-r0-00000012.fits")
        var h = FITSHeader(); h.set("CAMERA", "r0")
        let img = Image(ny: 2, nx: 3, pix: [1, 2, 3, 4, 5, 6], ivar: [1, 1, 1, 0, 1, 1],
                        mask: [0, CCDMask.cosmic, 0, CCDMask.saturated | CCDMask.badReadnoise, 0, 0],
                        readnoise: [3, 3, 3, 3, 3, 3], header: h)
        try img.write(to: path)
        let back = try Image.read(path)
        XCTAssertEqual(back.pix, img.pix)
        XCTAssertEqual(back.mask, img.mask)
        XCTAssertEqual(back.readnoise, img.readnoise)
        XCTAssertEqual(back.camera, Camera("r0"))
    }

    /// The mask's 16 bits come back whole, bit 15 (a negative int16 in the file) included, with and without the read
    /// noise; an image read without it has none and cannot be written back as a preproc file.
    func testImageReadWithoutReadNoise() throws {
        let path = tmp("preproc-r0-00000013.fits")
        var h = FITSHeader(); h.set("CAMERA", "r0")
        let img = Image(ny: 2, nx: 3, pix: [1, 2, 3, 4, 5, 6], ivar: [1, 1, 1, 0, 1, 1],
                        mask: [0, 0x8000, 0xFFFF, CCDMask.saturated | 0x8000, 1, 0],
                        readnoise: [3, 3, 4, 4, 3, 3], header: h)
        try img.write(to: path)
        let full = try Image.read(path), lean = try Image.read(path, readNoise: false)
        for back in [full, lean] {
            XCTAssertEqual(back.pix, img.pix)
            XCTAssertEqual(back.ivar, img.ivar)
            XCTAssertEqual(back.mask, img.mask)
            XCTAssertEqual(back.header.string("CAMERA"), "r0")
        }
        XCTAssertEqual(full.readnoise, img.readnoise)
        XCTAssertEqual(lean.readnoise, [])
        XCTAssertThrowsError(try lean.write(to: tmp("rewritten.fits"))) { e in
            XCTAssertTrue("\(e)".contains("without its read noise"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp("rewritten.fits")))
    }

    func testNotAFrameIsAClearError() throws {
        let path = tmp("x.fits")
        try FITSFile.writeAtomically(path) { f in try f.writeImage([Float](repeating: 0, count: 4), shape: [2, 2], name: "FLUX") }
        XCTAssertThrowsError(try Frame.read(path)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("no IVAR HDU"), "\(e)")
        }
    }
}
