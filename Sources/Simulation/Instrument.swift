import DESICore
import Foundation

/// The telescope and spectrograph numbers the simulator uses to turn flux into electrons.
public struct Instrument: Sendable {
    /// Collecting area in cm2: M1 of 3.797 m less the 1.8 m central obscuration and the spiders, 8.678 m2
    /// (desimodel data/desi.yaml, area.geometric_area).
    public var areaCm2: Double = 8.678e4
    /// Fiber aperture on the sky, arcsec2 (107 um core, 1.52 arcsec diameter at the focal-plane plate scale).
    public var fiberAreaArcsec2: Double = Double.pi / 4 * 1.52 * 1.52
    /// Fraction of a point source's light that enters a fiber in typical 1.1 arcsec seeing.
    public var pointSourceFiberAcceptance: Double = 0.78
    /// Seeing FWHM [arcsec] of the position dependence of the fiber acceptance (desi_compute_fluxcalibration's
    /// default, so that the pipeline's FLAT_TO_PSF_FLUX undoes it; see `TargetSimulator.make`).
    public var seeingFWHM: Double = 1.1
    /// Same for a compact galaxy (0.45 arcsec half-light radius).
    public var galaxyFiberAcceptance: Double = 0.60
    /// Airmass of science exposures.
    public var airmass: Double = 1.0
    /// Scatter of the fiber-to-fiber relative throughput, and the largest offset drawn (draws beyond are redrawn).
    /// desispec's fiber-flat QA (qa_fiberflat with QA_Frame's defaults MAX_SCALE_OFF = MAX_MEAN_OFF = 0.05) calls a
    /// fiber whose throughput, once the focal-plane fiber area is divided out, is more than 5 % off the mean
    /// discrepant: a clean simulation stays inside that (the simulator's fibers all have one area). A fiber outside is
    /// a defect to inject on purpose.
    public var fiberThroughputRMS: Double = 0.015
    public var fiberThroughputMaxOffset: Double = 0.04

    public init() {}

    /// h c in erg Angstrom.
    public static let hcErgAngstrom = 6.62607015e-27 * 2.99792458e18

    /// Photons per Angstrom collected from a flux of 1 (in 1e-17 erg/s/cm2/A) at `wavelength` during `exptime`.
    public func photonsPerFluxUnit(wavelength: Double, exptime: Double) -> Double {
        1e-17 * wavelength / Instrument.hcErgAngstrom * areaCm2 * exptime
    }

    /// Wavelength range (Angstrom) of each arm, as desispec's default extraction grids.
    public static func wavelengthRange(_ arm: Camera.Arm) -> ClosedRange<Double> {
        switch arm {
        case .b: return 3600...5800
        case .r: return 5760...7620
        case .z: return 7520...9824
        }
    }

    /// Telescope + corrector + fiber + spectrograph + CCD throughput of an arm (no atmosphere, no fiber
    /// acceptance): a smooth curve with DESI-like peaks (b 0.32, r 0.38, z 0.30) falling at the dichroic edges
    /// and, in z, with the CCD's red QE cut-off.
    public static func throughput(_ arm: Camera.Arm, wavelength w: Double) -> Double {
        func edge(_ x: Double, _ at: Double, _ width: Double) -> Double { 1 / (1 + exp(-(x - at) / width)) }
        switch arm {
        case .b:
            let shape = 0.32 * (1 - 0.25 * pow((w - 4900) / 1300, 2))
            return max(0, shape) * edge(w, 3560, 25) * (1 - edge(w, 5790, 12))
        case .r:
            let shape = 0.38 * (1 - 0.15 * pow((w - 6700) / 1000, 2))
            return max(0, shape) * edge(w, 5780, 12) * (1 - edge(w, 7600, 12))
        case .z:
            let shape = 0.30 * (1 - 0.2 * pow((w - 8300) / 1200, 2)) * (1 - edge(w, 9700, 60))
            return max(0, shape) * edge(w, 7540, 12)
        }
    }
}
