/// The time scales the barycentric correction needs: UTC (the MJD of DESI headers) to TT (the ephemeris argument;
/// TDB differs from TT by under 2 ms, i.e. under 0.02 mm/s of Earth's velocity).
public enum TimeScales {
    /// TT - TAI in seconds.
    public static let ttMinusTAI = 32.184

    /// TAI - UTC in seconds from the UTC MJD at which each value starts (IERS Bulletin C), since 1972.
    static let leapSeconds: [(mjd: Double, seconds: Double)] = [
        (41317, 10), (41499, 11), (41683, 12), (42048, 13), (42413, 14), (42778, 15), (43144, 16), (43509, 17),
        (43874, 18), (44239, 19), (44786, 20), (45151, 21), (45516, 22), (46247, 23), (47161, 24), (47892, 25),
        (48257, 26), (48804, 27), (49169, 28), (49534, 29), (50083, 30), (50630, 31), (51179, 32), (53736, 33),
        (54832, 34), (56109, 35), (57204, 36), (57754, 37),
    ]

    /// TAI - UTC in seconds at a UTC MJD (10 s before 1972; the last value after the table's end, as astropy
    /// does for dates past its leap-second table).
    public static func taiMinusUTC(mjd: Double) -> Double {
        leapSeconds.last { $0.mjd <= mjd }?.seconds ?? leapSeconds[0].seconds
    }

    /// The TT MJD of a UTC MJD.
    public static func ttMJD(utcMJD mjd: Double) -> Double {
        mjd + (taiMinusUTC(mjd: mjd) + ttMinusTAI) / 86_400
    }
}
