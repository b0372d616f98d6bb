import DESICore
import Foundation
import LinearAlgebra

/// The simulator's use of DESICore's `FilterCurve`: DECam g, r, z named by their band, analytic stand-ins, and the
/// flux of a `SpectrumModel` through a filter.
extension FilterCurve {
    /// The simulator names its DECam filters "g", "r", "z" (see `SpectralInputs`).
    public var band: String { name }

    /// Approximate DECam g, r, z (smooth-edged top hats with the real cut-on/cut-off wavelengths and peak ~0.8),
    /// used when the ECSV files are absent.
    public static func builtinDECam() -> [FilterCurve] {
        func curve(_ band: String, _ lo: Double, _ hi: Double, _ peak: Double) -> FilterCurve {
            let w = stride(from: lo - 300, through: hi + 300, by: 5.0).map { $0 }
            let r = w.map { x in peak / ((1 + exp(-(x - lo) / 40)) * (1 + exp((x - hi) / 40))) }
            return FilterCurve(name: band, wave: w, response: r)
        }
        return [curve("g", 4000, 5500, 0.75), curve("r", 5650, 7100, 0.8), curve("z", 8500, 10000, 0.5)]
    }

    /// AB flux in nanomaggies of a spectrum given in 1e-17 erg/s/cm2/A: the photon-weighted mean f_nu,
    /// ∫ f_λ R λ dλ / ∫ R c/λ dλ, over 3631 Jy, times 1e9 (speclite's convention, which desispec's
    /// fluxcalibration uses for the standard-star magnitudes). Integrated on a 1 A grid over the filter.
    public func nanomaggies(of spectrum: SpectrumModel) -> Double {
        guard let lo = wave.first, let hi = wave.last else { return 0 }
        let grid = stride(from: lo, through: hi, by: 1.0).map { $0 }
        let edges = Interpolation.edges(centers: grid)
        let m = spectrum.binMoments(edges: edges)
        let r = Interpolation.linear(x: wave, y: response, at: grid, left: 0, right: 0)
        let c = 2.99792458e18 // Angstrom/s
        var num = 0.0, den = 0.0
        for k in grid.indices {
            num += r[k] * grid[k] * m.integral[k] * 1e-17
            den += r[k] * c / grid[k] * (edges[k + 1] - edges[k])
        }
        guard den > 0 else { return 0 }
        return num / den / 3631e-23 * 1e9
    }
}
