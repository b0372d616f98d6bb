import DESICore
import FITS
import Foundation

/// One calibrated frame (cframe) as the grouping step reads it: the frame and its SCORES table, if any.
public struct FrameInput: Sendable {
    public var frame: Frame
    public var scores: FITSTable?
    public var path: String

    public init(frame: Frame, scores: FITSTable? = nil, path: String = "") {
        self.frame = frame; self.scores = scores; self.path = path
    }

    /// Reads a frame/cframe file in DESI's layout (FLUX primary, IVAR, MASK, WAVELENGTH, RESOLUTION, FIBERMAP,
    /// optional SCORES), as desispec.io.read_frame. Kept here until DESICore offers a frame reader.
    public static func read(_ path: String) throws -> FrameInput {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such file") }
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        let names = f.hduNames().map { $0.uppercased() }
        try f.moveTo(index: 0)
        let flux = try f.readImage(as: Float.self)
        guard flux.shape.count == 2 else { throw DESIError.badFile(path: path, problem: "primary HDU is not a [nspec, nwave] FLUX image") }
        let (nspec, nwave) = (flux.shape[0], flux.shape[1])
        for need in ["IVAR", "WAVELENGTH", "FIBERMAP"] where !names.contains(need) {
            throw DESIError.badFile(path: path, problem: "no \(need) HDU: not a frame file")
        }
        let ivar = try f.readImage("IVAR", as: Float.self)
        let wave = try f.readImage("WAVELENGTH", as: Double.self)
        guard ivar.shape == flux.shape, wave.count == nwave else {
            throw DESIError.badFile(path: path, problem: "IVAR \(ivar.shape) or WAVELENGTH [\(wave.count)] does not match FLUX \(flux.shape)")
        }
        var mask = [UInt32](repeating: 0, count: nspec * nwave)
        if names.contains("MASK") {
            let m = try f.readImage("MASK", as: Int64.self)
            guard m.count == mask.count else { throw DESIError.badFile(path: path, problem: "MASK \(m.shape) does not match FLUX \(flux.shape)") }
            mask = m.data.map { UInt32(truncatingIfNeeded: $0) }
        }
        var res: ResolutionData? = nil
        if names.contains("RESOLUTION") {
            let r = try f.readImage("RESOLUTION", as: Float.self)
            guard r.shape.count == 3, r.shape[0] == nspec, r.shape[2] == nwave, r.shape[1] % 2 == 1 else {
                throw DESIError.badFile(path: path, problem: "RESOLUTION \(r.shape) does not match FLUX \(flux.shape)")
            }
            res = ResolutionData(nspec: nspec, ndiag: r.shape[1], nwave: nwave, data: r.data)
        }
        let fm = try f.readTable("FIBERMAP")
        guard fm.rowCount == nspec else { throw DESIError.badFile(path: path, problem: "FIBERMAP has \(fm.rowCount) rows, FLUX \(nspec) spectra") }
        let scores = names.contains("SCORES") ? try f.readTable("SCORES") : nil
        let frame = Frame(wave: wave.data, flux: flux.data, ivar: ivar.data, mask: mask, resolution: res,
                          fibermap: Fibermap(table: fm), header: flux.header)
        return FrameInput(frame: frame, scores: scores, path: path)
    }
}
