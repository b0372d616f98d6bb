import DESICore
import FITS
import Foundation
import Preproc

/// Where `desispec preproc` finds each calibration, as desispec.preproc.preproc / get_calibration_image:
/// a file given on the command line (it must exist), else the night's biasnight / darknight of the production
/// ($DESI_SPECTRO_REDUX/$SPECPROD/calibnight/NIGHT/) for the bias and the dark, else the calibration config's entry
/// (its file must exist; no BIAS, DARK or MASK entry is an error, no PIXFLAT entry skips the pixel flat as desispec);
/// no calibration config at all is an error (`config`), unless --no-calib-config: then the step is skipped with a
/// warning. --noX switches step X off.
enum PreprocCalibrationLookup {
    /// The calibration config: `file` (--calib-config), else DIR/spec/smN/smN-ARM.yaml (N the header's SPECID, DIR =
    /// `directory` (--calib-dir), else $DESI_SPECTRO_CALIB). When `needed` (a step must find its file in it), no config
    /// is an error naming what is missing, as desispec's CalibFinder; otherwise nil.
    static func config(file: String?, directory: String?, raw: RawImage, needed: Bool) throws -> CalibrationConfig? {
        let headers = [raw.header, raw.primaryHeader]
        let off = "(--no-calib-config runs without one)"
        if let y = file {
            guard FileManager.default.fileExists(atPath: y) else {
                throw DESIError.badFile(path: y, problem: "calibration config does not exist")
            }
            return try CalibrationConfig.select(yamlPath: y, headers: headers, directory: directory)
        }
        guard let dir = directory ?? ProcessInfo.processInfo.environment["DESI_SPECTRO_CALIB"] else {
            if !needed { return nil }
            throw DESIError.invalidArgument(
                "no calibration config: set DESI_SPECTRO_CALIB, or give --calib-dir DIR or --calib-config YAML \(off)")
        }
        guard let cam = raw.header.string("CAMERA")?.trimmingCharacters(in: .whitespaces).lowercased(), !cam.isEmpty else {
            throw DESIError.badFile(path: raw.path, problem: "no CAMERA keyword to find the calibration config")
        }
        let specid = raw.header.int("SPECID") ?? Int(cam.suffix(1)) ?? 0
        let y = "\(dir)/spec/sm\(specid)/sm\(specid)-\(cam.prefix(1)).yaml"
        guard FileManager.default.fileExists(atPath: y) else {
            if !needed { return nil }
            throw DESIError.badFile(path: y, problem: "calibration config of camera \(cam) does not exist \(off)")
        }
        return try CalibrationConfig.select(yamlPath: y, headers: headers, directory: dir)
    }

    /// The night's biasnight and darknight files of the production, when they exist.
    static func nightly(_ raw: RawImage) -> (bias: String?, dark: String?) {
        guard let cam = raw.header.string("CAMERA").flatMap({ Camera($0.trimmingCharacters(in: .whitespaces).lowercased()) }),
              let night = CalibrationConfig.nightOf([raw.header, raw.primaryHeader]) else { return (nil, nil) }
        let env = ProcessInfo.processInfo.environment
        guard env["DESI_SPECTRO_REDUX"] != nil, env["SPECPROD"] != nil else { return (nil, nil) }
        func existing(_ type: DESIFileType) -> String? {
            guard let p = try? FileLayout().findfile(type, night: night, camera: cam) else { return nil }
            return FileManager.default.fileExists(atPath: p) ? p : nil
        }
        return (existing(.biasnight), existing(.darknight))
    }

    static func source(_ name: String, off: Bool, file: String?, nightly: String?, config: CalibrationConfig?,
                       log: (String) -> Void) throws -> CalibrationSource {
        if off { return .none }
        if let f = file {
            guard FileManager.default.fileExists(atPath: f) else {
                throw DESIError.badFile(path: f, problem: "\(name) calibration file does not exist (--no\(name) skips the step)")
            }
            return .file(f)
        }
        if let n = nightly { return .file(n) }
        guard let c = config else {
            log("no \(name) given and no calibration config (--no-calib-config): \(name) step skipped")
            return .none
        }
        guard let f = c.file(name.uppercased()) else {
            if name == "pixflat" {
                log("no PIXFLAT entry in \(c.path) version \(c.version): pixflat step skipped")
                return .none
            }
            throw DESIError.badFile(path: c.path,
                                    problem: "no \(name.uppercased()) entry in version \(c.version) (--no\(name) skips the step)")
        }
        guard FileManager.default.fileExists(atPath: f) else {
            throw DESIError.badFile(path: f,
                                    problem: "\(name) calibration file named by \(c.path) does not exist (--no\(name) skips the step)")
        }
        return .file(f)
    }

    /// A file the command line names, else the calibration config's `key` entry; an error naming `why` without one.
    static func required(_ file: String?, key: String, config: CalibrationConfig?, why: String) throws -> String {
        guard let f = file ?? config?.file(key) else {
            throw DESIError.invalidArgument("\(why) needs a \(key) file: give --\(key.lowercased()) or a calibration config with \(key)")
        }
        guard FileManager.default.fileExists(atPath: f) else {
            throw DESIError.badFile(path: f, problem: "\(key) file for \(why) does not exist")
        }
        return f
    }
}
