import DESICore
import FITS
import Foundation

/// One calibrated frame (cframe) as the grouping step reads it: the frame and its SCORES table, if any.
public struct FrameInput: Sendable {
    public var frame: Frame
    public var scores: FITSTable?
    public var path: String
    /// The RESOLUTION as the file stores it, where the frame was read without it (`read`: the spectra are made from
    /// its rows, converted once into the spectra's arrays instead of into the frame's first).
    public var storedResolution: StoredResolution?

    public init(frame: Frame, scores: FITSTable? = nil, path: String = "", storedResolution: StoredResolution? = nil) {
        self.frame = frame; self.scores = scores; self.path = path; self.storedResolution = storedResolution
    }

    /// The spectra's resolution: stored, or the frame's.
    public var resolution: (any FiberResolutions)? { storedResolution ?? frame.resolution }

    /// Reads a frame/cframe file in DESI's layout (`Frame.read`, as desispec.io.read_frame) and its SCORES table;
    /// grouping needs the FIBERMAP, so a frame without one is an error.
    public static func read(_ path: String) throws -> FrameInput {
        let stored = try Frame.storedResolution(path).flatMap(StoredResolution.init)
        let frame = try Frame.read(path, skipResolution: stored != nil)
        guard frame.fibermap != nil else { throw DESIError.badFile(path: path, problem: "no FIBERMAP HDU: not a frame file") }
        if let stored { try frame.checkStoredResolution(stored.stored) }
        let f = try FITSFile.open(try FileLayout.checkGzip(path))
        defer { try? f.close() }
        let scores = f.hasHDU("SCORES") ? try f.readTable("SCORES") : nil
        return FrameInput(frame: frame, scores: scores, path: path, storedResolution: stored)
    }
}
