import DESICore
import Foundation

/// The DESI_SPECTRO_CALIB entry of a simulated camera, in desispec's format (as spec/sm1/sm1-r.yaml): the file
/// spec/smN/smN-ARM.yaml of the calibration folder (N the camera's SPECID, which the simulator sets to its
/// spectrograph number), one camera entry smN-ARM with one version valid from 2000 on for the CCD's DETECTOR, holding
/// the gains and saturation levels of its amplifiers and the calibration frames `write(directory:)` puts in the same
/// folder (BIAS, DARK, PIXFLAT, MASK, relative to it, as desispec's CalibFinder reads them).
extension CCDCalibrationSet {
    /// A CCD without defects (DESI's default electronics, a pixel flat of 1, no bad column): its raw data are those
    /// of a simulation without calibration frames; its frames and yaml still configure preproc as real data do.
    public static func plain(camera: String, ny: Int, nx: Int) -> CCDCalibrationSet {
        CCDCalibrationSet(config: CCDConfig.desiDefault(ny: ny, nx: nx, camera: camera), pixflat: [Float](repeating: 1, count: ny * nx))
    }

    /// spec/smN/smN-ARM.yaml below `directory`.
    public static func configPath(directory: String, camera: String) -> String {
        let c = camera.lowercased()
        let sm = "sm\(c.dropFirst())"
        return (directory as NSString).appendingPathComponent("spec/\(sm)/\(sm)-\(c.prefix(1)).yaml")
    }

    /// The yaml text of this camera's entry.
    public func configText() -> String {
        let c = config.camera.lowercased()
        let names = Self.paths(directory: "", camera: c)
        var lines = [
            "# CCD calibration of a simulated camera (desispec-swift simulate), in DESI_SPECTRO_CALIB's format",
            "sm\(c.dropFirst())-\(c.prefix(1)):",
            "  SIM20000101:",
            "    COMMENT: simulated CCD \(config.detector)",
            "    DATE-OBS-BEGIN: 20000101",
            "    DETECTOR: \(config.detector)",
        ]
        for a in config.amplifiers {
            lines.append("    GAIN\(a.name): \(a.gain)")
            lines.append("    SATURLEV\(a.name): \(a.saturation)")
        }
        for (key, path) in [("BIAS", names.bias), ("DARK", names.dark), ("PIXFLAT", names.pixflat), ("MASK", names.mask)] {
            lines.append("    \(key): \((path as NSString).lastPathComponent)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the camera's yaml entry (atomically) below `directory`; returns its path.
    @discardableResult
    public func writeConfig(directory: String) throws -> String {
        let path = Self.configPath(directory: directory, camera: config.camera)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try configText().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
