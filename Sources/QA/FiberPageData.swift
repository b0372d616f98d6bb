import DESICore
import Foundation

/// A fiber's trace on the CCD, one entry per CCD row it covers (from the PSF: the PSF module's reader, passed in).
public struct FiberTrace: Sendable {
    public var rows: [Int]
    public var column: [Double]
    public var wavelength: [Double]
    /// Cross-dispersion Gaussian sigma in columns.
    public var sigma: [Double]
    public init(rows: [Int], column: [Double], wavelength: [Double], sigma: [Double]) {
        self.rows = rows; self.column = column; self.wavelength = wavelength; self.sigma = sigma
    }
}

/// The files of one camera of one exposure that a fiber's page draws from (nil: not available).
public struct FiberCameraFiles: Sendable {
    public var camera: Camera
    public var frame: String?
    public var cframe: String?
    public var fiberflat: String?
    public var sky: String?
    public var calib: String?
    public var preproc: String?
    public var psf: String?
    public var stdstars: String?

    public init(camera: Camera, frame: String? = nil, cframe: String? = nil, fiberflat: String? = nil, sky: String? = nil,
                calib: String? = nil, preproc: String? = nil, psf: String? = nil, stdstars: String? = nil) {
        self.camera = camera; self.frame = frame; self.cframe = cframe; self.fiberflat = fiberflat; self.sky = sky
        self.calib = calib; self.preproc = preproc; self.psf = psf; self.stdstars = stdstars
    }

    /// The related files of a frame or cframe by their DESI names (next to it, the night's calibrations, the
    /// production's preproc folder: `RelatedFiles`); `given` is kept as the frame or cframe it is.
    public static func related(to given: String, camera: Camera, expid: Int, night: String) -> FiberCameraFiles {
        let r = RelatedFiles(frame: given, camera: camera.name, expid: expid, night: night, search: true)
        let name = (given as NSString).lastPathComponent
        let dir = (given as NSString).deletingLastPathComponent
        let stdName = FileLayout.spectrographFileName("stdstars", spectrograph: camera.spectrograph, expid: expid)
        let std = ["\(dir.isEmpty ? "." : dir)/\(stdName)", "\(dir.isEmpty ? "." : dir)/\(stdName).gz"]
            .first { FileManager.default.fileExists(atPath: $0) }
        return FiberCameraFiles(camera: camera, frame: name.hasPrefix("cframe-") ? r.find(["frame"]) : given,
                                cframe: name.hasPrefix("cframe-") ? given : r.find(["cframe"]),
                                fiberflat: r.find(["fiberflat"], nightly: "fiberflatnight"), sky: r.find(["sky"]),
                                calib: r.find(["fluxcalib"]), preproc: r.findPreproc(), psf: r.find(["psf"], nightly: "psfnight"),
                                stdstars: std)
    }
}

/// One camera's view of one fiber through every stage: what the six panels of its page show.
public struct FiberStageData: Sendable {
    public var camera: Camera
    /// Preproc cut-out around the trace: `halfWidth` columns either side, one row per CCD row of the trace
    /// ([rows.count, 2 * halfWidth + 1]); the model (the frame's flux of this fiber and its neighbours spread over
    /// the PSF's cross-dispersion profile) and the residual alike.
    public var cutoutWave: [Double] = []
    public var cutout: [Float] = []
    public var cutoutModel: [Float] = []
    public var halfWidth = 0
    /// Extracted electrons per Angstrom with ivar, and the read noise of the extraction in the same units.
    public var wave: [Double] = []
    public var electrons: [Float] = []
    public var electronsIvar: [Float] = []
    public var readNoise: [Double] = []
    public var fiberflat: [Double] = []
    public var sky: [Double] = []
    /// Frame / fiber flat - sky, electrons per Angstrom.
    public var skyResidual: [Double] = []
    public var calibration: [Float] = []
    public var calibratedFlux: [Float] = []
    public var calibratedIvar: [Float] = []
    /// The standard-star model on `wave` (flux units of the cframe), when the fiber is a standard.
    public var model: [Double]?
    public var sources: [String] = []

    public init(camera: Camera) { self.camera = camera }
}

/// The grade of a fiber as the FIBERMAP states it: QUALITY_GRADE / QUALITY_REASONS where graded, else FIBERSTATUS.
public struct FiberVerdict: Sendable, Equatable {
    public var fiber: Int
    public var targetID: Int64
    public var grade: Int?
    public var reasons: String
    public var fiberStatus: UInt32

    /// Worth a person's look: grade >= 2 where graded, else FIBERSTATUS != 0.
    public var worthLooking: Bool { grade.map { $0 >= 2 } ?? (fiberStatus != 0) }

    public var text: String {
        if let g = grade { return "grade \(g)" + (reasons.isEmpty ? "" : ": \(reasons)") }
        return "not graded; FIBERSTATUS \(fiberStatus)" + (fiberStatus == 0 ? " (good)" : " (look at it)")
    }

    /// The verdict of each row of a FIBERMAP.
    public static func all(_ fm: Fibermap) -> [FiberVerdict] {
        let grades = fm.table["QUALITY_GRADE"]?.data.ints
        var reasons: [String]?
        if case .string(let r)? = fm.table["QUALITY_REASONS"]?.data { reasons = r }
        let status = fm.fiberStatus, fibers = fm.fibers, ids = fm.targetIDs
        return (0..<fm.count).map { i in
            FiberVerdict(fiber: fibers[i], targetID: i < ids.count ? ids[i] : -1, grade: grades.map { $0[i] },
                         reasons: reasons.map { $0[i].trimmingCharacters(in: .whitespaces) } ?? "",
                         fiberStatus: i < status.count ? status[i] : 0)
        }
    }
}
