import DESICore
import Foundation
import PSF
import Preproc
import Sky

/// The inputs of `desispec sky --fit-offsets` (desispec.sky.get_sector_masks): the CCD sectors that the camera's
/// calibration yaml names (OFFCOLS<amp> / CTECOLS<amp>), and the CCD position of every frame pixel from the traces
/// of the exposure's PSF, which make the sector templates of the sky fit.
enum SkySectorInputs {
    /// The sector templates of a flat-fielded frame, or nil when the calibration names no sector (a no-op, as in
    /// desispec). The yaml is `calibConfig`, else DIR/spec/smN/smN-ARM.yaml with DIR `calibDir` or $DESI_SPECTRO_CALIB
    /// (N the frame's SPECID); the PSF is `psfPath`,
    /// else the exposure's psf file of the production (desispec's findfile('psf', NIGHT, EXPID, CAMERA)).
    static func templates(frame: Frame, fiberflat: FiberFlat, framePath: String, calibConfig: String?,
                          calibDir: String? = nil, psfPath: String?, log: (String) -> Void) throws -> SkySectorTemplates? {
        let config = try calibration(frame: frame, framePath: framePath, option: calibConfig, directory: calibDir)
        let sectors = try CCDOffsetSector.sectors(header: frame.header, path: config.path) { config.string($0) }
        if sectors.isEmpty {
            log("--fit-offsets: \(config.path) (\(config.version)) names no OFFCOLS/CTECOLS sector: no offsets fitted")
            return nil
        }
        for s in sectors { log("CCD sector with an offset: amplifier \(s.amplifier), \(s)") }
        let path = try psfPath ?? exposurePSF(frame: frame, framePath: framePath)
        let psf = try readPSF(path)
        let fibers = traceIndices(frame: frame, psfFibers: psf.nspec)
        guard fibers.allSatisfy({ $0 >= 0 && $0 < psf.nspec }) else {
            throw DESIError.mismatch("\(path) has \(psf.nspec) traces: it does not cover the fibers of \(framePath)")
        }
        let nspec = frame.nspec, nwave = frame.nwave
        var x = [Double](repeating: 0, count: nspec * nwave), y = x
        for f in 0..<nspec {
            for i in 0..<nwave {
                x[f * nwave + i] = psf.x(fiber: fibers[f], wavelength: frame.wave[i])
                y[f * nwave + i] = psf.y(fiber: fibers[f], wavelength: frame.wave[i])
            }
        }
        return SkySectorTemplates(sectors: sectors, x: x, y: y, nspec: nspec, nwave: nwave, fiberflat: fiberflat.flat)
    }

    /// The camera's calibration entry for the frame (its CAMERA, NIGHT, DETECTOR, ... keywords).
    static func calibration(frame: Frame, framePath: String, option: String?,
                            directory: String? = nil) throws -> CalibrationConfig {
        if let option { return try CalibrationConfig.select(yamlPath: option, headers: [frame.header]) }
        guard let dir = directory ?? ProcessInfo.processInfo.environment["DESI_SPECTRO_CALIB"], !dir.isEmpty,
              let cam = frame.header.string("CAMERA")?.trimmingCharacters(in: .whitespaces).lowercased(), !cam.isEmpty else {
            throw DESIError.invalidArgument("--fit-offsets needs the camera's calibration yaml (--calib-config, or --calib-dir "
                                            + "or DESI_SPECTRO_CALIB and a CAMERA keyword in \(framePath))")
        }
        let specid = frame.header.int("SPECID") ?? Int(cam.suffix(1)) ?? 0
        return try CalibrationConfig.select(yamlPath: "\(dir)/spec/sm\(specid)/sm\(specid)-\(cam.prefix(1)).yaml",
                                            headers: [frame.header])
    }

    /// The production's psf file of the frame's exposure.
    static func exposurePSF(frame: Frame, framePath: String) throws -> String {
        guard let night = frame.header.int("NIGHT"), let expid = frame.header.int("EXPID"), let camera = frame.camera else {
            throw DESIError.invalidArgument("--fit-offsets: give the exposure's PSF with --psf (\(framePath) has no NIGHT, EXPID, CAMERA)")
        }
        let path: String
        do { path = try FileLayout().findfile(.psf, night: night, expid: expid, camera: camera) } catch {
            throw DESIError.invalidArgument("--fit-offsets: give the exposure's PSF with --psf (no production psf file: \(error))")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw DESIError.invalidArgument("--fit-offsets: no PSF \(path) (give one with --psf)")
        }
        return path
    }

    /// The PSF trace of each frame row: the row itself when the PSF has as many traces as the frame has rows
    /// (desispec's choice), else the fiber number within its spectrograph (FIBER mod 500).
    static func traceIndices(frame: Frame, psfFibers: Int) -> [Int] {
        if psfFibers == frame.nspec { return Array(0..<frame.nspec) }
        guard let fibers = frame.fibermap?.fibers, fibers.count == frame.nspec else { return Array(0..<frame.nspec) }
        return fibers.map { $0 % 500 }
    }
}
