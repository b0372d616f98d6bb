import Foundation

/// The files related to a frame, by their DESI names: next to it (PREFIX-CAMERA-EXPID.fits, as in
/// PROD/exposures/NIGHT/EXPID) and in the night's calibrations (../../../calibnight/NIGHT/NIGHTLY-CAMERA-NIGHT.fits),
/// each also gzipped. Used by qa-frame to find the fiber flat, sky, calibration and PSF of a frame it is given.
public struct RelatedFiles: Sendable {
    public let directory: String
    public let camera: String
    public let expid: Int
    public let night: String
    /// When false, `find` finds nothing (only the files given explicitly are used).
    public let search: Bool

    public init(frame: String, camera: String, expid: Int, night: String, search: Bool) {
        directory = (frame as NSString).deletingLastPathComponent
        self.camera = camera; self.expid = expid; self.night = night; self.search = search
    }

    /// The first existing file among PREFIX-CAMERA-EXPID.fits(.gz) next to the frame, for each prefix in order, then
    /// NIGHTLY-CAMERA-NIGHT.fits(.gz) in the calibnight folder of the frame's production.
    public func find(_ prefixes: [String], nightly: String? = nil) -> String? {
        candidates(prefixes, nightly: nightly).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The preprocessed image of the frame: preproc-CAMERA-EXPID.fits(.gz) next to it, else in the production's
    /// PROD/preproc/NIGHT/EXPID (the frame being in PROD/exposures/NIGHT/EXPID).
    public func findPreproc() -> String? {
        guard search else { return nil }
        if let p = find(["preproc"]) { return p }
        guard !night.isEmpty else { return nil }
        let prod = ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent("../../..")
        let dir = (FileLayout.preprocDir(specprod: prod, night: night, expid: expid) as NSString).standardizingPath
        let name = FileLayout.cameraFileName("preproc", camera: camera, expid: expid)
        return ["\(dir)/\(name)", "\(dir)/\(name).gz"].first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Every path `find` tries, in order.
    public func candidates(_ prefixes: [String], nightly: String? = nil) -> [String] {
        guard search else { return [] }
        let dir = directory.isEmpty ? "." : directory
        var paths: [String] = []
        for p in prefixes {
            let name = FileLayout.cameraFileName(p, camera: camera, expid: expid)
            paths += ["\(dir)/\(name)", "\(dir)/\(name).gz"]
        }
        if let nightly, !night.isEmpty {
            // the frame is in PROD/exposures/NIGHT/EXPID: PROD is three folders up
            let prod = (dir as NSString).appendingPathComponent("../../..")
            let name = FileLayout.nightlyFileName(nightly, camera: camera, night: night)
            let calibnight = (FileLayout.calibnightDir(specprod: prod, night: night) as NSString).standardizingPath
            paths += ["\(calibnight)/\(name)", "\(calibnight)/\(name).gz"]
        }
        return paths
    }
}

extension FileLayout {
    /// The files related to `frame` (see `RelatedFiles`): camera, EXPID and NIGHT from the frame's header.
    public static func relatedFiles(of frame: String, camera: String, expid: Int, night: String,
                                    search: Bool = true) -> RelatedFiles {
        RelatedFiles(frame: frame, camera: camera, expid: expid, night: night, search: search)
    }
}
