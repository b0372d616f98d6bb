import FITS
import Foundation

/// The average throughput of a camera (desispec.averagefluxcalibration.AverageFluxCalib, the fluxcalib-average files
/// of DESI_SPECTRO_CALIB): electrons per 1e-17 erg/cm2 at a pivot airmass and seeing, with the atmospheric
/// extinction and seeing terms in magnitudes per unit airmass / arcsec. The flux calibration falls back on it,
/// scaled to the stars, when a petal's standards cannot be fitted.
public struct AverageFluxCalibration: Sendable {
    public var wave: [Double]
    public var averageCalib: [Double]
    public var atmosphericExtinction: [Double]
    public var seeingTerm: [Double]
    public var pivotAirmass: Double
    public var pivotSeeing: Double

    public init(wave: [Double], averageCalib: [Double], atmosphericExtinction: [Double], seeingTerm: [Double],
                pivotAirmass: Double = 1, pivotSeeing: Double = 1.1) {
        self.wave = wave; self.averageCalib = averageCalib; self.atmosphericExtinction = atmosphericExtinction
        self.seeingTerm = seeingTerm; self.pivotAirmass = pivotAirmass; self.pivotSeeing = pivotSeeing
    }

    /// Calibration at this airmass and seeing [electrons per 1e-17 erg/cm2] (AverageFluxCalib.value).
    public func value(airmass: Double = 1, seeing: Double = 1.1) -> [Double] {
        (0..<wave.count).map { j in
            averageCalib[j] * pow(10, -0.4 * ((seeing - pivotSeeing) * seeingTerm[j] + (airmass - pivotAirmass) * atmosphericExtinction[j]))
        }
    }

    /// Reads desispec's layout: HDU 0 the average calibration, ATERM (header PAIRMASS), STERM (header PSEEING),
    /// WAVELENGTH.
    public static func read(_ path: String) throws -> AverageFluxCalibration {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try ProductFileChecks.requireHDUs(["ATERM", "STERM", "WAVELENGTH"], in: f, path: path, product: "average flux calibration")
        try f.moveTo(index: 0)
        let cal = try f.readImage(as: Double.self).data
        let aterm = try f.readImage("ATERM", as: Double.self)
        let sterm = try f.readImage("STERM", as: Double.self)
        let wave = try f.readImage("WAVELENGTH", as: Double.self).data
        guard !wave.isEmpty, cal.count == wave.count, aterm.data.count == wave.count, sterm.data.count == wave.count else {
            throw DESIError.badFile(path: path, problem: "calibration (\(cal.count)), ATERM (\(aterm.data.count)), STERM "
                                    + "(\(sterm.data.count)) and WAVELENGTH (\(wave.count)) must have the same length")
        }
        guard let pa = aterm.header.double("PAIRMASS"), let ps = sterm.header.double("PSEEING") else {
            throw DESIError.badFile(path: path, problem: "no PAIRMASS in ATERM or no PSEEING in STERM")
        }
        return AverageFluxCalibration(wave: wave, averageCalib: cal, atmosphericExtinction: aterm.data, seeingTerm: sterm.data,
                                      pivotAirmass: pa, pivotSeeing: ps)
    }

    /// Writes desispec's layout (see `read`), atomically.
    public func write(_ path: String) throws {
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(averageCalib.map { Float($0) }, shape: [wave.count])
            var ha = FITSHeader(); ha.set("PAIRMASS", pivotAirmass, comment: "pivot airmass")
            try f.writeImage(atmosphericExtinction.map { Float($0) }, shape: [wave.count], name: "ATERM", header: ha)
            var hs = FITSHeader(); hs.set("PSEEING", pivotSeeing, comment: "pivot seeing FWHM [arcsec]")
            try f.writeImage(seeingTerm.map { Float($0) }, shape: [wave.count], name: "STERM", header: hs)
            try f.writeImage(wave, shape: [wave.count], name: "WAVELENGTH")
        }
    }
}
