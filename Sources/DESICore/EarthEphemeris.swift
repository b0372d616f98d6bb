import Foundation

/// Earth's heliocentric position and barycentric velocity from the IAU SOFA `epv00` model (Fundamentals of
/// Astronomy library, SOFA Board of the IAU; the same series as ERFA's eraEpv00, which astropy's "builtin"
/// solar-system ephemeris uses): harmonic series fitted to JPL DE405 over 1900-2100, in the BCRS, with position
/// errors of a few km and velocity errors under 1 cm/s against DE405. The coefficients are in
/// EarthEphemerisSeries.swift, generated from ERFA's epv00.c by scripts/make_epv00_series.py.
public enum EarthEphemeris {
    /// One term a cos(b + c t): amplitude (au), phase (rad), frequency (rad per Julian year).
    struct Term: Sendable {
        let amplitude, phase, frequency: Double
    }

    /// The series of one body ("e": Sun to Earth, "s": barycentre to Sun) for x, y, z and powers t^0, t^1, t^2:
    /// `terms[axis][power]`.
    struct Series: Sendable {
        let sunToEarth: [[[Term]]]
        let barycentreToSun: [[[Term]]]
    }

    /// The epv00 state: positions in au, velocities in au per day, BCRS axes.
    public struct State: Sendable {
        public var heliocentricPosition: SIMD3<Double>
        public var heliocentricVelocity: SIMD3<Double>
        public var barycentricPosition: SIMD3<Double>
        public var barycentricVelocity: SIMD3<Double>
    }

    /// Days per Julian year; MJD of J2000.0.
    static let daysPerYear = 365.25
    static let j2000MJD = 51_544.5

    static let series: Series = parseSeries(earthEphemerisSeriesText)

    /// Earth's state at a TDB (or TT: the difference is under 2 ms) modified Julian date.
    public static func state(mjd: Double) -> State {
        let t = (mjd - j2000MJD) / daysPerYear
        var ph = SIMD3<Double>(), vh = SIMD3<Double>(), pb = SIMD3<Double>(), vb = SIMD3<Double>()
        for axis in 0..<3 {
            let helio = sum(series.sunToEarth[axis], t: t)
            let sun = sum(series.barycentreToSun[axis], t: t)
            ph[axis] = helio.position; vh[axis] = helio.velocity / daysPerYear
            pb[axis] = helio.position + sun.position; vb[axis] = (helio.velocity + sun.velocity) / daysPerYear
        }
        return State(heliocentricPosition: eclipticToBCRS(ph), heliocentricVelocity: eclipticToBCRS(vh),
                     barycentricPosition: eclipticToBCRS(pb), barycentricVelocity: eclipticToBCRS(vb))
    }

    /// Sum of the t^0, t^1, t^2 series of one axis and its time derivative (per Julian year).
    private static func sum(_ powers: [[Term]], t: Double) -> (position: Double, velocity: Double) {
        var position = 0.0, velocity = 0.0
        for (power, terms) in powers.enumerated() {
            let tp = power == 0 ? 1 : (power == 1 ? t : t * t)
            let dtp = power == 0 ? 0 : (power == 1 ? 1 : 2 * t)
            for term in terms {
                let p = term.phase + term.frequency * t
                let c = term.amplitude * cos(p), s = term.amplitude * term.frequency * sin(p)
                position += tp * c
                velocity += dtp * c - tp * s
            }
        }
        return (position, velocity)
    }

    /// The series' ecliptic axes to the BCRS (epv00's rotation, which orients the model to DE405).
    private static func eclipticToBCRS(_ v: SIMD3<Double>) -> SIMD3<Double> {
        let am12 = 0.000000211284, am13 = -0.000000091603, am21 = -0.000000230286
        let am22 = 0.917482137087, am23 = -0.397776982902, am32 = 0.397776982902, am33 = 0.917482137087
        return SIMD3(v.x + am12 * v.y + am13 * v.z, am21 * v.x + am22 * v.y + am23 * v.z, am32 * v.y + am33 * v.z)
    }

    /// Reads the "#e0x" ... "#s2z" blocks of amplitude-phase-frequency lines.
    static func parseSeries(_ text: String) -> Series {
        var blocks: [String: [Term]] = [:]
        var current = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                current = String(line.dropFirst())
                blocks[current] = []
                continue
            }
            let v = line.split(separator: " ").compactMap { Double($0) }
            precondition(v.count == 3, "epv00 series: bad line '\(line)'")
            blocks[current, default: []].append(Term(amplitude: v[0], phase: v[1], frequency: v[2]))
        }
        func body(_ prefix: String) -> [[[Term]]] {
            ["x", "y", "z"].map { axis in (0..<3).map { blocks["\(prefix)\($0)\(axis)"] ?? [] } }
        }
        return Series(sunToEarth: body("e"), barycentreToSun: body("s"))
    }
}
