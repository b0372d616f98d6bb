import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Header keyword that says whether the calibration is the fallback (true) or fitted on the stars (false).
public let fluxCalibFallbackKey = "FCFALLBK"
/// Header keyword with the seeing FWHM [arcsec] the calibration's fiber-acceptance corrections used.
public let fluxCalibSeeingKey = "FCSEEING"

/// The calibration of a petal whose standards cannot be fitted (too few usable stars, or median S/N per flux bin
/// below 2): the camera's average throughput at the exposure's airmass and seeing (desispec takes 1.1" here; the
/// average's seeing term is defined against the SEEING keyword, so the exposure's is used), times the exposure time,
/// scaled to the stars by the median of data / (calibration x convolved model) where the calibration is above half
/// its median (desispec.fluxcalibration.compute_flux_calibration, low-S/N branch; desispec takes the median over
/// every pixel, here over pixels with ivar > 0). As desispec, the result has a 100% uncertainty
/// (ivar = 1 / calib^2), every pixel masked, and the header says FCFALLBK = T.
func fallbackCalibration(frame: Frame, waveWithMargin wave: [Double], margin: Int, starFlux: [[Double]],
                         starIvar: [[Double]], convolvedModels: [[Double]], average: AverageFluxCalibration,
                         reason: String, seeing: Double, fiberCorrection: FITSTable) throws -> FluxCalibration {
    let cam = frame.camera?.name ?? "cam?"
    let h = frame.header
    let airmass = h.double("AIRMASS") ?? 1
    var awave = average.wave
    if let helio = h.double("HELIOCOR") { awave = awave.map { $0 * helio } }
    var cal = Interpolation.linear(x: awave, y: average.value(airmass: airmass, seeing: seeing), at: wave, left: 0, right: 0)
    if let t = h.double("EXPTIME") { cal = cal.map { $0 * t } }
    let half = 0.5 * Statistics.median(cal)
    var ratios: [Double] = []
    for s in 0..<starFlux.count {
        for j in 0..<wave.count where cal[j] > half && starIvar[s][j] > 0 && convolvedModels[s][j] > 0 {
            ratios.append(starFlux[s][j] / (cal[j] * convolvedModels[s][j]))
        }
    }
    guard !ratios.isEmpty else {
        throw DESIError.failed("fluxcalib \(cam): fallback (\(reason)): no star pixel overlaps the average calibration")
    }
    let scale = max(Statistics.median(ratios), 1e-4)
    let nw = frame.nwave, nspec = frame.nspec
    let trimmed = Array(cal[margin..<(margin + nw)]).map { $0 * scale }
    var calib = [Float](), ivar = [Float]()
    calib.reserveCapacity(nspec * nw); ivar.reserveCapacity(nspec * nw)
    for _ in 0..<nspec {
        for c in trimmed { calib.append(Float(c)); ivar.append(Float(1 / (c == 0 ? 1 : c * c))) }
    }
    var header = frame.header
    header.set(fluxCalibFallbackKey, true, comment: "average calibration scaled to the stars")
    header.set("FCFBWHY", String(reason.prefix(60)), comment: "why the fallback")
    header.set("FCFBSCAL", scale, comment: "scale of the average calibration (fallback)")
    header.set(fluxCalibSeeingKey, seeing, comment: "seeing FWHM of the fiber acceptance [arcsec]")
    return FluxCalibration(wave: frame.wave, calib: calib, ivar: ivar, mask: [UInt32](repeating: 1, count: nspec * nw),
                           meanCalib: trimmed, fiberCorr: fiberCorrection, stdstarFibermap: nil, header: header)
}
