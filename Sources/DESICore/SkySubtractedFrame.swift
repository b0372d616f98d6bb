extension Frame {
    /// Reads a frame and, when given, divides it by a fiber flat and subtracts a sky model: the sframe that
    /// standard-star fitting, flux calibration and cframes start from (what desi_fit_stdstars,
    /// desi_compute_fluxcalibration and desi_process_exposure do with their --fiberflat / --sky inputs).
    /// Errors name the two files that disagree. The SCORES gain RAW, FFLAT and SKYSUB columns as the steps are done.
    /// `skipResolution`: the RESOLUTION is not read (for a program that does not use it; see `storedResolution`).
    public static func readSkySubtracted(_ path: String, fiberflat: String?, sky: String?, skipResolution: Bool = false) throws -> Frame {
        var frame = try Frame.read(path, skipResolution: skipResolution)
        frame.appendScores(suffix: "RAW")   // SCORES at each step, as desi_process_exposure adds them
        if let fiberflat {
            let ff = try FiberFlat.read(fiberflat)
            do { try applyFiberFlat(&frame, ff) } catch { throw DESIError.mismatch("\(path) and \(fiberflat): \(error)") }
            frame.appendScores(suffix: "FFLAT")
        }
        if let sky {
            let model = try SkyModel.read(sky)
            do { try subtractSky(&frame, model) } catch { throw DESIError.mismatch("\(path) and \(sky): \(error)") }
            frame.appendScores(suffix: "SKYSUB")
        }
        return frame
    }
}
