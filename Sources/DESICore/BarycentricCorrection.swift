import FITS
import Foundation

/// The barycentric radial-velocity correction of desispec.heliocentric: astropy's
/// SkyCoord.radial_velocity_correction(kind="barycentric") toward an ICRS direction at a UTC MJD from a site,
/// i.e. Wright & Eastman (2014) eq. 28 without the Shapiro delay and the star's own motion:
/// z_b = gamma (1 + beta . n) / (1 + phi / c), v = c (z_b - 1), with beta the observer's barycentric velocity over c
/// (Earth from the epv00 series, plus the site's rotation) and phi the gravitational redshift at the observer
/// (Sun, Jupiter, Moon, Earth; as astropy's EarthLocation.gravitational_redshift, a negative velocity).
/// Wavelengths measured in the observatory frame are multiplied by 1 + v/c to be in the barycentric frame.
public enum BarycentricCorrection {
    /// Speed of light in m/s.
    public static let speedOfLight = 299_792_458.0
    /// Astronomical unit in metres (IAU 2012).
    static let astronomicalUnit = 149_597_870_700.0
    /// Gravitational parameters in m^3/s^2 as astropy's constants (IAU 2015 nominal; the Moon from its mass).
    static let gmSun = 1.3271244e20, gmEarth = 3.986004e14, gmJupiter = 1.2668653e17
    static let gmMoon = 6.67430e-11 * 7.34767309e22
    /// Mean Earth-Moon and Earth-Jupiter distances in metres: their terms are 4e-5 and 5e-4 m/s, so their
    /// distances' variations change the correction by under 0.2 mm/s.
    static let moonDistance = 3.844e8, jupiterDistance = 5.2 * astronomicalUnit

    /// The correction in m/s to add to a velocity measured at `site` toward (ra, dec) in degrees (ICRS) at the
    /// UTC modified Julian date `mjd`. Agrees with astropy within 1 m/s over 2020-2030 (a test checks it).
    public static func velocity(ra: Double, dec: Double, mjd: Double, site: ObservatorySite = .kittPeak) -> Double {
        let c = speedOfLight
        let earth = EarthEphemeris.state(mjd: TimeScales.ttMJD(utcMJD: mjd))
        let siteState = site.gcrsPositionVelocity(utcMJD: mjd)
        let beta = (earth.barycentricVelocity * (astronomicalUnit / 86_400) + siteState.velocity) / c
        let gamma = 1 / (1 - (beta * beta).sum()).squareRoot()
        let alpha = ra * .pi / 180, delta = dec * .pi / 180
        let n = SIMD3(cos(delta) * cos(alpha), cos(delta) * sin(alpha), sin(delta))
        let sunDistance = (earth.heliocentricPosition * earth.heliocentricPosition).sum().squareRoot() * astronomicalUnit
        let siteRadius = (siteState.position * siteState.position).sum().squareRoot()
        let redshift = -(gmEarth / siteRadius + gmMoon / moonDistance + gmJupiter / jupiterDistance
                         + gmSun / sunDistance) / c
        let zb = gamma * (1 + (beta * n).sum()) / (1 + redshift / c)
        return (zb - 1) * c
    }

    /// The multiplicative wavelength factor 1 + v/c (desispec.heliocentric.barycentric_velocity_multiplicative_corr).
    public static func factor(ra: Double, dec: Double, mjd: Double, site: ObservatorySite = .kittPeak) -> Double {
        1 + (velocity(ra: ra, dec: dec, mjd: mjd, site: site) / 1000) / (speedOfLight / 1000)
    }

    /// The pointing and mid-exposure time of a header as desispec.scripts.extract's
    /// barycentric_correction_multiplicative_factor reads them: RA from TARGTRA, SKYRA, TELRA or RA, Dec from
    /// TARGTDEC, SKYDEC, TELDEC or DEC (the first present), MJD-OBS or MJD plus EXPTIME/2 (0 without EXPTIME).
    /// Throws naming the missing keywords, or a keyword that is not a number. `source` names the header.
    public static func pointing(_ header: FITSHeader, source: String) throws -> (ra: Double, dec: Double, mjd: Double) {
        func first(_ keys: [String]) throws -> Double {
            guard let key = keys.first(where: { header[$0] != nil }) else {
                throw DESIError.badFile(path: source, problem: "barycentric correction needs one of "
                                        + keys.joined(separator: ", ") + " in the header")
            }
            guard let value = header.double(key) else {
                throw DESIError.badFile(path: source, problem: "header keyword \(key) is not a number")
            }
            return value
        }
        let ra = try first(["TARGTRA", "SKYRA", "TELRA", "RA"]), dec = try first(["TARGTDEC", "SKYDEC", "TELDEC", "DEC"])
        let mjd = try first(["MJD-OBS", "MJD"])
        let exptime = header["EXPTIME"] == nil ? 0 : try first(["EXPTIME"])
        return (ra, dec, mjd + exptime / 2 / 3600 / 24)
    }

    /// The multiplicative factor for the pointing and mid-exposure time of a header (see `pointing`).
    public static func factor(header: FITSHeader, source: String, site: ObservatorySite = .kittPeak) throws -> Double {
        let p = try pointing(header, source: source)
        return factor(ra: p.ra, dec: p.dec, mjd: p.mjd, site: site)
    }
}
