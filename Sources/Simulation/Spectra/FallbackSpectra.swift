import Foundation
import PSF

/// Built-in spectra used when the data files of ../shared/data are not available, so that the simulator, the demo
/// and the core tests run anywhere. They are approximate but physical in shape and level.
public enum FallbackSpectra {

    /// Vacuum wavelength (Angstrom) of an air wavelength (PSF.ArcLamps.airToVacuum: Ciddor 1996 / Morton 2000).
    public static func airToVacuum(_ air: Double) -> Double { ArcLamps.airToVacuum(air) }

    /// DESI's measured arc lamp lines (vacuum, electrons per line in a 5 s arc): the list shipped with the PSF
    /// module (`ArcLamps.measured`), the default of the PSF fit (`desispec psf`). The resource is part of the
    /// build: its absence is a broken installation, not a case to fall back from.
    public static func arcLines() -> [SpectralLine] {
        do {
            return try ArcLamps.measured().map { SpectralLine(wavelength: $0.wavelength, flux: $0.intensity) }
        } catch {
            fatalError("\(error)")
        }
    }

    /// Night sky per arcsec2 in 1e-17 erg/s/cm2/A/arcsec2: a dark-time continuum (about 21.5 mag/arcsec2 in r,
    /// rising to the blue and red) plus the brightest OI, NaD, OH and O2 emission lines (air wavelengths, in vacuum).
    public static func sky() -> SpectrumModel {
        let wave = stride(from: 3400.0, through: 10600.0, by: 10.0).map { $0 }
        let flux = wave.map { w -> Double in
            let x = w / 6000
            return 0.08 * (0.6 / x + 0.5 * x * x) + (w > 8500 ? 0.05 * (w - 8500) / 1000 : 0)
        }
        var lines: [(Double, Double)] = [
            (5577.34, 60), (5889.95, 12), (5895.92, 10), (6300.30, 25), (6363.78, 8), (6498.73, 6), (6553.62, 5),
            (6863.96, 10), (6923.22, 6), (7316.28, 15), (7340.88, 14), (7369.25, 10), (7401.69, 6), (7794.11, 20),
            (7821.50, 14), (7913.71, 22), (7993.33, 25), (8344.60, 35), (8399.17, 30), (8430.17, 25), (8465.36, 22),
            (8827.10, 45), (8885.85, 40), (8919.63, 20), (8943.40, 30), (8958.08, 28), (9375.98, 40), (9439.66, 35),
            (9476.91, 20), (9567.59, 25), (9607.70, 20), (9700.00, 22), (9792.40, 18),
        ]
        // O2 atmospheric band at 8640-8680 (a comb of weak lines)
        for k in 0..<8 { lines.append((8640 + 5 * Double(k), 3)) }
        return SpectrumModel(wave: wave, flux: flux, lines: lines.map { SpectralLine(wavelength: airToVacuum($0.0), flux: $0.1) })
    }

    /// Zenith extinction in magnitudes per airmass at KPNO: Rayleigh + aerosol + ozone, approximately.
    public static func extinction() -> SpectrumModel {
        let wave = stride(from: 3200.0, through: 10600.0, by: 10.0).map { $0 }
        let k = wave.map { w -> Double in
            let um = w / 1e4
            let rayleigh = 0.0088 * pow(um, -4.05)
            let aerosol = 0.05 * pow(um / 0.55, -1.3)
            let ozone = 0.03 * exp(-0.5 * pow((w - 6000) / 500, 2))
            let telluricA = 0.3 * exp(-0.5 * pow((w - 7620) / 15, 2))
            let water = 0.2 * exp(-0.5 * pow((w - 9350) / 120, 2))
            return rayleigh + aerosol + ozone + telluricA + water
        }
        return SpectrumModel(wave: wave, flux: k)
    }

    /// Planck function B_lambda(T) normalised to 1 at 5500 A.
    public static func blackbody(temperature t: Double, wave: [Double]) -> [Double] {
        let c2 = 1.438776877e8 // h c / k in Angstrom K
        func b(_ w: Double) -> Double { 1 / (pow(w, 5) * (exp(c2 / (w * t)) - 1)) }
        let n = b(5500)
        return wave.map { b($0) / n }
    }

    /// The flat lamp (3100 K quartz-iodine) in 1e-17 erg/s/cm2/A/arcsec2, at the level of the real lamp file.
    public static func flatLamp() -> SpectrumModel {
        let wave = stride(from: 3500.0, through: 10300.0, by: 5.0).map { $0 }
        return SpectrumModel(wave: wave, flux: blackbody(temperature: 3100, wave: wave).map { $0 * 20000 })
    }
}
