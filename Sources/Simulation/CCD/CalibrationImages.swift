import DESICore
import FITS
import Foundation

/// Calibration frames in DESI's layout for a simulated CCD: what DESI_SPECTRO_CALIB holds for a camera.
public enum CCDCalibrationImages {
    /// Master bias: full raw shape [rawNy, rawNx], ADU. Like DESI's (desispec.ccdcalib.compute_bias_file: a median
    /// of overscan-subtracted zero frames) it holds the fixed bias structure only, not the pedestal level.
    /// `noiseFrames` > 0 adds the read noise of an average of that many zero frames (a real master bias is noisy).
    public static func bias(_ config: CCDConfig, noiseFrames: Int = 0, rng: inout SimulationRandom) -> [Float] {
        var out = [Float](repeating: 0, count: config.rawNy * config.rawNx)
        for row in 0..<config.rawNy {
            for col in 0..<config.rawNx {
                let a = config.amplifiers[config.amplifier(rawRow: row, rawCol: col)]
                var v = config.biasStructureValue(rawRow: row, rawCol: col)
                if noiseFrames > 0 { v += a.readNoise / a.gain / Double(noiseFrames).squareRoot() * rng.gaussian() }
                out[row * config.rawNx + col] = Float(v)
            }
        }
        return out
    }

    /// Dark current image, trimmed shape [ny, nx], electrons per second (desispec multiplies it by EXPTIME).
    public static func dark(_ config: CCDConfig) -> [Float] {
        var out = [Float](repeating: 0, count: config.ny * config.nx)
        for i in 0..<4 {
            let r = config.regions(amp: i)
            let d = Float(config.amplifiers[i].darkCurrent)
            for row in r.ccdRows { for col in r.ccdCols { out[row * config.nx + col] = d } }
        }
        return out
    }

    /// Pixel flat, trimmed shape: 1 + Gaussian pixel-to-pixel variations of relative RMS `rms`, clipped to [0.5, 1.5].
    public static func pixflat(_ config: CCDConfig, rms: Double = 0.01, rng: inout SimulationRandom) -> [Float] {
        (0..<(config.ny * config.nx)).map { _ in Float(min(1.5, max(0.5, 1 + rms * rng.gaussian()))) }
    }

    /// Bad-pixel mask, trimmed shape, with CCDMask.bad (hot) or CCDMask.dead on the bad columns.
    public static func mask(_ config: CCDConfig) -> [Int32] {
        var out = [Int32](repeating: 0, count: config.ny * config.nx)
        for b in config.badColumns where b.column >= 0 && b.column < config.nx {
            let bit = Int32(b.dead ? CCDMask.dead : CCDMask.bad)
            for row in 0..<config.ny { out[row * config.nx + b.column] |= bit }
        }
        return out
    }

    /// Writes a calibration image into HDU 0 of `path` (as desispec's read_bias/read_dark/read_pixflat/read_mask read it).
    public static func write<T: FITSNumeric>(_ data: [T], ny: Int, nx: Int, to path: String, kind: String, camera: String,
                                             history: String? = nil) throws {
        var h = FITSHeader()
        h.set("CAMERA", camera.lowercased())
        h.set("OBSTYPE", kind.uppercased(), comment: "calibration image kind")
        h.addHistory(DESIProvenance.note("simulated \(kind.lowercased()) calibration for \(camera)"))
        if let history { h.addHistory(history) }
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(data, shape: [ny, nx], header: h)
        }
    }
}
