import DESICore
import FITS
import Foundation

/// Writes simulated raw exposures in DESI's raw format (desi-EXPID.fits.fz, DESI-1229).
public enum RawExposureWriter {
    /// Primary header of a raw exposure with what desispec.io.read_raw and preproc need. `mjd` (MJD-OBS, the
    /// start of the exposure) defaults to DATE-OBS's time: 07:00 UTC the morning after `night`.
    public static func primaryHeader(night: Int, expid: Int, exptime: Double, flavor: String = "science",
                                     obstype: String = "SCIENCE", mjd: Double? = nil) -> FITSHeader {
        var h = FITSHeader()
        h.set("EXPID", expid, comment: "Exposure number")
        h.set("NIGHT", night, comment: "Observing night")
        h.set("EXPTIME", exptime, comment: "Exposure time [s]")
        h.set("FLAVOR", flavor, comment: "Exposure flavor")
        h.set("OBSTYPE", obstype.uppercased(), comment: "Observation type")
        h.set("DOSVER", "SIM", comment: "DOS software version")
        h.set("MJD-OBS", mjd ?? startMJD(night: night), comment: "Modified Julian Date of observation")
        h.set("DATE-OBS", dateObs(night: night), comment: "Date of observation (UTC)")
        h.set("INSTRUME", "DESI", comment: "Instrument")
        return h
    }

    /// The start of a simulated exposure: 07:00 UTC the morning after the evening of `night` (YYYYMMDD).
    static func startDate(night: Int) -> Date {
        var c = DateComponents()
        c.year = night / 10000; c.month = (night / 100) % 100; c.day = night % 100; c.hour = 7; c.minute = 0
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        return cal.date(byAdding: .day, value: 1, to: cal.date(from: c)!)!
    }

    /// MJD of `startDate` (MJD 40587 is 1970-01-01).
    public static func startMJD(night: Int) -> Double {
        40587 + startDate(night: night).timeIntervalSince1970 / 86_400
    }

    /// DATE-OBS in the UTC morning after the evening of `night` (YYYYMMDD), as KPNO observations are.
    public static func dateObs(night: Int) -> String {
        let d = startDate(night: night)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS"
        return f.string(from: d)
    }

    /// Writes `path` (usually desi-EXPID.fits.fz): an empty primary HDU named SPEC with `primaryHeader`, then one
    /// RICE-compressed UInt16 image HDU per camera named by the camera in upper case ("R0"), whose header holds the
    /// camera's keywords plus EXPID, NIGHT, EXPTIME, DATE-OBS from the primary header.
    public static func writeRawExposure(path: String, primaryHeader: FITSHeader, cameras: [RawCamera]) throws {
        try FITSFile.writeAtomically(path) { f in
            var ph = primaryHeader
            ph.addHistory(DESIProvenance.note("simulated raw exposure, cameras \(cameras.map(\.camera).joined(separator: ","))"))
            // named SPEC as the HDU of DESI raw files that carries these keys (desispec.io.read_raw needs an EXTNAME)
            try f.writeEmptyHDU(name: "SPEC", header: ph)
            for cam in cameras {
                var h = cam.header
                for key in ["EXPID", "NIGHT", "EXPTIME", "DATE-OBS", "MJD-OBS", "OBSTYPE", "FLAVOR", "DOSVER"] {
                    if h[key] == nil, let v = primaryHeader[key] { h.set(key, v, comment: primaryHeader.comment(key)) }
                }
                try f.writeImage(cam.data, shape: [cam.ny, cam.nx], name: cam.camera.uppercased(), header: h, compression: .rice)
            }
        }
    }
}
