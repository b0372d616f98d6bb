import DESICore
import Foundation

/// The simulated instrument's average flux calibration of one camera, in the layout of desispec's
/// DESI_SPECTRO_CALIB fluxcalib files (desispec.averagefluxcalibration.AverageFluxCalib): what
/// desi_average_flux_calibration would derive from many nights of this instrument. Electrons per Angstrom per second
/// per unit flux (1e-17 erg/s/cm2/A) of a point source at the field centre, at the pivot airmass 1 and the
/// instrument's seeing: area x photons per erg x the arm's throughput x the point-source fiber acceptance x the
/// zenith extinction; ATERM is the zenith extinction curve (magnitudes per airmass), STERM is zero (the simulator's
/// acceptance does not change with the seeing, only its position dependence does). Fiber-to-fiber throughputs average
/// to one, so they are not in it.
public enum NominalFluxCalibration {
    /// The average calibration of `arm` on the simulator's 0.8 A truth grid, extended by 12 steps (9.6 A) each side
    /// (the nodes coincide with the truth's, so the extinction's telluric bands are sampled as the truth samples them).
    public static func make(arm: Camera.Arm, instrument: Instrument, inputs: SpectralInputs) -> AverageFluxCalibration {
        let range = Instrument.wavelengthRange(arm)
        let wave = (-12..<(ExposureSimulator.truthWave(arm).count + 12)).map { range.lowerBound + 0.8 * Double($0) }
        let k = inputs.extinction.evaluate(at: wave)
        let pivotAirmass = 1.0
        let calib = wave.indices.map { j in
            instrument.photonsPerFluxUnit(wavelength: wave[j], exptime: 1) * Instrument.throughput(arm, wavelength: wave[j])
                * instrument.pointSourceFiberAcceptance * pow(10, -0.4 * k[j] * pivotAirmass)
        }
        return AverageFluxCalibration(wave: wave, averageCalib: calib, atmosphericExtinction: k,
                                      seeingTerm: [Double](repeating: 0, count: wave.count),
                                      pivotAirmass: pivotAirmass, pivotSeeing: instrument.seeingFWHM)
    }
}
