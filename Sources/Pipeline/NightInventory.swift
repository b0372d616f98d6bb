import DESICore
import FITS
import Foundation

/// What the raw data of one exposure is: its flavor, the cameras it holds, its tile.
public struct ExposureInfo: Sendable, Equatable {
    public var night: String
    public var expid: Int
    /// "arc", "flat", "science", "zero", "dark" (lower-cased OBSTYPE, or FLAVOR).
    public var flavor: String
    public var cameras: [Camera]
    public var tile: Int?

    public init(night: String, expid: Int, flavor: String, cameras: [Camera], tile: Int?) {
        self.night = night; self.expid = expid; self.flavor = flavor; self.cameras = cameras; self.tile = tile
    }
}

public enum NightInventory {
    /// Lists the exposures of a night from `$DESI_SPECTRO_DATA/NIGHT/EXPID/desi-EXPID.fits.fz`, in EXPID order.
    public static func exposures(night: String, layout: ProductionLayout) throws -> [ExposureInfo] {
        let dir = FileLayout.rawNightDir(rawRoot: layout.rawRoot, night: night)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw PipelineError.noData("\(dir): no raw data folder for night \(night)")
        }
        var result: [ExposureInfo] = []
        for entry in entries.sorted() {
            guard let expid = Int(entry), entry.count == 8 else { continue }
            let path = layout.raw(night: night, expid: expid)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            result.append(try describe(rawFile: path, night: night, expid: expid))
        }
        if result.isEmpty { throw PipelineError.noData("\(dir): no raw exposures (desi-EXPID.fits.fz) for night \(night)") }
        return result.sorted { $0.expid < $1.expid }
    }

    /// Reads flavor, tile and cameras from a raw exposure file.
    public static func describe(rawFile path: String, night: String, expid: Int) throws -> ExposureInfo {
        let file = try FITSFile.open(path)
        try file.moveTo(index: 0)
        var header = try file.readHeader()
        let names = file.hduNames()
        let cameras = names.compactMap { Camera($0) }.sorted()
        if header.string("OBSTYPE") == nil && header.string("FLAVOR") == nil, let first = names.firstIndex(where: { Camera($0) != nil }) {
            try file.moveTo(index: first)
            header = try file.readHeader()
        }
        let flavor = (header.string("OBSTYPE") ?? header.string("FLAVOR") ?? "science").lowercased()
        guard !cameras.isEmpty else { throw DESIError.badFile(path: path, problem: "no camera HDU (B0..Z9) in raw exposure") }
        return ExposureInfo(night: night, expid: expid, flavor: flavor,
                            cameras: cameras, tile: header.int("TILEID"))
    }
}
