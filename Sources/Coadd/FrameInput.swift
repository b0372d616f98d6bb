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

    /// Reads a frame/cframe file in DESI's layout (`Frame.read`, as desispec.io.read_frame) and its SCORES table;
    /// grouping needs the FIBERMAP, so a frame without one is an error.
    public static func read(_ path: String) throws -> FrameInput {
        let frame = try Frame.read(path)
        guard frame.fibermap != nil else { throw DESIError.badFile(path: path, problem: "no FIBERMAP HDU: not a frame file") }
        let f = try FITSFile.open(try FileLayout.checkGzip(path))
        defer { try? f.close() }
        let scores = f.hasHDU("SCORES") ? try f.readTable("SCORES") : nil
        return FrameInput(frame: frame, scores: scores, path: path)
    }
}
