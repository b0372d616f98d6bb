import Foundation
import DESICore
import FITS
import LinearAlgebra

/// Flux calibration of one camera (desispec.fluxcalibration.FluxCalib): calib [nspec, nwave] converts
/// 1e-17 erg/s/cm2/A into electrons/A (flux_cframe = flux_sframe / calib), with ivar and mask; the mean
/// convolved calibration; per-fiber corrections (FIBERCORR) and the fibermap of the stars used.
public struct FluxCalib: Sendable {
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

/// Options of compute_flux_calibration (desispec defaults).
public struct FluxCalibOptions: Sendable {
    public var nsigClipping = 10.0
    public var nsigFluxScale = 3.0
    public var highestThroughputStars = 0
    public var maxIterations = 20
    public init() {}
}

/// The rows of `frame` that hold the given fiber numbers (through the fibermap FIBER column, else fiber % 500).
func frameRows(of fibers: [Int], in frame: Frame) -> [Int] {
    let ff = frame.fibers
    var index: [Int: Int] = [:]
    for (i, f) in ff.enumerated() { index[f] = i }
    return fibers.compactMap { index[$0] ?? ((($0 % 500) < frame.nspec) ? $0 % 500 : nil) }
}
