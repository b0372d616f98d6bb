import DESICore
import Foundation

/// Spectra of the targets: standard stars from the templates, emission-line galaxies and quasars, all in
/// 1e-17 erg/s/cm2/A above the atmosphere, scaled to an AB magnitude in a filter.
public enum ObjectSpectra {
    static let c = 299_792.458 // km/s

    /// Scales `spectrum` so that its AB magnitude through `filter` is `magnitude`.
    public static func normalized(_ spectrum: SpectrumModel, magnitude: Double, filter: FilterCurve) -> SpectrumModel {
        let nmgy = filter.nanomaggies(of: spectrum)
        guard nmgy > 0 else { return spectrum }
        return spectrum.scaled(by: pow(10, -0.4 * (magnitude - 22.5)) / nmgy)
    }

    /// A star: template `index`, at AB magnitude `rmag` in the r filter.
    public static func star(templates: StellarTemplates, index: Int, rmag: Double, rFilter: FilterCurve) -> SpectrumModel {
        // keep the optical and near-IR part only (the templates extend from 1300 A to 6.5 um)
        let keep = templates.wave.indices.filter { templates.wave[$0] >= 3000 && templates.wave[$0] <= 11500 }
        let flux = templates.spectrum(index)
        let s = SpectrumModel(wave: keep.map { templates.wave[$0] }, flux: keep.map { flux[$0] })
        return normalized(s, magnitude: rmag, filter: rFilter)
    }

    /// An emission-line galaxy at redshift `z`: a red-sloped continuum with a 4000 A break and [OII], Hb, [OIII],
    /// Ha, [NII], [SII] lines of velocity dispersion `sigmaV` km/s; `oiiFlux` is the [OII] doublet total
    /// (1e-17 erg/s/cm2) and the continuum is scaled to `rmag`.
    public static func galaxy(z: Double, rmag: Double, oiiFlux: Double, sigmaV: Double = 70, rFilter: FilterCurve) -> SpectrumModel {
        let wave = stride(from: 3000.0, through: 11500.0, by: 4.0).map { $0 }
        let flux = wave.map { w -> Double in
            let rest = w / (1 + z)
            let brk = rest < 4000 ? 0.55 : 1.0
            return brk * pow(w / 6000, -1.0)
        }
        let cont = normalized(SpectrumModel(wave: wave, flux: flux), magnitude: rmag, filter: rFilter)
        // rest vacuum wavelengths and fluxes relative to the [OII] doublet total
        let rest: [(Double, Double)] = [(3727.09, 0.45), (3729.88, 0.55), (4862.68, 0.35), (4960.30, 0.17), (5008.24, 0.5),
                                        (6564.61, 1.0), (6585.27, 0.3), (6718.29, 0.15), (6732.67, 0.11)]
        let lines = rest.map { l -> SpectralLine in
            let w = l.0 * (1 + z)
            return SpectralLine(wavelength: w, flux: oiiFlux * l.1, sigma: w * sigmaV / c)
        }
        return SpectrumModel(wave: cont.wave, flux: cont.flux, lines: lines)
    }

    /// A quasar at redshift `z`: a power law f_nu ∝ nu^-0.5 with broad Lya, CIV, CIII], MgII, Hb, Ha lines of
    /// 4000 km/s FWHM (rest equivalent widths 100, 40, 20, 30, 60, 200 A) and Lya forest absorption, at `rmag`.
    public static func qso(z: Double, rmag: Double, rFilter: FilterCurve) -> SpectrumModel {
        let wave = stride(from: 3000.0, through: 11500.0, by: 4.0).map { $0 }
        let lya = 1215.67 * (1 + z)
        let flux = wave.map { w -> Double in pow(w / 6000, -1.5) * (w < lya ? 0.7 : 1.0) }
        let cont = normalized(SpectrumModel(wave: wave, flux: flux), magnitude: rmag, filter: rFilter)
        let rest: [(Double, Double)] = [(1215.67, 100), (1549.06, 40), (1908.73, 20), (2799.12, 30), (4862.68, 60), (6564.61, 200)]
        let lines = rest.compactMap { l -> SpectralLine? in
            let w = l.0 * (1 + z)
            guard w > 3000 && w < 11500 else { return nil }
            let contAt = cont.evaluate(at: [w])[0]
            return SpectralLine(wavelength: w, flux: l.1 * (1 + z) * contAt, sigma: w * 4000 / 2.3548 / c)
        }
        return SpectrumModel(wave: cont.wave, flux: cont.flux, lines: lines)
    }
}
