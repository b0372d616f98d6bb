import Foundation

/// Kinds of DESI file that `DESIPaths.findfile` knows (desispec.io.meta.findfile file types).
public enum DESIFileType: String, Sendable, CaseIterable {
    // Raw data ($DESI_SPECTRO_DATA).
    case raw, coordinates, fiberassign, etc
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

    /// Types that need `camera`.
    var needsCamera: Bool {
        switch self {
        case .preproc, .psf, .fitpsf, .psfboot, .frame, .sframe, .fframe, .qframe, .cframe, .sky, .skycorr, .fiberflat,
             .fiberflatexp, .fluxcalib, .calib, .psfnight, .fiberflatnight, .biasnight, .darknight, .badcolumns, .qa:
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
/// (templates of desispec 0.70, inventory §18.1). Roots come from explicit values or from the environment:
/// DESI_SPECTRO_DATA (raw data; else $DESI_ROOT/spectro/data), DESI_SPECTRO_REDUX + SPECPROD (outputs).
/// A root that is needed and missing gives an error that names the variable.
public struct DESIPaths: Sendable {
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
        throw DESIError.invalidArgument("environment variable DESI_SPECTRO_DATA is not set (raw data root); set it or give the raw data folder explicitly")
    }

    /// $DESI_SPECTRO_REDUX/$SPECPROD (desispec.io.meta.specprod_root). A SPECPROD holding a "/" is a full path.
    public func specprodRoot() throws -> String {
        if let d = specprodDir { return d }
        guard let prod = specprod ?? environment["SPECPROD"], !prod.isEmpty else {
            throw DESIError.invalidArgument("environment variable SPECPROD is not set (production name); set it or give the production folder explicitly")
        }
        if prod.contains("/") { return prod }
        guard let redux = environment["DESI_SPECTRO_REDUX"], !redux.isEmpty else {
            throw DESIError.invalidArgument("environment variable DESI_SPECTRO_REDUX is not set (reductions root); set it or give the production folder explicitly")
        }
        return (redux as NSString).appendingPathComponent(prod)
    }

    /// Production name: SPECPROD, else the last component of the production folder.
    public func specprodName() throws -> String {
        if let p = specprod ?? environment["SPECPROD"], !p.isEmpty, !p.contains("/") { return p }
        return (try specprodRoot() as NSString).lastPathComponent
    }

    /// $DESI_SPECTRO_REDUX/$SPECPROD/QA (desispec.io.meta.qaprod_root).
    public func qaprodRoot() throws -> String { (try specprodRoot() as NSString).appendingPathComponent("QA") }

    // MARK: formatting helpers

    /// Exposure id as eight digits ("%08d").
    public static func expidString(_ expid: Int) -> String { String(format: "%08d", expid) }

    /// Checks a YEARMMDD night is a real calendar date (desispec.io.meta.validate_night, strptime '%Y%m%d').
    public static func validateNight(_ night: Int) throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = DateComponents(year: night / 10000, month: (night / 100) % 100, day: night % 100)
        guard night >= 10000101, night <= 99991231, c.isValidDate(in: calendar) else {
            throw DESIError.invalidArgument("night \(night) is not a YEARMMDD date")
        }
    }

    /// HEALPix subdirectory "PIX/100/PIX" (desispec.io.util.healpix_subdirectory).
    public static func healpixSubdirectory(_ pixel: Int) -> String { "\(pixel / 100)/\(pixel)" }

    // MARK: findfile

    /// The path of a file of `type` (desispec.io.meta.findfile). Each type needs the arguments its template uses
    /// (night YEARMMDD, expid, camera, spectrograph, tile, healpix + survey + faprogram); a missing one is an error
    /// that names it. `outdir` replaces the directory, keeping the file name.
    public func findfile(_ type: DESIFileType, night: Int? = nil, expid: Int? = nil, camera: Camera? = nil,
                         spectrograph: Int? = nil, tile: Int? = nil, grouping: TileGrouping = .cumulative,
                         healpix: Int? = nil, survey: String? = nil, faprogram: String? = nil,
                         outdir: String? = nil) throws -> String {
        func need<T>(_ v: T?, _ name: String) throws -> T {
            guard let v else { throw DESIError.invalidArgument("findfile \(type.rawValue): \(name) is required") }
            return v
        }
        if let night { try Self.validateNight(night) }
        if type.needsCamera { _ = try need(camera, "camera") }
        let cam = camera?.name ?? ""
        let gz = compressionSuffix
        func e8() throws -> String { Self.expidString(try need(expid, "expid")) }
        func n() throws -> String { String(try need(night, "night")) }

        let path: String
        switch type {
        case .raw, .coordinates, .fiberassign, .etc:
            let dir = "\(try rawDataRoot())/\(try n())/\(try e8())"
            switch type {
            case .raw: path = "\(dir)/desi-\(try e8()).fits.fz"
            case .coordinates: path = "\(dir)/coordinates-\(try e8()).fits"
            case .fiberassign: path = "\(dir)/fiberassign-\(String(format: "%06d", try need(tile, "tile"))).fits.gz"
            default: path = "\(dir)/etc-\(try e8()).json"
            }
        case .fibermap, .preproc, .tilepix:
            let dir = "\(try specprodRoot())/preproc/\(try n())/\(try e8())"
            switch type {
            case .fibermap: path = "\(dir)/fibermap-\(try e8()).fits"
            case .preproc: path = "\(dir)/preproc-\(cam)-\(try e8()).fits\(gz)"
            default: path = "\(dir)/tilepix-\(try need(tile, "tile")).json"
            }
        case .psf, .fitpsf, .psfboot, .qframe, .skycorr:
            path = "\(try specprodRoot())/exposures/\(try n())/\(try e8())/\(type.rawValue)-\(cam)-\(try e8()).fits"
        case .frame, .sframe, .fframe, .cframe, .sky, .fiberflat, .fiberflatexp, .fluxcalib, .calib:
            path = "\(try specprodRoot())/exposures/\(try n())/\(try e8())/\(type.rawValue)-\(cam)-\(try e8()).fits\(gz)"
        case .stdstars:
            let sp = try need(spectrograph ?? camera?.spectrograph, "spectrograph")
            path = "\(try specprodRoot())/exposures/\(try n())/\(try e8())/stdstars-\(sp)-\(try e8()).fits\(gz)"
        case .calibstars:
            path = "\(try specprodRoot())/exposures/\(try n())/\(try e8())/calibstars-\(try e8()).csv"
        case .exposureqa:
            path = "\(try specprodRoot())/exposures/\(try n())/\(try e8())/exposure-qa-\(try e8()).fits"
        case .psfnight, .fiberflatnight:
            path = "\(try specprodRoot())/calibnight/\(try n())/\(type.rawValue)-\(cam)-\(try n()).fits"
        case .biasnight, .darknight:
            path = "\(try specprodRoot())/calibnight/\(try n())/\(type.rawValue)-\(cam)-\(try n()).fits\(gz)"
        case .badcolumns:
            path = "\(try specprodRoot())/calibnight/\(try n())/badcolumns-\(cam)-\(try n()).csv"
        case .badfibers:
            path = "\(try specprodRoot())/calibnight/\(try n())/badfibers-\(try n()).csv"
        case .ctecorr:
            path = "\(try specprodRoot())/calibnight/\(try n())/ctecorr-\(try n()).yaml"
        case .spectra, .coadd, .redrock, .rrdetails, .rrmodel:
            let ext = type == .rrdetails ? "h5" : "fits"
            let suffix = type == .spectra ? gz : ""
            if let tile {
                guard healpix == nil else { throw DESIError.invalidArgument("findfile \(type.rawValue): give a tile or a healpix pixel, not both") }
                let sp = try need(spectrograph ?? camera?.spectrograph, "spectrograph")
                let (dir, tag) = try tileGroup(tile: tile, grouping: grouping, night: night, expid: expid)
                path = "\(dir)/\(type.rawValue)-\(sp)-\(tile)-\(tag).\(ext)\(suffix)"
            } else {
                let pix = try need(healpix, "tile or healpix")
                let sv = try need(survey, "survey").lowercased(), prog = try need(faprogram, "faprogram").lowercased()
                path = "\(try specprodRoot())/healpix/\(sv)/\(prog)/\(Self.healpixSubdirectory(pix))/\(type.rawValue)-\(sv)-\(prog)-\(pix).\(ext)\(suffix)"
            }
        case .tileqa, .tileqapng:
            let t = try need(tile, "tile")
            let (dir, tag) = try tileGroup(tile: t, grouping: grouping, night: night, expid: expid)
            path = "\(dir)/tile-qa-\(t)-\(tag).\(type == .tileqa ? "fits" : "png")"
        case .exposureTable:
            let night = try n()
            path = "\(try specprodRoot())/exposure_tables/\(night.prefix(6))/exposure_table_\(night).csv"
        case .processingTable:
            path = "\(try specprodRoot())/processing_tables/processing_table_\(try specprodName())-\(try n()).csv"
        case .exposures, .tiles:
            path = "\(try specprodRoot())/\(type.rawValue)-\(try specprodName()).fits"
        case .qa:
            path = "\(try qaprodRoot())/exposures/\(try n())/\(try e8())/qa-\(cam)-\(try e8()).yaml"
        case .qaExposure:
            path = "\(try qaprodRoot())/exposures/\(try n())/\(try e8())/qa-\(try e8()).yaml"
        case .qaHTML:
            if let night, let expid {
                path = "\(try qaprodRoot())/exposures/\(night)/\(Self.expidString(expid))/qa-\(Self.expidString(expid)).html"
            } else {
                path = "\(try qaprodRoot())/qa-toplevel.html"
            }
        }
        if let outdir { return (outdir as NSString).appendingPathComponent((path as NSString).lastPathComponent) }
        return path
    }

    /// A QA figure of one camera of one exposure: QA/exposures/NIGHT/EXPID/qa-KIND-CAMERA-EXPID.png
    /// (desispec 0.51 qa_sky_fig, qa_flux_fig, qa_s2n_fig, ...; KIND e.g. "sky", "skychi", "s2n", "flux", "flat").
    public func qaFigure(_ kind: String, night: Int, expid: Int, camera: Camera) throws -> String {
        try Self.validateNight(night)
        let e8 = Self.expidString(expid)
        return "\(try qaprodRoot())/exposures/\(night)/\(e8)/qa-\(kind)-\(camera.name)-\(e8).png"
    }

    private func tileGroup(tile: Int, grouping: TileGrouping, night: Int?, expid: Int?) throws -> (String, String) {
        let root = try specprodRoot()
        func needNight() throws -> Int {
            guard let night else { throw DESIError.invalidArgument("findfile: night is required for \(grouping) tile files") }
            return night
        }
        switch grouping {
        case .cumulative:
            let n = try needNight()
            return ("\(root)/tiles/cumulative/\(tile)/\(n)", "thru\(n)")
        case .pernight:
            let n = try needNight()
            return ("\(root)/tiles/pernight/\(tile)/\(n)", "\(n)")
        case .perexp:
            guard let expid else { throw DESIError.invalidArgument("findfile: expid is required for perexp tile files") }
            let e8 = Self.expidString(expid)
            return ("\(root)/tiles/perexp/\(tile)/\(e8)", "exp\(e8)")
        case .custom(let name, let subgroup):
            return ("\(root)/tiles/\(name)/\(tile)/\(subgroup)", "\(name)-\(subgroup)")
        }
    }
}

extension DESIPaths {
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
