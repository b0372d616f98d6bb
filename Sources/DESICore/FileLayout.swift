import Foundation

/// Kinds of DESI file that `FileLayout.findfile` knows (desispec.io.meta.findfile file types).
public enum DESIFileType: String, Sendable, CaseIterable {
    // Raw data ($DESI_SPECTRO_DATA); rawfibermap is the fibermap-EXPID.fits written beside a raw exposure.
    case raw, coordinates, fiberassign, etc, rawfibermap = "raw-fibermap"
    // preproc/
    case fibermap, preproc, tilepix
    // exposures/
    case psf, fitpsf = "fit-psf", psfboot, frame, sframe, fframe, qframe, cframe, sky, skycorr, fiberflat, fiberflatexp
    case stdstars, calibstars, fluxcalib, calib, exposureqa = "exposure-qa"
    // calibnight/
    case psfnight, fiberflatnight, biasnight, darknight, badcolumns, badfibers, ctecorr
    // Spectra grouped by tile (with `tile`) or by healpix pixel (with `healpix`).
    case spectra, coadd, redrock, rrdetails, rrmodel, tileqa = "tile-qa", tileqapng = "tile-qa-png"
    // Top level tables.
    case exposureTable = "exposure_table", processingTable = "processing_table", exposures, tiles
    // Offline QA (desispec 0.51 templates, under $DESI_SPECTRO_REDUX/$SPECPROD/QA).
    case qa, qaExposure = "qa-exposure", qaHTML = "qa-html"
    // Our QA (JSON metrics, under QA/exposures/NIGHT/EXPID): qa-frame's qa-CAMERA-EXPID.json, qa-exposure's
    // qa-EXPID.json, qa-night's QA/qa-NIGHT.html.
    case qaframe = "qa-frame", qaexposurejson = "qa-exposure-json", qanighthtml = "qa-night-html"
    // Production bookkeeping under PROD/run (not in desispec): the task database.
    case taskdb = "task-db"

    /// Types that need `camera`.
    var needsCamera: Bool {
        switch self {
        case .preproc, .psf, .fitpsf, .psfboot, .frame, .sframe, .fframe, .qframe, .cframe, .sky, .skycorr, .fiberflat,
             .fiberflatexp, .fluxcalib, .calib, .psfnight, .fiberflatnight, .biasnight, .darknight, .badcolumns, .qa,
             .qaframe:
            return true
        default: return false
        }
    }
}

/// How spectra of a tile are grouped (desispec "groupname").
public enum TileGrouping: Sendable, Equatable {
    /// All nights up to and including `night`: tiles/cumulative/TILE/NIGHT/coadd-SP-TILE-thruNIGHT.fits
    case cumulative
    /// One night: tiles/pernight/TILE/NIGHT/coadd-SP-TILE-NIGHT.fits
    case pernight
    /// One exposure: tiles/perexp/TILE/EXPID/coadd-SP-TILE-expEXPID.fits
    case perexp
    /// Another group name with its subgroup: tiles/NAME/TILE/SUBGROUP/coadd-SP-TILE-NAME-SUBGROUP.fits
    case custom(name: String, subgroup: String)
}

/// File names and directory layout of a DESI production, the equivalent of desispec.io.meta.findfile
/// (templates of desispec 0.70). Roots come from explicit values or from the environment:
/// DESI_SPECTRO_DATA (raw data; else $DESI_ROOT/spectro/data), DESI_SPECTRO_REDUX + SPECPROD (outputs).
/// A root that is needed and missing gives an error that names the variable. The templates themselves (fields,
/// folders, names) are in FileLayout+Templates.swift and FileLayout+QA.swift; every path of the code comes from them.
public struct FileLayout: Sendable {
    /// Raw data root override (else DESI_SPECTRO_DATA).
    public var rawDataDir: String?
    /// Production directory override, i.e. $DESI_SPECTRO_REDUX/$SPECPROD.
    public var specprodDir: String?
    /// Production name override (else SPECPROD, else the last component of `specprodDir`).
    public var specprod: String?
    /// Suffix of compressed outputs (".gz" when DESI_COMPRESSION is GZ or GZIP). desispec 0.70 defaults to ".gz"
    /// when the variable is unset; we default to none, as desispec 0.51 did, since our writers do not gzip.
    public var compressionSuffix: String
    /// HEALPix nside of healpix-grouped spectra.
    public var nside: Int
    /// Environment read for the roots not given explicitly.
    public var environment: [String: String]

    public init(rawDataDir: String? = nil, specprodDir: String? = nil, specprod: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment, nside: Int = 64) {
        self.rawDataDir = rawDataDir
        self.specprodDir = specprodDir
        self.specprod = specprod
        self.environment = environment
        self.nside = nside
        let comp = (environment["DESI_COMPRESSION"] ?? "NONE").uppercased()
        self.compressionSuffix = (comp == "GZ" || comp == "GZIP") ? ".gz" : ""
    }

    // MARK: roots

    /// $DESI_SPECTRO_DATA (desispec.io.meta.rawdata_root).
    public func rawDataRoot() throws -> String {
        if let r = rawDataDir { return r }
        if let r = environment["DESI_SPECTRO_DATA"], !r.isEmpty { return r }
        if let root = environment["DESI_ROOT"], !root.isEmpty { return (root as NSString).appendingPathComponent("spectro/data") }
        throw DESIError.invalidArgument(
            "environment variable DESI_SPECTRO_DATA is not set (raw data root); set it or give the raw data folder explicitly")
    }

    /// $DESI_SPECTRO_REDUX/$SPECPROD (desispec.io.meta.specprod_root). A SPECPROD holding a "/" is a full path.
    public func specprodRoot() throws -> String {
        if let d = specprodDir { return d }
        guard let prod = specprod ?? environment["SPECPROD"], !prod.isEmpty else {
            throw DESIError.invalidArgument(
                "environment variable SPECPROD is not set (production name); set it or give the production folder explicitly")
        }
        if prod.contains("/") { return prod }
        guard let redux = environment["DESI_SPECTRO_REDUX"], !redux.isEmpty else {
            throw DESIError.invalidArgument(
                "environment variable DESI_SPECTRO_REDUX is not set (reductions root); set it or give the production folder explicitly")
        }
        return (redux as NSString).appendingPathComponent(prod)
    }

    /// Production name: SPECPROD, else the last component of the production folder.
    public func specprodName() throws -> String {
        if let p = specprod ?? environment["SPECPROD"], !p.isEmpty, !p.contains("/") { return p }
        return (try specprodRoot() as NSString).lastPathComponent
    }

    /// $DESI_SPECTRO_REDUX/$SPECPROD/QA (desispec.io.meta.qaprod_root).
    public func qaprodRoot() throws -> String { Self.qaDir(specprod: try specprodRoot()) }

    // MARK: checks

    /// Checks a YEARMMDD night is a real calendar date (desispec.io.meta.validate_night, strptime '%Y%m%d').
    public static func validateNight(_ night: Int) throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = DateComponents(year: night / 10000, month: (night / 100) % 100, day: night % 100)
        guard night >= 10000101, night <= 99991231, c.isValidDate(in: calendar) else {
            throw DESIError.invalidArgument("night \(night) is not a YEARMMDD date")
        }
    }

    // MARK: findfile

    /// The path of a file of `type` (desispec.io.meta.findfile). Each type needs the arguments its template uses
    /// (night YEARMMDD, expid, camera, spectrograph, tile, healpix + survey + faprogram); a missing one is an error
    /// that names it. `outdir` replaces the directory, keeping the file name.
    public func findfile(_ type: DESIFileType, night: Int? = nil, expid: Int? = nil, camera: Camera? = nil,
                         spectrograph: Int? = nil, tile: Int? = nil, grouping: TileGrouping = .cumulative,
                         healpix: Int? = nil, survey: String? = nil, faprogram: String? = nil,
                         outdir: String? = nil) throws -> String {
        let args = FindfileArguments(type: type, night: night, expid: expid, camera: camera, spectrograph: spectrograph,
                                     tile: tile, grouping: grouping, healpix: healpix, survey: survey, faprogram: faprogram)
        if let night { try Self.validateNight(night) }
        if type.needsCamera { _ = try args.need(camera, "camera") }
        let path = try path(of: args)
        if let outdir { return (outdir as NSString).appendingPathComponent((path as NSString).lastPathComponent) }
        return path
    }

    /// A QA figure of one camera of one exposure: QA/exposures/NIGHT/EXPID/qa-KIND-CAMERA-EXPID.png
    /// (desispec 0.51 qa_sky_fig, qa_flux_fig, qa_s2n_fig, ...; KIND e.g. "sky", "skychi", "s2n", "flux", "flat").
    public func qaFigure(_ kind: String, night: Int, expid: Int, camera: Camera) throws -> String {
        try Self.validateNight(night)
        let folder = Self.qaExposureDir(specprod: try specprodRoot(), night: Self.nightString(night), expid: expid)
        return Self.qaFrameFigure(kind, folder: folder, camera: camera.name, expid: expid)
    }
}

extension FileLayout {
    /// The existing file among `path` and its gzipped / plain twin (desispec.io.util.checkgzip): `path` if it exists,
    /// else `path` + ".gz" or `path` less ".gz". Throws, naming both, when neither exists.
    public static func checkGzip(_ path: String) throws -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { return path }
        let alt = path.hasSuffix(".gz") ? String(path.dropLast(3)) : path + ".gz"
        if fm.fileExists(atPath: alt) { return alt }
        throw DESIError.badFile(path: path, problem: "no such file (nor \((alt as NSString).lastPathComponent))")
    }
}
