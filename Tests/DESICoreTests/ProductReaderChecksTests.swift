import DESICore
import FITS
import Foundation
import XCTest

/// The readers of fiber flats, sky models, flux calibrations and standard-star models check the shapes of their
/// HDUs against each other (issue 17): each test writes a small valid product with its writer, breaks one HDU of a
/// copy, and asserts that reading the copy fails with an error naming the file and the HDU at fault.
final class ProductReaderChecksTests: XCTestCase {
    private let nspec = 3, nwave = 8
    private var wave: [Double] { (0..<nwave).map { 5000 + 2 * Double($0) } }
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("readerchecks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
        super.tearDown()
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func fibermap(_ n: Int) -> FITSTable {
        FITSTable(columns: [FITSColumn("FIBER", .int32((0..<n).map { Int32($0) })),
                            FITSColumn("TARGETID", .int64((0..<n).map { 1000 + Int64($0) })),
                            FITSColumn("OBJTYPE", .string([String](repeating: "TGT", count: n)))])
    }

    /// A copy of `valid` with `edits` applied, read by `read`: must throw `DESIError.badFile` for the copy whose
    /// message names `hdu` (and `mentions`, when given).
    private func assertRejects<T>(_ valid: String, _ edits: [String: BrokenCopy.Edit], hdu: String, mentions: String? = nil,
                                  _ read: (String) throws -> T, line: UInt = #line) throws {
        let broken = path("broken-\(UUID().uuidString).fits")
        try BrokenCopy.write(valid, to: broken, edits: edits)
        XCTAssertThrowsError(try read(broken), line: line) { error in
            guard case DESIError.badFile(let p, let problem) = error else {
                return XCTFail("expected a bad-file error, got \(error)", line: line)
            }
            XCTAssertEqual(p, broken, line: line)
            XCTAssertTrue(problem.contains(hdu), "the error names \(hdu): \(problem)", line: line)
            if let mentions { XCTAssertTrue(problem.contains(mentions), "\(problem) mentions \(mentions)", line: line) }
            XCTAssertFalse(problem.contains("\n"), "one line: \(problem)", line: line)
        }
    }

    private func ones(_ n: Int) -> [Double] { [Double](repeating: 1, count: n) }

    // MARK: fiber flat

    private func validFiberFlat() throws -> String {
        let p = path("fiberflat-r0-00000001.fits")
        let flat = try FiberFlat(wave: wave, flat: ones(nspec * nwave), ivar: ones(nspec * nwave),
                                 fibermap: Fibermap(table: fibermap(nspec)))
        try flat.write(to: p)
        try BrokenCopy.write(p, to: path("copy.fits"), edits: [:])
        XCTAssertEqual(try FiberFlat.read(path("copy.fits")).nspec, nspec, "an unedited copy reads")
        return p
    }

    func testFiberFlatReaderNamesTheHDUThatDisagrees() throws {
        let p = try validFiberFlat()
        try assertRejects(p, ["IVAR": .image(ones(nspec * (nwave - 1)), shape: [nspec, nwave - 1])], hdu: "IVAR", FiberFlat.read)
        try assertRejects(p, ["MASK": .image(ones(nspec * nwave), shape: [nwave, nspec])], hdu: "MASK", FiberFlat.read)
        try assertRejects(p, ["MEANSPEC": .image(ones(nwave + 1), shape: [nwave + 1])], hdu: "MEANSPEC", FiberFlat.read)
        try assertRejects(p, ["WAVELENGTH": .image(ones(nwave - 2), shape: [nwave - 2])], hdu: "WAVELENGTH", FiberFlat.read)
        try assertRejects(p, ["FIBERMAP": .table(fibermap(nspec + 2))], hdu: "FIBERMAP", mentions: "rows", FiberFlat.read)
        let textFibers = FITSTable(columns: [FITSColumn("FIBER", .string(["a", "b", "c"]))])
        try assertRejects(p, ["FIBERMAP": .table(textFibers)], hdu: "FIBERMAP", mentions: "FIBER", FiberFlat.read)
        try assertRejects(p, ["MEANSPEC": .drop], hdu: "MEANSPEC", FiberFlat.read)
        try assertRejects(p, ["MEANSPEC": .rename("IVAR")], hdu: "IVAR", mentions: "both named", FiberFlat.read)
    }

    func testFiberFlatReaderWantsFiniteIncreasingWavelengths() throws {
        let p = try validFiberFlat()
        var nan = wave; nan[3] = .nan
        try assertRejects(p, ["WAVELENGTH": .image(nan, shape: [nwave])], hdu: "WAVELENGTH", mentions: "finite", FiberFlat.read)
        try assertRejects(p, ["WAVELENGTH": .image(wave.reversed(), shape: [nwave])], hdu: "WAVELENGTH", mentions: "increasing",
                          FiberFlat.read)
    }

    // MARK: sky

    private func validSky() throws -> String {
        let p = path("sky-r0-00000001.fits")
        let n = nspec * nwave
        let sky = try SkyModel(wave: wave, flux: ones(n), ivar: ones(n), mask: [UInt32](repeating: 0, count: n), statIvar: ones(n),
                               throughputCorrections: ones(nspec), throughputCorrectionsModel: ones(nspec), skyTargetIDs: [1000, 1002])
        try sky.write(to: p)
        try BrokenCopy.write(p, to: path("copy.fits"), edits: [:])
        XCTAssertEqual(try SkyModel.read(path("copy.fits")).skyTargetIDs, [1000, 1002], "an unedited copy reads")
        return p
    }

    func testSkyReaderNamesTheHDUThatDisagrees() throws {
        let p = try validSky()
        try assertRejects(p, ["IVAR": .image(ones(nwave), shape: [1, nwave])], hdu: "IVAR", SkyModel.read)
        try assertRejects(p, ["MASK": .image(ones(nspec * nwave), shape: [nspec * nwave])], hdu: "MASK", SkyModel.read)
        try assertRejects(p, ["WAVELENGTH": .image(ones(nwave + 3), shape: [nwave + 3])], hdu: "WAVELENGTH", SkyModel.read)
        try assertRejects(p, ["WAVELENGTH": .image(ones(nwave), shape: [nwave])], hdu: "WAVELENGTH", mentions: "increasing",
                          SkyModel.read)
        try assertRejects(p, ["STATIVAR": .image(ones(nspec * 2), shape: [nspec, 2])], hdu: "STATIVAR", SkyModel.read)
        try assertRejects(p, ["THRPUTCORR": .image(ones(nspec + 1), shape: [nspec + 1])], hdu: "THRPUTCORR", SkyModel.read)
        try assertRejects(p, ["THRPUTCORR_MOD": .image(ones(nspec - 1), shape: [nspec - 1])], hdu: "THRPUTCORR_MOD", SkyModel.read)
        try assertRejects(p, ["SKYTARGETID": .image(ones(nspec + 4), shape: [nspec + 4])], hdu: "SKYTARGETID", SkyModel.read)
        try assertRejects(p, ["THRPUTCORR": .rename("STATIVAR")], hdu: "STATIVAR", mentions: "both named", SkyModel.read)
    }

    // MARK: flux calibration

    private func validFluxCalibration() throws -> String {
        let p = path("fluxcalib-r0-00000001.fits")
        let n = nspec * nwave
        let corr = FITSTable(columns: [FITSColumn("FLAT_TO_PSF_FLUX", .double(ones(nspec))),
                                       FITSColumn("PSF_TO_FIBER_FLUX", .double(ones(nspec)))])
        let calib = FluxCalibration(wave: wave, calib: [Float](repeating: 2, count: n), ivar: [Float](repeating: 1, count: n),
                                    mask: [UInt32](repeating: 0, count: n), fiberCorr: corr,
                                    stdstarFibermap: Fibermap(table: fibermap(2)))
        try calib.write(p)
        try BrokenCopy.write(p, to: path("copy.fits"), edits: [:])
        XCTAssertEqual(try FluxCalibration.read(path("copy.fits")).nspec, nspec, "an unedited copy reads")
        return p
    }

    func testFluxCalibrationReaderNamesTheHDUThatDisagrees() throws {
        let p = try validFluxCalibration()
        try assertRejects(p, ["IVAR": .image(ones(nspec * nwave * 2), shape: [2, nspec, nwave])], hdu: "IVAR", FluxCalibration.read)
        try assertRejects(p, ["MASK": .image(ones(nspec * (nwave + 1)), shape: [nspec, nwave + 1])], hdu: "MASK",
                          FluxCalibration.read)
        try assertRejects(p, ["WAVELENGTH": .image(ones(nwave - 1), shape: [nwave - 1])], hdu: "WAVELENGTH", FluxCalibration.read)
        var inf = wave; inf[0] = -.infinity
        try assertRejects(p, ["WAVELENGTH": .image(inf, shape: [nwave])], hdu: "WAVELENGTH", mentions: "finite", FluxCalibration.read)
        let corr = FITSTable(columns: [FITSColumn("FLAT_TO_PSF_FLUX", .double(ones(nspec + 5)))])
        try assertRejects(p, ["FIBERCORR": .table(corr)], hdu: "FIBERCORR", mentions: "rows", FluxCalibration.read)
        let badFibermap = FITSTable(columns: [FITSColumn("TARGETID", .double([1.5, 2.5]))])
        try assertRejects(p, ["STDSTAR_FIBERMAP": .table(badFibermap)], hdu: "STDSTAR_FIBERMAP", mentions: "TARGETID",
                          FluxCalibration.read)
        try assertRejects(p, ["MASK": .drop], hdu: "MASK", FluxCalibration.read)
        try assertRejects(p, ["MASK": .rename("IVAR")], hdu: "IVAR", mentions: "both named", FluxCalibration.read)
    }

    // MARK: standard-star models

    private func validStdStars() throws -> String {
        let p = path("stdstars-0-00000001.fits")
        let meta = FITSTable(columns: [FITSColumn("LOGG", .double([4.1, 4.3])), FITSColumn("TEFF", .double([6000, 6200]))])
        let frames = FITSTable(columns: [FITSColumn("EXPID", .int32([1]))])
        let models = StdStarModels(wave: wave, flux: ones(2 * nwave), fibers: [1, 2], metadata: meta, coefficients: ones(6),
                                   ntemplates: 3, fibermap: Fibermap(table: fibermap(2)), inputFrames: frames)
        try models.write(p)
        try BrokenCopy.write(p, to: path("copy.fits"), edits: [:])
        XCTAssertEqual(try StdStarModels.read(path("copy.fits")).ntemplates, 3, "an unedited copy reads")
        return p
    }

    func testStdStarModelsReaderNamesTheHDUThatDisagrees() throws {
        let p = try validStdStars()
        try assertRejects(p, ["FIBERS": .image([1, 2, 3], shape: [3])], hdu: "FIBERS", StdStarModels.read)
        let meta = FITSTable(columns: [FITSColumn("LOGG", .double([4.1]))])
        try assertRejects(p, ["METADATA": .table(meta)], hdu: "METADATA", mentions: "rows", StdStarModels.read)
        try assertRejects(p, ["COEFF": .image(ones(9), shape: [3, 3])], hdu: "COEFF", StdStarModels.read)
        try assertRejects(p, ["COEFF": .image(ones(6), shape: [6])], hdu: "COEFF", StdStarModels.read)
        try assertRejects(p, ["WAVELENGTH": .image(ones(nwave + 1), shape: [nwave + 1])], hdu: "WAVELENGTH", StdStarModels.read)
        var flat = wave; flat[5] = flat[4]
        try assertRejects(p, ["WAVELENGTH": .image(flat, shape: [nwave])], hdu: "WAVELENGTH", mentions: "increasing",
                          StdStarModels.read)
        try assertRejects(p, ["FIBERMAP": .table(fibermap(5))], hdu: "FIBERMAP", mentions: "rows", StdStarModels.read)
        try assertRejects(p, ["FLUX": .image(ones(2 * nwave), shape: [2 * nwave])], hdu: "FLUX", StdStarModels.read)
        try assertRejects(p, ["METADATA": .drop], hdu: "METADATA", StdStarModels.read)
        try assertRejects(p, ["COEFF": .rename("FIBERS")], hdu: "FIBERS", mentions: "both named", StdStarModels.read)
    }
}

/// Copies a FITS file HDU by HDU, replacing, renaming or dropping the HDUs named in `edits` (images are copied
/// as doubles, headers apart from EXTNAME are not copied: the readers under test look at shapes only).
enum BrokenCopy {
    enum Edit {
        case image([Double], shape: [Int])
        case table(FITSTable)
        case rename(String)
        case drop
    }

    static func write(_ path: String, to out: String, edits: [String: Edit]) throws {
        let src = try FITSFile.open(path)
        defer { try? src.close() }
        let names = src.hduNames()
        try FITSFile.writeAtomically(out) { f in
            for (i, original) in names.enumerated() {
                try src.moveTo(index: i)
                var name = original
                switch edits[original] {
                case .drop?: continue
                case .image(let data, let shape)?: try f.writeImage(data, shape: shape, name: name); continue
                case .table(let table)?: try f.writeTable(table, name: name); continue
                case .rename(let new)?: name = new
                case nil: break
                }
                if src.currentHDUType == .image {
                    let image = try src.readImage(as: Double.self)
                    try f.writeImage(image.data, shape: image.shape, name: name)
                } else {
                    try f.writeTable(try src.readTable(), name: name)
                }
            }
        }
    }
}
