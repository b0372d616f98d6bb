import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Where a calibration image comes from.
public enum CalibrationSource: Sendable {
    /// Do not apply this step.
    case none
    /// The file named by the calibration config (BIAS, DARK, PIXFLAT, MASK keys).
    case fromConfig
    /// HDU 0 of this file.
    case file(String)
    /// This array (bias: raw shape; others: image shape), row-major. A dark given so is in electrons per second.
    case array([Float])
}

/// A calibration image as read.
struct CalibrationImage: Sendable {
    var data: CalibrationPlane
    /// [ny, nx], or [] for an array given in memory (its size is checked against the image instead).
    var shape: [Int]
    var source: String
}

/// The four calibration images of a preprocessing run and the dependency versions to record in the header.
struct LoadedCalibrations: Sendable {
    var bias: CalibrationImage?
    var dark: DarkImage?
    var darkSource = "none"
    var pixflat: CalibrationImage?
    var mask: CalibrationImage?
    /// CCD_CALIB_<KEY> -> version, nil: no keyword (a dark that was not asked for).
    var dependency: [String: String] = [:]

    /// Reads the calibration images named by `options` at the same time, each file on its own cfitsio handle.
    static func load(_ options: PreprocOptions, config: CalibrationConfig?, exptime: Double?, path: String) throws -> LoadedCalibrations {
        var out = LoadedCalibrations()
        let kinds = ["BIAS", "DARK", "PIXFLAT", "MASK"]
        let sources = [options.bias, options.dark, options.pixflat, options.mask]
        if case .none = options.dark {} else if exptime == nil {
            throw DESIError.badFile(path: path, problem: "no EXPTIME keyword to scale the dark")
        }
        // One file per worker; every kind's outcome is kept, and the first error in the order of `kinds` is thrown.
        let loaded = parallelMap(kinds.count, threads: kinds.count) { k in
            Result { try loadOne(sources[k], key: kinds[k], config: config, exptime: exptime) }
        }
        let slots = try loaded.map { try $0.get() }
        out.bias = slots[0].image; out.pixflat = slots[2].image; out.mask = slots[3].image; out.dark = slots[1].dark
        switch options.dark {
        case .file(let f): out.darkSource = f
        case .fromConfig: out.darkSource = config?.file("DARK") ?? "config"
        default: break
        }
        for k in 0..<4 { if let d = slots[k].dependency { out.dependency["CCD_CALIB_\(kinds[k])"] = d } }
        return out
    }

    /// One calibration as read: the image (the dark's model for DARK) and its dependency version (nil: no keyword).
    private struct Loaded: Sendable {
        var image: CalibrationImage?
        var dark: DarkImage?
        var dependency: String?
    }

    /// Reads the calibration `key` from `source`.
    private static func loadOne(_ source: CalibrationSource, key: String, config: CalibrationConfig?,
                                exptime: Double?) throws -> Loaded {
        var out = Loaded()
        let (file, dep) = try resolve(source, key: key, config: config)
        out.dependency = dep
        if key == "DARK", case .none = source { out.dependency = nil }
        guard let file else {
            if case .array(let a) = source {
                if key == "DARK" { out.dark = DarkImage(rate: CalibrationPlane(a), ny: 0, nx: 0, exptime: exptime ?? 0) }
                else { out.image = CalibrationImage(data: CalibrationPlane(a), shape: [], source: "array") }
            }
            return out
        }
        if key == "DARK" { out.dark = try readDark(file, exptime: exptime ?? 0) }
        else { out.image = try readHDU0(file, key: key) }
        return out
    }

    /// The file to read for `key` (nil: none) and the dependency version recorded for it.
    static func resolve(_ source: CalibrationSource, key: String, config: CalibrationConfig?) throws -> (String?, String) {
        switch source {
        case .none: return (nil, "None")
        case .array: return (nil, "Unknown image")
        case .fromConfig:
            guard let c = config else {
                throw DESIError.invalidArgument("no calibration config to find the \(key) file (give a file, or a DESI_SPECTRO_CALIB yaml)")
            }
            guard let file = c.file(key) else {
                if key == "PIXFLAT" { return (nil, "None") }
                throw DESIError.badFile(path: c.path, problem: "no \(key) entry in version \(c.version)")
            }
            return (file, (file as NSString).lastPathComponent)
        case .file(let f): return (f, (f as NSString).lastPathComponent)
        }
    }

    /// HDU 0 of a calibration file, or HDU 1 when HDU 0 holds no image (as desispec's read_bias/read_pixflat/read_mask).
    static func readHDU0(_ file: String, key: String) throws -> CalibrationImage {
        let what = key.lowercased()
        let hdus: Int
        do { hdus = try FITSFile.open(file).hduCount } catch {
            throw DESIError.badFile(path: file, problem: "cannot open \(what) calibration: \(error)")
        }
        do {
            for index in hdus > 1 ? [0, 1] : [0] {
                if let r = try CalibrationPlane.read(path: file, index: index) {
                    return CalibrationImage(data: r.plane, shape: r.shape, source: file)
                }
            }
        } catch let e as DESIError { throw e } catch {
            throw DESIError.badFile(path: file, problem: "cannot read the \(what) calibration image: \(error)")
        }
        throw DESIError.badFile(path: file, problem: "HDU 0 and HDU 1 hold no 2-D \(what) image")
    }

    /// A dark file: desispec's exposure-time dependent model when it has a DARK HDU among several, else HDU 0 (e-/s).
    static func readDark(_ file: String, exptime: Double) throws -> DarkImage {
        let f: FITSFile
        do { f = try FITSFile.open(file) } catch { throw DESIError.badFile(path: file, problem: "cannot open dark calibration: \(error)") }
        if f.hduCount > 1 && f.hasHDU("DARK") { return try DarkModel.read(f, exptime: exptime) }
        try f.close()
        let img = try readHDU0(file, key: "DARK")
        return DarkImage(rate: img.data, ny: img.shape[0], nx: img.shape[1], exptime: exptime)
    }
}
