import DESICore
import Foundation

/// The paths of one production, for the task graph and the runners: FileLayout's templates (desispec's findfile)
/// with the two roots known, raw data (`$DESI_SPECTRO_DATA`) and production (`$DESI_SPECTRO_REDUX/$SPECPROD`).
/// Nights are YEARMMDD strings, as in task names.
public struct ProductionLayout: Sendable {
    public var rawRoot: String
    public var prodRoot: String

    public init(rawRoot: String, prodRoot: String) {
        self.rawRoot = rawRoot; self.prodRoot = prodRoot
    }

    /// The roots of `files` (explicit, else from its environment); an error names the missing variable.
    public init(_ files: FileLayout) throws {
        self.init(rawRoot: try files.rawDataRoot(), prodRoot: try files.specprodRoot())
    }

    // raw data
    public func rawDir(night: String, expid: Int) -> String { FileLayout.rawExposureDir(rawRoot: rawRoot, night: night, expid: expid) }
    public func raw(night: String, expid: Int) -> String { "\(rawDir(night: night, expid: expid))/\(FileLayout.rawFileName(expid: expid))" }
    public func rawFibermap(night: String, expid: Int) -> String {
        "\(rawDir(night: night, expid: expid))/\(FileLayout.fibermapFileName(expid: expid))"
    }
    /// truth-EXPID.fits beside a simulated raw exposure.
    public func rawTruth(night: String, expid: Int) -> String {
        "\(rawDir(night: night, expid: expid))/\(FileLayout.truthFileName(expid: expid))"
    }

    // preproc/
    public func preprocDir(night: String, expid: Int) -> String { FileLayout.preprocDir(specprod: prodRoot, night: night, expid: expid) }
    public func preproc(night: String, expid: Int, camera: String) -> String {
        "\(preprocDir(night: night, expid: expid))/\(FileLayout.cameraFileName("preproc", camera: camera, expid: expid))"
    }
    public func fibermap(night: String, expid: Int) -> String {
        "\(preprocDir(night: night, expid: expid))/\(FileLayout.fibermapFileName(expid: expid))"
    }

    // exposures/
    public func exposureDir(night: String, expid: Int) -> String { FileLayout.exposureDir(specprod: prodRoot, night: night, expid: expid) }
    /// Per-exposure, per-camera products: psf, frame, sframe, cframe, sky, fiberflat, fluxcalib.
    public func exposureFile(_ prefix: String, night: String, expid: Int, camera: String) -> String {
        "\(exposureDir(night: night, expid: expid))/\(FileLayout.cameraFileName(prefix, camera: camera, expid: expid))"
    }
    public func stdstars(night: String, expid: Int, spectrograph: Int) -> String {
        let name = FileLayout.spectrographFileName("stdstars", spectrograph: spectrograph, expid: expid)
        return "\(exposureDir(night: night, expid: expid))/\(name)"
    }

    // calibnight/
    public func calibnightDir(night: String) -> String { FileLayout.calibnightDir(specprod: prodRoot, night: night) }
    public func psfnight(night: String, camera: String) -> String {
        "\(calibnightDir(night: night))/\(FileLayout.nightlyFileName("psfnight", camera: camera, night: night))"
    }
    public func fiberflatnight(night: String, camera: String) -> String {
        "\(calibnightDir(night: night))/\(FileLayout.nightlyFileName("fiberflatnight", camera: camera, night: night))"
    }

    // tiles/cumulative/
    public func tileDir(tile: Int, night: String) -> String {
        FileLayout.tileDir(specprod: prodRoot, group: "cumulative", tile: tile, subgroup: night)
    }
    public func tileFile(_ prefix: String, spectrograph: Int, tile: Int, night: String) -> String {
        let name = FileLayout.tileFileName(prefix, spectrograph: spectrograph, tile: tile, tag: "thru\(night)")
        return "\(tileDir(tile: tile, night: night))/\(name)"
    }

    // QA/
    public func qaDir(night: String, expid: Int) -> String { FileLayout.qaExposureDir(specprod: prodRoot, night: night, expid: expid) }
    /// qa-frame's output for one camera: QA/exposures/NIGHT/EXPID/qa-CAMERA-EXPID.json.
    public func qaFrame(night: String, expid: Int, camera: String) -> String {
        FileLayout.qaFrameFile(folder: qaDir(night: night, expid: expid), camera: camera, expid: expid)
    }
    /// qa-exposure's output: QA/exposures/NIGHT/EXPID/qa-EXPID.json.
    public func qaExposure(night: String, expid: Int) -> String {
        FileLayout.qaExposureFile(folder: qaDir(night: night, expid: expid), expid: expid, ext: "json")
    }
    /// The night's QA index written by `qa-night` (links every figure).
    public func qaNightHTML(night: String) -> String { FileLayout.qaNightFile(specprod: prodRoot, night: night, ext: "html") }

    // run/
    public var runDir: String { FileLayout.runDir(specprod: prodRoot) }
    public var database: String { FileLayout.taskDatabase(specprod: prodRoot) }
    public func logDir(night: String) -> String { FileLayout.logDir(specprod: prodRoot, night: night) }
    public func log(for task: PipelineTask) -> String { "\(logDir(night: task.night))/\(task.name).log" }
    public var scriptDir: String { FileLayout.scriptDir(specprod: prodRoot) }
}
