import Foundation

// The templates of desispec.io.meta.findfile, split into the formatting of each field, the folders and the file
// names. They take roots that are already known and never throw: `findfile` (which resolves the roots from the
// environment and checks its arguments) and the pipeline (whose roots are given) both build their paths from them.

// MARK: fields

extension FileLayout {
    /// Exposure id as eight digits, "00068039" (findfile's {expid:08d}): the one place an EXPID is formatted.
    public static func expidString(_ expid: Int) -> String { String(format: "%08d", expid) }

    /// Night YEARMMDD as written in names and folders, "20201216".
    public static func nightString(_ night: Int) -> String { String(night) }

    /// Tile id as written in tile folders and names, "7951" (no padding).
    public static func tileString(_ tile: Int) -> String { String(tile) }

    /// Tile id of a fiberassign file, six digits: "007951" (findfile's {tile:06d}).
    public static func fiberassignTileString(_ tile: Int) -> String { String(format: "%06d", tile) }

    /// Spectrograph (petal) as written in names, "4".
    public static func spectrographString(_ spectrograph: Int) -> String { String(spectrograph) }

    /// Camera as written in names, "b0".
    public static func cameraString(_ camera: Camera) -> String { camera.name }
}

// MARK: folders

extension FileLayout {
    /// RAW/NIGHT: the raw data of one night, a folder per exposure.
    public static func rawNightDir(rawRoot: String, night: String) -> String { "\(rawRoot)/\(night)" }

    /// RAW/NIGHT/EXPID: the raw data of one exposure.
    public static func rawExposureDir(rawRoot: String, night: String, expid: Int) -> String {
        "\(rawNightDir(rawRoot: rawRoot, night: night))/\(expidString(expid))"
    }

    /// PROD/preproc/NIGHT/EXPID.
    public static func preprocDir(specprod: String, night: String, expid: Int) -> String {
        "\(specprod)/preproc/\(night)/\(expidString(expid))"
    }

    /// PROD/exposures/NIGHT/EXPID: per-exposure products (psf, frame, sky, fiberflat, stdstars, fluxcalib, cframe).
    public static func exposureDir(specprod: String, night: String, expid: Int) -> String {
        "\(specprod)/exposures/\(night)/\(expidString(expid))"
    }

    /// PROD/calibnight/NIGHT: the night's calibrations (psfnight, fiberflatnight, biasnight, ...).
    public static func calibnightDir(specprod: String, night: String) -> String { "\(specprod)/calibnight/\(night)" }

    /// PROD/tiles/GROUP/TILE/SUBGROUP: spectra grouped by tile (`subgroup` is the night, or the EXPID for perexp).
    public static func tileDir(specprod: String, group: String, tile: Int, subgroup: String) -> String {
        "\(specprod)/tiles/\(group)/\(tileString(tile))/\(subgroup)"
    }

    /// PROD/healpix/SURVEY/PROGRAM/PIX/100/PIX (desispec.io.util.healpix_subdirectory).
    public static func healpixDir(specprod: String, survey: String, program: String, pixel: Int) -> String {
        "\(specprod)/healpix/\(survey)/\(program)/\(pixel / 100)/\(pixel)"
    }

    /// PROD/QA (desispec.io.meta.qaprod_root).
    public static func qaDir(specprod: String) -> String { "\(specprod)/QA" }

    /// PROD/QA/exposures/NIGHT: the QA folders of a night's exposures.
    public static func qaNightDir(specprod: String, night: String) -> String { "\(qaDir(specprod: specprod))/exposures/\(night)" }

    /// PROD/QA/exposures/NIGHT/EXPID: per-camera and per-exposure QA files and figures.
    public static func qaExposureDir(specprod: String, night: String, expid: Int) -> String {
        "\(qaNightDir(specprod: specprod, night: night))/\(expidString(expid))"
    }

    /// PROD/run: the task database, options, logs and batch scripts of a production.
    public static func runDir(specprod: String) -> String { "\(specprod)/run" }

    /// PROD/run/tasks.sqlite: the state of every task.
    public static func taskDatabase(specprod: String) -> String { "\(runDir(specprod: specprod))/tasks.sqlite" }

    /// PROD/run/logs/night/NIGHT: one log a task.
    public static func logDir(specprod: String, night: String) -> String { "\(runDir(specprod: specprod))/logs/night/\(night)" }

    /// PROD/run/scripts: batch scripts.
    public static func scriptDir(specprod: String) -> String { "\(runDir(specprod: specprod))/scripts" }
}

// MARK: file names

extension FileLayout {
    /// desi-EXPID.fits.fz: a raw exposure, one HDU per camera.
    public static func rawFileName(expid: Int) -> String { exposureFileName("desi", expid: expid, ext: "fits.fz") }

    /// fibermap-EXPID.fits: the fibermap beside a raw exposure (and in its preproc folder).
    public static func fibermapFileName(expid: Int) -> String { exposureFileName("fibermap", expid: expid) }

    /// truth-EXPID.fits: what the simulator put into a raw exposure (beside it).
    public static func truthFileName(expid: Int) -> String { exposureFileName("truth", expid: expid) }

    /// psf-CAMERA.fits: a camera's starting PSF in a folder of them (as DESI_SPECTRO_CALIB holds), to bootstrap arc fits.
    public static func startingPSFFileName(camera: String) -> String { "psf-\(camera).fits" }

    /// fluxcalib-CAMERA.fits: a camera's average flux calibration in a calibration folder (DESI_SPECTRO_CALIB's
    /// name for it, desidatamodel), the flux calibration's fallback.
    public static func averageFluxCalibrationFileName(camera: String) -> String { "fluxcalib-\(camera).fits" }

    /// truth-psf-CAMERA.fits: the PSF the simulator used for one camera (beside the raw exposure).
    public static func truthPSFFileName(camera: String) -> String { "truth-psf-\(camera).fits" }
    /// The per-fiber PSF errors a simulation rendered with (`simulate --psf-wave-offset / --psf-width-scale`).
    public static func truthPSFPerturbationFileName(camera: String) -> String { "truth-psf-perturbation-\(camera).fits" }

    /// PREFIX-CAMERA-EXPID.EXT, e.g. "frame-r1-00068039.fits" (per-camera products of an exposure).
    public static func cameraFileName(_ prefix: String, camera: String, expid: Int, ext: String = "fits") -> String {
        "\(prefix)-\(camera)-\(expidString(expid)).\(ext)"
    }

    /// PREFIX-EXPID.EXT, e.g. "desi-00068039.fits.fz", "fibermap-00068039.fits", "qa-00068039.json".
    public static func exposureFileName(_ prefix: String, expid: Int, ext: String = "fits") -> String {
        "\(prefix)-\(expidString(expid)).\(ext)"
    }

    /// PREFIX-SPECTROGRAPH-EXPID.fits, e.g. "stdstars-4-00068039.fits".
    public static func spectrographFileName(_ prefix: String, spectrograph: Int, expid: Int) -> String {
        "\(prefix)-\(spectrographString(spectrograph))-\(expidString(expid)).fits"
    }

    /// PREFIX-CAMERA-NIGHT.EXT, e.g. "psfnight-b0-20201216.fits" (a night's calibration of one camera).
    public static func nightlyFileName(_ prefix: String, camera: String, night: String, ext: String = "fits") -> String {
        "\(prefix)-\(camera)-\(night).\(ext)"
    }

    /// PREFIX-SPECTROGRAPH-TILE-TAG.EXT, e.g. "coadd-6-7951-thru20211014.fits" (tile-grouped spectra).
    public static func tileFileName(_ prefix: String, spectrograph: Int, tile: Int, tag: String, ext: String = "fits") -> String {
        "\(prefix)-\(spectrographString(spectrograph))-\(tileString(tile))-\(tag).\(ext)"
    }

    /// Folder and name tag of a tile grouping: cumulative -> ("cumulative", NIGHT, "thruNIGHT"), pernight ->
    /// ("pernight", NIGHT, NIGHT), perexp -> ("perexp", EXPID, "expEXPID"), custom -> (NAME, SUBGROUP, NAME-SUBGROUP).
    public static func tileGroupParts(_ grouping: TileGrouping, night: String?, expid: Int?) throws
        -> (group: String, subgroup: String, tag: String) {
        func needNight() throws -> String {
            guard let night else { throw DESIError.invalidArgument("findfile: night is required for \(grouping) tile files") }
            return night
        }
        switch grouping {
        case .cumulative:
            let n = try needNight()
            return ("cumulative", n, "thru\(n)")
        case .pernight:
            let n = try needNight()
            return ("pernight", n, n)
        case .perexp:
            guard let expid else { throw DESIError.invalidArgument("findfile: expid is required for perexp tile files") }
            let e8 = expidString(expid)
            return ("perexp", e8, "exp\(e8)")
        case .custom(let name, let subgroup):
            return (name, subgroup, "\(name)-\(subgroup)")
        }
    }
}
