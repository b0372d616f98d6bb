import Foundation

/// Where a production's files go (desispec.io.meta.findfile templates, inventory §18.1), rooted at
/// `$DESI_SPECTRO_REDUX/$SPECPROD`, with raw data under `$DESI_SPECTRO_DATA`.
public struct ProductionLayout: Sendable {
    public var rawRoot: String
    public var prodRoot: String

    public init(rawRoot: String, prodRoot: String) {
        self.rawRoot = rawRoot; self.prodRoot = prodRoot
    }

    /// From DESI_SPECTRO_DATA, DESI_SPECTRO_REDUX and SPECPROD; names the missing variable otherwise.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> ProductionLayout {
        func need(_ key: String) throws -> String {
            guard let v = env[key], !v.isEmpty else { throw PipelineError.invalid("environment variable \(key) is not set") }
            return v
        }
        return ProductionLayout(rawRoot: try need("DESI_SPECTRO_DATA"),
                                prodRoot: (try need("DESI_SPECTRO_REDUX") as NSString).appendingPathComponent(try need("SPECPROD")))
    }

    static func e8(_ expid: Int) -> String { String(format: "%08d", expid) }

    public func rawDir(night: String, expid: Int) -> String { "\(rawRoot)/\(night)/\(Self.e8(expid))" }
    public func raw(night: String, expid: Int) -> String { "\(rawDir(night: night, expid: expid))/desi-\(Self.e8(expid)).fits.fz" }
    public func rawFibermap(night: String, expid: Int) -> String { "\(rawDir(night: night, expid: expid))/fibermap-\(Self.e8(expid)).fits" }

    public func preprocDir(night: String, expid: Int) -> String { "\(prodRoot)/preproc/\(night)/\(Self.e8(expid))" }
    public func preproc(night: String, expid: Int, camera: String) -> String {
        "\(preprocDir(night: night, expid: expid))/preproc-\(camera)-\(Self.e8(expid)).fits"
    }
    public func fibermap(night: String, expid: Int) -> String { "\(preprocDir(night: night, expid: expid))/fibermap-\(Self.e8(expid)).fits" }

    public func exposureDir(night: String, expid: Int) -> String { "\(prodRoot)/exposures/\(night)/\(Self.e8(expid))" }
    /// Per-exposure, per-camera products: psf, frame, sframe, cframe, sky, fiberflat, fluxcalib.
    public func exposureFile(_ prefix: String, night: String, expid: Int, camera: String) -> String {
        "\(exposureDir(night: night, expid: expid))/\(prefix)-\(camera)-\(Self.e8(expid)).fits"
    }
    public func stdstars(night: String, expid: Int, spectrograph: Int) -> String {
        "\(exposureDir(night: night, expid: expid))/stdstars-\(spectrograph)-\(Self.e8(expid)).fits"
    }

    public func calibnightDir(night: String) -> String { "\(prodRoot)/calibnight/\(night)" }
    public func psfnight(night: String, camera: String) -> String { "\(calibnightDir(night: night))/psfnight-\(camera)-\(night).fits" }
    public func fiberflatnight(night: String, camera: String) -> String {
        "\(calibnightDir(night: night))/fiberflatnight-\(camera)-\(night).fits"
    }

    public func tileDir(tile: Int, night: String) -> String { "\(prodRoot)/tiles/cumulative/\(tile)/\(night)" }
    public func tileFile(_ prefix: String, spectrograph: Int, tile: Int, night: String) -> String {
        "\(tileDir(tile: tile, night: night))/\(prefix)-\(spectrograph)-\(tile)-thru\(night).fits"
    }

    public func qaDir(night: String, expid: Int) -> String { "\(prodRoot)/QA/exposures/\(night)/\(Self.e8(expid))" }
    /// The night's QA index written by `qa-night` (links every figure).
    public func qaNightHTML(night: String) -> String { "\(prodRoot)/QA/qa-\(night).html" }

    public var runDir: String { "\(prodRoot)/run" }
    public var database: String { "\(runDir)/tasks.sqlite" }
    public func logDir(night: String) -> String { "\(runDir)/logs/night/\(night)" }
    public func log(for task: PipelineTask) -> String { "\(logDir(night: task.night))/\(task.name).log" }
    public var scriptDir: String { "\(runDir)/scripts" }
}
