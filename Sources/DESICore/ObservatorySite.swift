import Foundation

/// An observatory on the WGS84 ellipsoid, and its geocentric position and velocity from Earth's rotation in the
/// GCRS: what astropy's EarthLocation.get_gcrs_posvel gives to the barycentric correction.
public struct ObservatorySite: Sendable, Equatable {
    /// Geodetic latitude and east longitude in degrees, height above the ellipsoid in metres.
    public var latitude: Double
    public var longitude: Double
    public var height: Double

    public init(latitude: Double, longitude: Double, height: Double) {
        self.latitude = latitude; self.longitude = longitude; self.height = height
    }

    /// The Mayall telescope at Kitt Peak as desispec.heliocentric defines it (`kpno`).
    public static let kittPeak = ObservatorySite(latitude: 31.96403, longitude: -111.59989, height: 2097)

    /// Earth's rotation rate in rad/s (astropy's OMEGA_EARTH: 1.00273781191135448 turns per UT1 day).
    public static let earthRotationRate = 2 * Double.pi * 1.00273781191135448 / 86_400

    /// Terrestrial (ITRS) geocentric position in metres on the WGS84 ellipsoid.
    public var terrestrialPosition: SIMD3<Double> {
        let a = 6_378_137.0, f = 1 / 298.257223563
        let e2 = f * (2 - f)
        let phi = latitude * .pi / 180, lambda = longitude * .pi / 180
        let n = a / (1 - e2 * sin(phi) * sin(phi)).squareRoot()
        return SIMD3((n + height) * cos(phi) * cos(lambda), (n + height) * cos(phi) * sin(lambda),
                     (n * (1 - e2) + height) * sin(phi))
    }

    /// GCRS position (m) and velocity (m/s) from Earth's rotation at a UTC MJD. The terrestrial position is
    /// turned by the Greenwich mean sidereal time (IAU 2006, from the Earth rotation angle with UT1 = UTC) into
    /// the mean equator of date, where the velocity is omega z x r, and both are taken back to the J2000 axes by
    /// the IAU 1976 precession. Left out, as each moves the velocity by under 0.05 m/s: nutation (< 2e-4 rad in
    /// angle), polar motion (< 1 arcsec), UT1 - UTC (< 0.9 s of rotation) and the 23 mas frame bias.
    public func gcrsPositionVelocity(utcMJD: Double) -> (position: SIMD3<Double>, velocity: SIMD3<Double>) {
        let ttMJD = TimeScales.ttMJD(utcMJD: utcMJD)
        let theta = Self.meanSiderealTime(ut1MJD: utcMJD, ttMJD: ttMJD)
        let r = terrestrialPosition
        let mean = SIMD3(r.x * cos(theta) - r.y * sin(theta), r.x * sin(theta) + r.y * cos(theta), r.z)
        let omega = Self.earthRotationRate
        let velocity = SIMD3(-omega * mean.y, omega * mean.x, 0)
        let p = Self.precessionFromJ2000(ttMJD: ttMJD)
        return (p.transposeTimes(mean), p.transposeTimes(velocity))
    }

    /// Greenwich mean sidereal time in radians (IAU 2006: Earth rotation angle plus the precession polynomial).
    static func meanSiderealTime(ut1MJD: Double, ttMJD: Double) -> Double {
        let du = ut1MJD - 51_544.5
        let fraction = du.truncatingRemainder(dividingBy: 1)
        let era = 2 * Double.pi * (fraction + 0.7790572732640 + 0.00273781191135448 * du)
        let t = (ttMJD - 51_544.5) / 36_525
        let arcsec = 0.014506 + t * (4612.156534 + t * (1.3915817 + t * (-0.00000044 + t * -0.000029956)))
        return (era + arcsec * .pi / 648_000).truncatingRemainder(dividingBy: 2 * .pi)
    }

    /// The IAU 1976 precession matrix from the J2000 mean equator to the mean equator of date (Lieske et al.
    /// 1977): R3(-z) R2(theta) R3(-zeta).
    static func precessionFromJ2000(ttMJD: Double) -> Rotation3 {
        let t = (ttMJD - 51_544.5) / 36_525
        let toRad = Double.pi / 648_000
        let zeta = t * (2306.2181 + t * (0.30188 + t * 0.017998)) * toRad
        let z = t * (2306.2181 + t * (1.09468 + t * 0.018203)) * toRad
        let theta = t * (2004.3109 + t * (-0.42665 + t * -0.041833)) * toRad
        return Rotation3.aboutZ(-z) * Rotation3.aboutY(theta) * Rotation3.aboutZ(-zeta)
    }
}

/// A 3x3 rotation matrix (rows), with the conventions of SOFA's Rx/Ry/Rz: R3(a) turns the axes by a about z.
struct Rotation3: Sendable {
    var rows: (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>)

    static func aboutZ(_ a: Double) -> Rotation3 {
        Rotation3(rows: (SIMD3(cos(a), sin(a), 0), SIMD3(-sin(a), cos(a), 0), SIMD3(0, 0, 1)))
    }

    static func aboutY(_ a: Double) -> Rotation3 {
        Rotation3(rows: (SIMD3(cos(a), 0, -sin(a)), SIMD3(0, 1, 0), SIMD3(sin(a), 0, cos(a))))
    }

    static func * (l: Rotation3, r: Rotation3) -> Rotation3 {
        let c0 = SIMD3(r.rows.0.x, r.rows.1.x, r.rows.2.x), c1 = SIMD3(r.rows.0.y, r.rows.1.y, r.rows.2.y)
        let c2 = SIMD3(r.rows.0.z, r.rows.1.z, r.rows.2.z)
        func row(_ v: SIMD3<Double>) -> SIMD3<Double> { SIMD3((v * c0).sum(), (v * c1).sum(), (v * c2).sum()) }
        return Rotation3(rows: (row(l.rows.0), row(l.rows.1), row(l.rows.2)))
    }

    /// The transpose (inverse) applied to a vector.
    func transposeTimes(_ v: SIMD3<Double>) -> SIMD3<Double> { rows.0 * v.x + rows.1 * v.y + rows.2 * v.z }
}
