import DESICore
import FITS
import Foundation

/// A simulated camera whose CCD has the defects that calibration frames correct (a bias structure, pixel-to-pixel
/// sensitivity, a hot and a dead column), and the matching calibration frames in DESI's layout
/// (DESI_SPECTRO_CALIB's bias, dark, pixflat and mask images, HDU 0, as desispec.io's read_bias/read_dark/
/// read_pixflat/read_mask read them): `desispec simulate --calib` writes them and `desispec preproc
/// --bias/--dark/--pixflat/--mask` uses them.
public struct CCDCalibrationSet: Sendable {
    public var config: CCDConfig
    /// Relative pixel sensitivity, image shape [ny, nx]; the simulator multiplies the collected signal by it.
    public var pixflat: [Float]

    /// Deterministic for (camera, ny, nx, seed): DESI's default electronics plus a bias ramp falling to -3 ADU, 1% pixel
    /// flat variations, a hot column (200 e-) and a dead one. (The ramp is negative because desispec adds the positive
    /// part of the master bias to the variance as Poisson charge, which the simulator's fixed structure does not have.)
    public static func make(camera: String, ny: Int, nx: Int, seed: UInt64) -> CCDCalibrationSet {
        var config = CCDConfig.desiDefault(ny: ny, nx: nx, camera: camera)
        config.biasStructure = -3
        if nx >= 8 {
            config.badColumns = [BadColumn(column: nx / 5, extraElectrons: 200),
                                 BadColumn(column: (3 * nx) / 4 + 1, dead: true)]
        }
        let cameraStream = Camera(camera).map { $0.spectrograph * 3 + Camera.Arm.allCases.firstIndex(of: $0.arm)! } ?? 0
        var rng = SimulationRandom(seed: seed, stream: 700_000 + UInt64(cameraStream))
        let flat = CCDCalibrationImages.pixflat(config, rms: 0.01, rng: &rng)
        return CCDCalibrationSet(config: config, pixflat: flat)
    }

    /// Multiplies a signal image (electrons, before cosmic rays and dark) by the pixel flat. (Scaling a Poisson draw by
    /// 1 +- 1% changes its variance by as little.)
    public func applyPixflat(to electrons: inout [Float]) {
        precondition(electrons.count == pixflat.count, "pixel flat and image differ in size")
        for i in electrons.indices { electrons[i] *= pixflat[i] }
    }

    /// File names of the calibration frames of `camera` in a DESI_SPECTRO_CALIB-like folder.
    public static func paths(directory: String, camera: String) -> (bias: String, dark: String, pixflat: String, mask: String) {
        let c = camera.lowercased()
        func p(_ k: String) -> String { (directory as NSString).appendingPathComponent("\(k)-\(c).fits") }
        return (p("bias"), p("dark"), p("pixflat"), p("mask"))
    }

    /// Writes bias (raw shape, ADU, the structure without the pedestal, as a master bias), dark (e-/s), pixflat and
    /// mask (CCDMask bits) of this camera into `directory` (each file atomically). Returns the four paths.
    @discardableResult
    public func write(directory: String, history: String? = nil) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let c = config, p = Self.paths(directory: directory, camera: c.camera)
        var rng = SimulationRandom(seed: 1)
        try CCDCalibrationImages.write(CCDCalibrationImages.bias(c, rng: &rng), ny: c.rawNy, nx: c.rawNx, to: p.bias,
                                       kind: "bias", camera: c.camera, history: history)
        try CCDCalibrationImages.write(CCDCalibrationImages.dark(c), ny: c.ny, nx: c.nx, to: p.dark,
                                       kind: "dark", camera: c.camera, history: history)
        try CCDCalibrationImages.write(pixflat, ny: c.ny, nx: c.nx, to: p.pixflat, kind: "pixflat", camera: c.camera, history: history)
        try CCDCalibrationImages.write(CCDCalibrationImages.mask(c), ny: c.ny, nx: c.nx, to: p.mask,
                                       kind: "mask", camera: c.camera, history: history)
        return [p.bias, p.dark, p.pixflat, p.mask]
    }
}
