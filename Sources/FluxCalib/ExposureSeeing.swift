import DESICore
import FITS

/// The seeing of an exposure for the fiber-acceptance corrections (FLAT_TO_PSF_FLUX, PSF_TO_FIBER_FLUX) and the
/// seeing term of the average calibration.
///
/// desispec records an exposure's seeing as the SEEING keyword of its headers (FWHM in arcsec, copied from the raw
/// data into frames and calibrations, desidatamodel); PMSEEING (the platemaker's) is the next choice and 1.1" the
/// last, with a warning, in that order in desispec.scripts.qproc. desi_compute_fluxcalibration itself takes
/// `--seeing-fwhm` (default 1.1, desi_proc passes none); here an explicit value still wins, and without one the
/// header's is used.
public enum ExposureSeeing {
    /// desi_compute_fluxcalibration's default, used when the exposure records no seeing.
    public static let defaultFWHM = 1.1

    /// The seeing FWHM [arcsec]: `explicit` if given, else the header's SEEING, else PMSEEING (each only when finite
    /// and positive), else 1.1 with a warning. `source` says which.
    public static func fwhm(header: FITSHeader, explicit: Double? = nil) -> (fwhm: Double, source: String, warning: String?) {
        if let v = explicit { return (v, "--seeing-fwhm", nil) }
        for key in ["SEEING", "PMSEEING"] {
            if let v = header.double(key), v.isFinite, v > 0 { return (v, "header \(key)", nil) }
        }
        return (defaultFWHM, "default",
                "no seeing recorded (no positive SEEING or PMSEEING in the header): fiber acceptance at 1.1 arcsec FWHM")
    }
}
