import Foundation

/// The arguments of one `findfile` call, with the check that names a missing one.
struct FindfileArguments {
    var type: DESIFileType
    var night: Int?
    var expid: Int?
    var camera: Camera?
    var spectrograph: Int?
    var tile: Int?
    var grouping: TileGrouping
    var healpix: Int?
    var survey: String?
    var faprogram: String?

    func need<T>(_ value: T?, _ name: String) throws -> T {
        guard let value else { throw DESIError.invalidArgument("findfile \(type.rawValue): \(name) is required") }
        return value
    }
    func nightString() throws -> String { FileLayout.nightString(try need(night, "night")) }
    func expidValue() throws -> Int { try need(expid, "expid") }
    func cameraName() -> String { camera.map(FileLayout.cameraString) ?? "" }
    func spectrographValue() throws -> Int { try need(spectrograph ?? camera?.spectrograph, "spectrograph") }
}

extension FileLayout {
    /// findfile's template of each file type, filled from `a` (checked by `findfile`).
    func path(of a: FindfileArguments) throws -> String {
        let type = a.type, gz = compressionSuffix, cam = a.cameraName()
        switch type {
        case .raw, .coordinates, .fiberassign, .etc, .rawfibermap:
            let expid = try a.expidValue()
            let dir = Self.rawExposureDir(rawRoot: try rawDataRoot(), night: try a.nightString(), expid: expid)
            switch type {
            case .raw: return "\(dir)/\(Self.rawFileName(expid: expid))"
            case .coordinates: return "\(dir)/\(Self.exposureFileName("coordinates", expid: expid))"
            case .rawfibermap: return "\(dir)/\(Self.fibermapFileName(expid: expid))"
            case .fiberassign: return "\(dir)/fiberassign-\(Self.fiberassignTileString(try a.need(a.tile, "tile"))).fits.gz"
            default: return "\(dir)/\(Self.exposureFileName("etc", expid: expid, ext: "json"))"
            }
        case .fibermap, .preproc, .tilepix:
            let expid = try a.expidValue()
            let dir = Self.preprocDir(specprod: try specprodRoot(), night: try a.nightString(), expid: expid)
            switch type {
            case .fibermap: return "\(dir)/\(Self.fibermapFileName(expid: expid))"
            case .preproc: return "\(dir)/\(Self.cameraFileName("preproc", camera: cam, expid: expid))\(gz)"
            default: return "\(dir)/tilepix-\(Self.tileString(try a.need(a.tile, "tile"))).json"
            }
        case .psf, .fitpsf, .psfboot, .qframe, .skycorr, .frame, .sframe, .fframe, .cframe, .sky, .fiberflat, .fiberflatexp,
             .fluxcalib, .calib, .stdstars, .calibstars, .exposureqa:
            return try exposureProduct(a)
        case .psfnight, .fiberflatnight, .biasnight, .darknight, .badcolumns, .badfibers, .ctecorr:
            let night = try a.nightString()
            let dir = Self.calibnightDir(specprod: try specprodRoot(), night: night)
            switch type {
            case .psfnight, .fiberflatnight: return "\(dir)/\(Self.nightlyFileName(type.rawValue, camera: cam, night: night))"
            case .biasnight, .darknight: return "\(dir)/\(Self.nightlyFileName(type.rawValue, camera: cam, night: night))\(gz)"
            case .badcolumns: return "\(dir)/\(Self.nightlyFileName("badcolumns", camera: cam, night: night, ext: "csv"))"
            case .badfibers: return "\(dir)/badfibers-\(night).csv"
            default: return "\(dir)/ctecorr-\(night).yaml"
            }
        case .spectra, .coadd, .redrock, .rrdetails, .rrmodel, .tileqa, .tileqapng:
            return try groupedSpectra(a)
        case .exposureTable:
            let night = try a.nightString()
            return "\(try specprodRoot())/exposure_tables/\(night.prefix(6))/exposure_table_\(night).csv"
        case .processingTable:
            return "\(try specprodRoot())/processing_tables/processing_table_\(try specprodName())-\(try a.nightString()).csv"
        case .exposures, .tiles:
            return "\(try specprodRoot())/\(type.rawValue)-\(try specprodName()).fits"
        case .qa, .qaExposure, .qaHTML, .qaframe, .qaexposurejson, .qanighthtml:
            return try qaFile(a)
        case .taskdb:
            return Self.taskDatabase(specprod: try specprodRoot())
        }
    }

    /// PROD/exposures/NIGHT/EXPID/...: per-camera (PREFIX-CAMERA-EXPID.fits) and per-exposure products.
    private func exposureProduct(_ a: FindfileArguments) throws -> String {
        let expid = try a.expidValue(), gz = compressionSuffix
        let dir = Self.exposureDir(specprod: try specprodRoot(), night: try a.nightString(), expid: expid)
        switch a.type {
        case .psf, .fitpsf, .psfboot, .qframe, .skycorr:
            return "\(dir)/\(Self.cameraFileName(a.type.rawValue, camera: a.cameraName(), expid: expid))"
        case .stdstars:
            return "\(dir)/\(Self.spectrographFileName("stdstars", spectrograph: try a.spectrographValue(), expid: expid))\(gz)"
        case .calibstars:
            return "\(dir)/\(Self.exposureFileName("calibstars", expid: expid, ext: "csv"))"
        case .exposureqa:
            return "\(dir)/\(Self.exposureFileName("exposure-qa", expid: expid))"
        default:   // frame, sframe, fframe, cframe, sky, fiberflat, fiberflatexp, fluxcalib, calib
            return "\(dir)/\(Self.cameraFileName(a.type.rawValue, camera: a.cameraName(), expid: expid))\(gz)"
        }
    }

    /// Spectra grouped by tile (with `tile`) or by healpix pixel (with `healpix`, `survey`, `faprogram`), and tile QA.
    private func groupedSpectra(_ a: FindfileArguments) throws -> String {
        let type = a.type
        let nightString = a.night.map(Self.nightString)
        if type == .tileqa || type == .tileqapng {
            let tile = try a.need(a.tile, "tile")
            let parts = try Self.tileGroupParts(a.grouping, night: nightString, expid: a.expid)
            let dir = Self.tileDir(specprod: try specprodRoot(), group: parts.group, tile: tile, subgroup: parts.subgroup)
            return "\(dir)/tile-qa-\(Self.tileString(tile))-\(parts.tag).\(type == .tileqa ? "fits" : "png")"
        }
        let ext = type == .rrdetails ? "h5" : "fits"
        let suffix = type == .spectra ? compressionSuffix : ""
        if let tile = a.tile {
            guard a.healpix == nil else {
                throw DESIError.invalidArgument("findfile \(type.rawValue): give a tile or a healpix pixel, not both")
            }
            let sp = try a.spectrographValue()
            let parts = try Self.tileGroupParts(a.grouping, night: nightString, expid: a.expid)
            let dir = Self.tileDir(specprod: try specprodRoot(), group: parts.group, tile: tile, subgroup: parts.subgroup)
            return "\(dir)/\(Self.tileFileName(type.rawValue, spectrograph: sp, tile: tile, tag: parts.tag, ext: ext))\(suffix)"
        }
        let pix = try a.need(a.healpix, "tile or healpix")
        let sv = try a.need(a.survey, "survey").lowercased(), prog = try a.need(a.faprogram, "faprogram").lowercased()
        let dir = Self.healpixDir(specprod: try specprodRoot(), survey: sv, program: prog, pixel: pix)
        return "\(dir)/\(type.rawValue)-\(sv)-\(prog)-\(pix).\(ext)\(suffix)"
    }

    /// QA files: desispec 0.51's YAML (qa, qa-exposure, qa-html) and ours (qa-frame, qa-exposure-json, qa-night-html).
    private func qaFile(_ a: FindfileArguments) throws -> String {
        let prod = try specprodRoot()
        switch a.type {
        case .qaHTML:
            guard let night = a.night, let expid = a.expid else { return Self.qaTopLevelPage(specprod: prod) }
            let dir = Self.qaExposureDir(specprod: prod, night: Self.nightString(night), expid: expid)
            return Self.qaExposureFile(folder: dir, expid: expid, ext: "html")
        case .qanighthtml:
            return Self.qaNightFile(specprod: prod, night: try a.nightString(), ext: "html")
        default:
            let expid = try a.expidValue()
            let dir = Self.qaExposureDir(specprod: prod, night: try a.nightString(), expid: expid)
            switch a.type {
            case .qa: return "\(dir)/\(Self.cameraFileName("qa", camera: a.cameraName(), expid: expid, ext: "yaml"))"
            case .qaExposure: return Self.qaExposureFile(folder: dir, expid: expid, ext: "yaml")
            case .qaframe: return Self.qaFrameFile(folder: dir, camera: a.cameraName(), expid: expid)
            default: return Self.qaExposureFile(folder: dir, expid: expid, ext: "json")
            }
        }
    }
}
