import FITS

/// Flux calibration of one camera (desispec.fluxcalibration.FluxCalib): calib [nspec, nwave] converts
/// 1e-17 erg/s/cm2/A into electrons/A (flux_cframe = flux_sframe / calib), with ivar and mask; the mean
/// convolved calibration; per-fiber corrections (FIBERCORR) and the fibermap of the stars used.
public struct FluxCalibration: Sendable {
    public var wave: [Double]
    public var calib: [Float]
    public var ivar: [Float]
    public var mask: [UInt32]
    public var meanCalib: [Double]?
    /// Columns FLAT_TO_PSF_FLUX and PSF_TO_FIBER_FLUX, one row per fiber.
    public var fiberCorr: FITSTable?
    public var stdstarFibermap: Fibermap?
    public var header: FITSHeader

    public init(wave: [Double], calib: [Float], ivar: [Float], mask: [UInt32], meanCalib: [Double]? = nil,
                fiberCorr: FITSTable? = nil, stdstarFibermap: Fibermap? = nil, header: FITSHeader = FITSHeader()) {
        precondition(calib.count % max(1, wave.count) == 0 && ivar.count == calib.count && mask.count == calib.count,
                     "flux calibration arrays must be [nspec, nwave]")
        self.wave = wave; self.calib = calib; self.ivar = ivar; self.mask = mask; self.meanCalib = meanCalib
        self.fiberCorr = fiberCorr; self.stdstarFibermap = stdstarFibermap; self.header = header
    }

    public var nwave: Int { wave.count }
    public var nspec: Int { calib.count / max(1, wave.count) }
}
