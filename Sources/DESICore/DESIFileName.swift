import Foundation

/// What a DESI file name says: the prefix (file type), camera or spectrograph, exposure id or night,
/// e.g. "frame-r1-00068039.fits" -> frame, r1, expid 68039; "psfnight-b0-20201216.fits" -> psfnight, b0, night 20201216;
/// "stdstars-4-00068039.fits" -> stdstars, spectrograph 4, expid 68039.
public struct DESIFileName: Sendable, Equatable {
    public var prefix: String
    public var camera: Camera?
    public var spectrograph: Int?
    public var expid: Int?
    public var night: Int?

    public init(prefix: String, camera: Camera? = nil, spectrograph: Int? = nil, expid: Int? = nil, night: Int? = nil) {
        self.prefix = prefix; self.camera = camera; self.spectrograph = spectrograph; self.expid = expid; self.night = night
    }

    /// Parses the last path component of `path`; nil when it does not look like PREFIX[-CAMERA|-SP]-NUMBER.fits[.gz|.fz].
    public static func parse(_ path: String) -> DESIFileName? {
        var name = (path as NSString).lastPathComponent
        for ext in [".gz", ".fz"] where name.hasSuffix(ext) { name.removeLast(ext.count) }
        guard name.hasSuffix(".fits") else { return nil }
        name.removeLast(5)
        var parts = name.split(separator: "-").map(String.init)
        guard parts.count >= 2, let number = Int(parts.removeLast()), let last = parts.last else { return nil }
        var result = DESIFileName(prefix: "")
        if let cam = Camera(last), parts.count >= 2 {
            result.camera = cam
            result.spectrograph = cam.spectrograph
            parts.removeLast()
        } else if last.count == 1, let sp = Int(last), parts.count >= 2 {
            result.spectrograph = sp
            parts.removeLast()
        }
        result.prefix = parts.joined(separator: "-")
        // Nightly files (psfnight, fiberflatnight, biasnight, ...) carry the night YEARMMDD; the others the exposure id.
        if result.prefix.hasSuffix("night") { result.night = number } else { result.expid = number }
        return result
    }
}
