import DESICore
import FITS
import Foundation
import XCTest

/// Small products written for the viewer's tests: cframes of two cameras, their sky and flux calibration, a coadd,
/// a model and a redrock file. Values are simple functions of (fiber, pixel), so a test can recompute any of them.
enum ViewerFixtures {
    static let nspec = 5
    static let waveB = (0..<40).map { 3600.0 + 0.8 * Double($0) }
    static let waveR = (0..<30).map { 5760.0 + 0.8 * Double($0) }

    static func fluxValue(_ fiber: Int, _ j: Int, camera: String) -> Float {
        Float(fiber * 100 + j) + (camera.hasPrefix("b") ? 0.25 : 0.5)
    }
    static func ivarValue(_ fiber: Int, _ j: Int) -> Float { j % 7 == 3 ? 0 : Float(1 + fiber) }
    static func skyValue(_ fiber: Int, _ j: Int) -> Double { 10 + Double(j) + 0.1 * Double(fiber) }
    static func calibValue(_ fiber: Int, _ j: Int) -> Float { j == 5 ? 0 : 2 + 0.01 * Float(j) }

    /// A fibermap of `nspec` fibers from `first`, TARGETID 39600000000000 + fiber, with the quality columns when asked.
    static func fibermap(first: Int = 0, quality: Bool) -> FITSTable {
        let fibers = (first..<(first + nspec)).map { Int32($0) }
        var cols = [
            FITSColumn("TARGETID", .int64(fibers.map { 39_600_000_000_000 + Int64($0) })),
            FITSColumn("FIBER", .int32(fibers)),
            FITSColumn("OBJTYPE", .string(fibers.map { $0 == 2 ? "SKY" : "TGT" }), stringWidth: 3),
            FITSColumn("FIBER_X", .double(fibers.map { Double($0) * 1.5 })),
            FITSColumn("FIBER_Y", .double(fibers.map { -Double($0) })),
            FITSColumn("FIBERSTATUS", .int32(fibers.map { _ in 0 })),
        ]
        if quality {
            cols.append(FITSColumn("QUALITY_GRADE", .int16(fibers.map { Int16($0 % 6) })))
            cols.append(FITSColumn("QUALITY_REASONS", .string(fibers.map { $0 % 6 < 3 ? "low S/N; sky residual" : "" }),
                                   stringWidth: 24))
        }
        return FITSTable(columns: cols)
    }

    static func cframe(camera: String, wave: [Double], quality: Bool) throws -> Frame {
        var h = FITSHeader()
        h.set("CAMERA", camera)
        h.set("BUNIT", "10**-17 erg/(s cm2 Angstrom)")
        let n = wave.count
        let flux = (0..<(nspec * n)).map { fluxValue($0 / n, $0 % n, camera: camera) }
        let ivar = (0..<(nspec * n)).map { ivarValue($0 / n, $0 % n) }
        return Frame(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: nspec * n),
                     fibermap: Fibermap(table: fibermap(quality: quality)), header: h)
    }

    /// cframe-b0/r0, sky-b0/r0, fluxcalib-b0/r0 of exposure 4 in `dir`.
    static func writeExposure(_ dir: URL, quality: Bool = true) throws -> [String: String] {
        var paths: [String: String] = [:]
        for (camera, wave) in [("b0", waveB), ("r0", waveR)] {
            let cf = dir.appendingPathComponent("cframe-\(camera)-00000004.fits").path
            try cframe(camera: camera, wave: wave, quality: quality).write(to: cf)
            var h = FITSHeader()
            h.set("CAMERA", camera)
            let n = wave.count
            let sky = try SkyModel(wave: wave, flux: (0..<(nspec * n)).map { skyValue($0 / n, $0 % n) },
                                   ivar: [Double](repeating: 1, count: nspec * n), mask: [UInt32](repeating: 0, count: nspec * n),
                                   header: h)
            let skyPath = dir.appendingPathComponent("sky-\(camera)-00000004.fits").path
            try sky.write(to: skyPath)
            let cal = FluxCalibration(wave: wave, calib: (0..<(nspec * n)).map { calibValue($0 / n, $0 % n) },
                                      ivar: [Float](repeating: 1, count: nspec * n), mask: [UInt32](repeating: 0, count: nspec * n),
                                      header: h)
            let calPath = dir.appendingPathComponent("fluxcalib-\(camera)-00000004.fits").path
            try cal.write(calPath)
            paths["cframe-\(camera)"] = cf; paths["sky-\(camera)"] = skyPath; paths["fluxcalib-\(camera)"] = calPath
        }
        return paths
    }

    /// A spectra-layout file of bands b and r (flux times `scale`), e.g. a coadd or a model.
    static func writeSpectra(_ path: String, scale: Float = 1, quality: Bool = false) throws {
        var data: [String: SpectraBand] = [:]
        for (band, wave) in [("b", waveB), ("r", waveR)] {
            let n = wave.count
            data[band] = SpectraBand(wave: wave, flux: (0..<(nspec * n)).map { scale * fluxValue($0 / n, $0 % n, camera: band) },
                                     ivar: (0..<(nspec * n)).map { ivarValue($0 / n, $0 % n) })
        }
        let s = try Spectra(bands: ["b", "r"], data: data, fibermap: fibermap(quality: quality), header: FITSHeader())
        try s.write(path)
    }

    /// A redrock file: REDSHIFTS with TARGETID, Z = 0.1 * (fiber + 1), SPECTYPE.
    static func writeRedrock(_ path: String) throws {
        let fibers = Array(0..<nspec)
        let t = FITSTable(columns: [
            FITSColumn("TARGETID", .int64(fibers.map { 39_600_000_000_000 + Int64($0) })),
            FITSColumn("Z", .double(fibers.map { 0.1 * Double($0 + 1) })),
            FITSColumn("SPECTYPE", .string(fibers.map { $0 == 1 ? "QSO" : "GALAXY" }), stringWidth: 6),
        ])
        let f = try FITSFile.create(path)
        try f.writeEmptyHDU()
        try f.writeTable(t, name: "REDSHIFTS")
        try f.close()
    }

    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-viewer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
