import DESICore
import FITS
import Foundation
import TestSupport
import XCTest

/// Preproc images, frames and fibermaps in DESI's layout. With DESISPEC_TEST_OUT set, the files are written there
/// under DESI names (kept) so that scripts/check_interop.sh can open them with desispec's readers.
final class DataModelIOTests: XCTestCase {
    func outPath(_ name: String) -> String {
        if let dir = ProcessInfo.processInfo.environment["DESISPEC_TEST_OUT"], !dir.isEmpty {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return (dir as NSString).appendingPathComponent(name)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("datamodel-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    func testMakeFibermapHasDesispecColumnsAndValues() throws {
        let fm = Fibermap.make(nspec: 5, firstFiber: 1498, tileRA: 150, tileDec: 2)
        XCTAssertEqual(fm.count, 5)
        XCTAssertEqual(fm.table.columnNames.count, 71)
        XCTAssertEqual(fm.table.columnNames.prefix(6), ["TARGETID", "PETAL_LOC", "DEVICE_LOC", "LOCATION", "FIBER", "FIBERSTATUS"])
        XCTAssertEqual(fm.fibers, [1498, 1499, 1500, 1501, 1502])
        XCTAssertEqual(fm.table["PETAL_LOC"]?.data, .int16([2, 2, 3, 3, 3]))
        XCTAssertEqual(fm.table["LOCATION"]?.data, .int64([2498, 2499, 3000, 3001, 3002]))
        XCTAssertEqual(fm.table["FIBERSTATUS"]?.data, .int32([0, 0, 0, 0, 0]))
        XCTAssertEqual(fm.table["FA_TYPE"]?.data, .uint8([0, 0, 0, 0, 0]))
        XCTAssertEqual(fm.table["LAMBDA_REF"]?.data, .float([5400, 5400, 5400, 5400, 5400]))
        XCTAssertEqual(fm.table["NUM_ITER"]?.data, .int64([2, 2, 2, 2, 2]))
        XCTAssertEqual(fm.table["PHOTSYS"]?.data, .string(["S", "S", "S", "S", "S"]))
        XCTAssertEqual(fm.table["DESINAME"]?.stringWidth, 22)
        XCTAssertEqual(fm.table["FLUX_G"]?.unit, "nanomaggy")
        XCTAssertEqual(fm.table["FLUX_IVAR_R"]?.unit, "nanomaggy^-2")
        XCTAssertEqual(fm.table.header.string("SURVEY"), "main")
        XCTAssertEqual(fm.objtypes, ["TGT", "TGT", "TGT", "TGT", "TGT"])
        // Positions inside the focal plane, in the petal's wedge, distinct; RA/Dec follow them.
        for (i, f) in fm.fibers.enumerated() {
            let x = fm.fiberX[i], y = fm.fiberY[i]
            let r = (x * x + y * y).squareRoot()
            XCTAssertTrue(r > 0 && r < 411, "fiber \(f) at r = \(r)")
            var angle = atan2(y, x) * 180 / .pi; if angle < 0 { angle += 360 }
            XCTAssertTrue(angle >= 36 * Double(f / 500) && angle < 36 * Double(f / 500 + 1), "fiber \(f) angle \(angle)")
        }
        XCTAssertEqual(Set(zip(fm.fiberX, fm.fiberY).map { "\($0),\($1)" }).count, 5)
        let dec = fm.table["TARGET_DEC"]!.data.doubles!
        XCTAssertEqual(dec[0], 2 + fm.fiberY[0] / 252, accuracy: 1e-12)
        var sky = fm
        try sky.setObjtype("SKY", rows: [1, 3])
        XCTAssertEqual(sky.rows(objtype: "SKY"), [1, 3])
        XCTAssertThrowsError(try sky.setColumn("EBV", .float([1, 2])))
    }

    func testStandaloneFibermapRoundTrip() throws {
        let path = outPath("fibermap-00000014.fits")
        var fm = Fibermap.make(nspec: 4, firstFiber: 500)
        try fm.setColumn("FLUX_R", .float([1.5, 2.5, 100, 0.25]))
        var h = FITSHeader(); h.set("EXPID", 12); h.set("NIGHT", 20250101); h.addProvenance(command: "test", inputs: ["x.fits"])
        try fm.write(to: path, header: h)
        let back = try Fibermap.read(path)
        XCTAssertEqual(back.table.columnNames, fm.table.columnNames)
        for col in fm.table.columns { XCTAssertEqual(back.table[col.name]?.data, col.data, col.name) }
        XCTAssertEqual(back.table.header.int("EXPID"), 12)
        XCTAssertEqual(back.table.header.dependencyVersion("desispec-swift"), DESIProvenance.version)
        XCTAssertEqual(back.table.header.historyLines.last, "desispec-swift \(DESIProvenance.version) test x.fits")
    }

    func testPreprocImageRoundTripAndLayout() throws {
        let path = outPath("preproc-b0-00000014.fits")
        let ny = 4, nx = 6
        var h = FITSHeader(); h.set("CAMERA", "b0"); h.set("EXPID", 12); h.set("NIGHT", 20250101); h.set("FLAVOR", "science")
        h.addProvenance(command: "preproc", inputs: ["desi-00000012.fits.fz"])
        let img = Image(ny: ny, nx: nx, pix: (0..<(ny * nx)).map { Float($0) * 1.25 - 3 }, ivar: (0..<(ny * nx)).map { 1 / Float($0 + 1) },
                        mask: (0..<(ny * nx)).map { $0 == 5 ? CCDMask.cosmic | CCDMask.badAmp : ($0 == 7 ? 0x8001 : 0) },
                        readnoise: [Float](repeating: 3.25, count: ny * nx), header: h)
        try img.write(to: path, fibermap: Fibermap.make(nspec: 3))
        let back = try Image.read(path)
        XCTAssertEqual(back.ny, ny); XCTAssertEqual(back.nx, nx)
        XCTAssertEqual(back.pix, img.pix)
        XCTAssertEqual(back.ivar, img.ivar)
        XCTAssertEqual(back.mask, img.mask)
        XCTAssertEqual(back.readnoise, img.readnoise)
        XCTAssertEqual(back.header.string("CAMERA"), "b0")
        XCTAssertEqual(back.header.dependencyVersion("desispec-swift"), DESIProvenance.version)
        // Layout as desispec.io.write_image: IMAGE float32, IVAR float32, MASK int16 tile-compressed, READNOISE, FIBERMAP.
        let f = try FITSFile.open(path)
        XCTAssertEqual(f.hduNames(), ["IMAGE", "IVAR", "MASK", "READNOISE", "FIBERMAP"])
        try f.moveTo(name: "IMAGE"); XCTAssertEqual(try f.imageShape().bitpix, -32)
        try f.moveTo(name: "MASK"); XCTAssertTrue(f.isCompressedImage); XCTAssertEqual(try f.imageShape().bitpix, 16)
        // No CAMERA: desispec could not read the file, so we refuse to write it.
        var noCam = img; noCam.header.remove("CAMERA")
        XCTAssertThrowsError(try noCam.write(to: outPath("nocam.fits"))) { e in XCTAssertTrue("\(e)".contains("CAMERA"), "\(e)") }
    }

    func testFrameRoundTripWithMadeFibermapAndGaussianResolution() throws {
        let path = outPath("frame-r0-00000014.fits")
        let nspec = 3, nwave = 40
        var h = FITSHeader(); h.set("CAMERA", "r0"); h.set("EXPID", 12); h.set("NIGHT", 20250101); h.set("OBSTYPE", "SCIENCE")
        let res = ResolutionData.gaussian(sigmas: [Double](repeating: 1.1, count: nspec * nwave), nspec: nspec, ndiag: 11)
        let frame = Frame(wave: (0..<nwave).map { 5760 + 0.8 * Double($0) },
                          flux: (0..<(nspec * nwave)).map { Float($0) * 0.5 - 7 }, ivar: (0..<(nspec * nwave)).map { 1 + Float($0 % 5) },
                          mask: (0..<(nspec * nwave)).map { $0 == 3 ? SpecMask.badFiber | (1 << 31) : 0 },
                          resolution: res, fibermap: Fibermap.make(nspec: nspec),
                          chi2pix: [Float](repeating: 0.9, count: nspec * nwave), header: h)
        try frame.write(to: path)
        let back = try Frame.read(path)
        XCTAssertEqual(back.flux, frame.flux)
        XCTAssertEqual(back.ivar, frame.ivar)
        XCTAssertEqual(back.mask, frame.mask, "all 32 mask bits survive")
        XCTAssertEqual(back.wave, frame.wave)
        XCTAssertEqual(back.resolution, res)
        XCTAssertEqual(back.fibers, [0, 1, 2])
        XCTAssertEqual(back.header.string("FLAVOR"), "science")
        XCTAssertEqual(back.header.int("FIBERMIN"), 0)
        XCTAssertEqual(back.header.string("BUNIT"), "electron/Angstrom")
        let f = try FITSFile.open(path)
        XCTAssertEqual(f.hduNames(), ["FLUX", "IVAR", "MASK", "WAVELENGTH", "RESOLUTION", "FIBERMAP", "CHI2PIX"])
        try f.moveTo(name: "MASK")
        XCTAssertFalse(f.isCompressedImage)
        XCTAssertEqual(try f.imageShape().bitpix, 32)
        XCTAssertEqual(try f.readHeader().double("BZERO") ?? 2147483648, 2147483648, "uint32 as desispec writes it")
        try f.moveTo(name: "RESOLUTION")
        XCTAssertEqual(try f.imageShape().shape, [nspec, 11, nwave])
        // CHECKSUM/DATASUM in every HDU, as desispec writes them.
        for i in 0..<f.hduCount {
            try f.moveTo(index: i)
            XCTAssertEqual(try f.checksumState().hdu, .correct, "HDU \(i)")
        }
    }

    func testFrameWithoutFibermapGetsFIBERMIN() throws {
        let path = outPath("frame-z3-00000013.fits")
        var h = FITSHeader(); h.set("CAMERA", "z3"); h.set("FLAVOR", "flat")
        let frame = Frame(wave: [1, 2], flux: [1, 2, 3, 4], ivar: [1, 1, 1, 1], mask: [0, 0, 0, 0], header: h)
        try frame.write(to: path)
        let back = try Frame.read(path)
        XCTAssertEqual(back.header.int("FIBERMIN"), 1500)
        XCTAssertEqual(back.fibers, [1500, 1501])
        XCTAssertEqual(back.header.string("FLAVOR"), "flat")
    }

    /// Files written by desispec's own write_frame / write_image (embedded in DesispecWrittenFiles.swift, gzipped as
    /// desispec 0.70 writes them by default) read back with the values the generating script put in.
    func testReadsFilesWrittenByDesispec() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-written-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        func unpack(_ base64: String, _ name: String) throws -> String {
            let url = dir.appendingPathComponent(name)
            try XCTUnwrap(Data(base64Encoded: base64)).write(to: url)
            return url.path
        }
        let nspec = 3, nwave = 24
        let frame = try Frame.read(try unpack(DesispecWrittenFiles.frameR1GzBase64, "frame-r1-00000099.fits.gz"))
        XCTAssertEqual(frame.nspec, nspec); XCTAssertEqual(frame.nwave, nwave)
        for i in 0..<nspec {
            for j in 0..<nwave { XCTAssertEqual(frame.flux[i * nwave + j], Float(Double(i) + 0.01 * Double(j)), accuracy: 1e-6) }
        }
        XCTAssertTrue(frame.ivar.allSatisfy { $0 == 2 })
        XCTAssertEqual(frame.mask[1 * nwave + 7], (1 << 31) + 4)
        XCTAssertEqual(frame.mask.filter { $0 != 0 }.count, 1)
        XCTAssertEqual(frame.wave[23], 5800 + 0.8 * 23, accuracy: 1e-9)
        XCTAssertEqual(frame.camera, Camera("r1"))
        XCTAssertEqual(frame.header.string("FLAVOR"), "science")
        XCTAssertEqual(frame.header.int("FIBERMIN"), 500)
        XCTAssertEqual(frame.fibers, [500, 501, 502])
        XCTAssertEqual(frame.fibermap?.objtypes, ["TGT", "SKY", "TGT"])
        XCTAssertEqual(frame.fibermap?.targetIDs, [1000, 1001, 1002])
        let r = try XCTUnwrap(frame.resolution)
        XCTAssertEqual(r.ndiag, 21)
        let ours = ResolutionData.gaussian(sigmas: [Double](repeating: 1.3, count: nspec * nwave), nspec: nspec)
        for (a, b) in zip(r.data, ours.data) { XCTAssertEqual(a, b, accuracy: 1e-7) }

        // Asked for the plain name, the reader finds the .gz twin (desispec.io.util.checkgzip).
        _ = try unpack(DesispecWrittenFiles.preprocB1GzBase64, "preproc-b1-00000099.fits.gz")
        let img = try Image.read(dir.appendingPathComponent("preproc-b1-00000099.fits").path)
        XCTAssertEqual(img.ny, 5); XCTAssertEqual(img.nx, 7)
        XCTAssertEqual(img.pix[3 * 7 + 4], 34)
        XCTAssertEqual(img.pix[1], -2)
        XCTAssertEqual(img.mask[3 * 7 + 4], 16)
        XCTAssertEqual(img.mask[0], 0x8002)
        XCTAssertEqual(img.mask.filter { $0 != 0 }.count, 2)
        XCTAssertTrue(img.readnoise.allSatisfy { $0 == 2.5 })
        XCTAssertTrue(img.ivar.allSatisfy { $0 == 1 })
        XCTAssertEqual(img.camera, Camera("b1"))
        XCTAssertEqual(img.header.int("EXPID"), 99)
        XCTAssertThrowsError(try Frame.read(dir.appendingPathComponent("frame-b0-00000001.fits").path)) { e in
            XCTAssertTrue("\(e)".contains("frame-b0-00000001.fits") && "\(e)".contains("no such file"), "\(e)")
        }
    }
}
