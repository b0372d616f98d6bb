import DESICore

/// Options of compute_flux_calibration (desispec defaults).
public struct FluxCalibOptions: Sendable {
    public var nsigClipping = 10.0
    public var nsigFluxScale = 3.0
    public var highestThroughputStars = 0
    public var maxIterations = 20
    /// Fewer usable standards than this fall back on the average calibration (desispec fits with one star or more).
    public var minStars = 1
    /// Seeing FWHM [arcsec] of the fiber-acceptance corrections and of the fallback's seeing term (the command takes it
    /// from --seeing-fwhm, else the frame's header, `ExposureSeeing`; desi_compute_fluxcalibration's default 1.1).
    public var seeingFWHM = 1.1
    public init() {}
}

/// The rows of `frame` that hold the given fiber numbers (through the fibermap FIBER column, else fiber % 500).
func frameRows(of fibers: [Int], in frame: Frame) -> [Int] {
    let ff = frame.fibers
    var index: [Int: Int] = [:]
    for (i, f) in ff.enumerated() { index[f] = i }
    return fibers.compactMap { index[$0] ?? ((($0 % 500) < frame.nspec) ? $0 % 500 : nil) }
}
