import Foundation
import LinearAlgebra

/// An emission (or, with negative flux, absorption) line: integrated flux, centre and Gaussian width in Angstrom.
/// A width of zero is an unresolved line (all its flux at `wavelength`).
public struct SpectralLine: Sendable, Equatable {
    public var wavelength: Double
    public var flux: Double
    public var sigma: Double
    public init(wavelength: Double, flux: Double, sigma: Double = 0) {
        self.wavelength = wavelength; self.flux = flux; self.sigma = sigma
    }
}

/// A spectrum as the simulator uses it: a tabulated density (piecewise linear between samples, zero outside
/// them) plus analytic lines. Units are whatever the caller keeps (1e-17 erg/s/cm2/A, per arcsec2, electrons/A).
public struct SpectrumModel: Sendable {
    public var wave: [Double]
    public var flux: [Double]
    public var lines: [SpectralLine]

    public init(wave: [Double] = [], flux: [Double] = [], lines: [SpectralLine] = []) {
        precondition(wave.count == flux.count, "SpectrumModel: wave and flux must have the same length")
        self.wave = wave; self.flux = flux; self.lines = lines
    }

    /// The density at the given wavelengths, lines included (Gaussian profiles; unresolved lines omitted).
    public func evaluate(at w: [Double]) -> [Double] {
        var out = wave.isEmpty ? [Double](repeating: 0, count: w.count) : Interpolation.linear(x: wave, y: flux, at: w, left: 0, right: 0)
        for l in lines where l.sigma > 0 {
            let norm = l.flux / (l.sigma * (2 * Double.pi).squareRoot())
            for i in w.indices {
                let d = (w[i] - l.wavelength) / l.sigma
                if abs(d) < 8 { out[i] += norm * exp(-0.5 * d * d) }
            }
        }
        return out
    }

    /// Integrals of the spectrum over each bin [edges[k], edges[k+1]]: (∫ f dλ, ∫ λ f dλ), exact for the tabulated
    /// part and the lines.
    public func binMoments(edges: [Double]) -> (integral: [Double], firstMoment: [Double]) {
        var m = wave.count >= 2 ? Interpolation.binMoments(x: wave, y: flux, edges: edges)
                                : ([Double](repeating: 0, count: max(edges.count - 1, 0)),
                                   [Double](repeating: 0, count: max(edges.count - 1, 0)))
        guard edges.count >= 2 else { return m }
        edges.withUnsafeBufferPointer { e in
            let nb = e.count - 1
            for l in lines {
                if l.sigma <= 0 {
                    let k = Interpolation.upperBound(e, l.wavelength) - 1
                    if k >= 0 && k < nb { m.0[k] += l.flux; m.1[k] += l.flux * l.wavelength }
                    continue
                }
                let lo = l.wavelength - 8 * l.sigma, hi = l.wavelength + 8 * l.sigma
                var k = max(Interpolation.upperBound(e, lo) - 1, 0)
                let s2 = l.sigma * 2.0.squareRoot()
                let g = 1 / (l.sigma * (2 * Double.pi).squareRoot())
                while k < nb && e[k] < hi {
                    let a = (e[k] - l.wavelength) / s2, b = (e[k + 1] - l.wavelength) / s2
                    let frac = 0.5 * (erf(b) - erf(a))
                    // ∫ λ G = μ ∫ G + σ² (G(a) - G(b)) for a unit Gaussian G of mean μ
                    let ga = g * exp(-a * a), gb = g * exp(-b * b)
                    m.0[k] += l.flux * frac
                    m.1[k] += l.flux * (l.wavelength * frac + l.sigma * l.sigma * (ga - gb))
                    k += 1
                }
            }
        }
        return m
    }

    /// The spectrum times a constant.
    public func scaled(by factor: Double) -> SpectrumModel {
        SpectrumModel(wave: wave, flux: flux.map { $0 * factor },
                      lines: lines.map { SpectralLine(wavelength: $0.wavelength, flux: $0.flux * factor, sigma: $0.sigma) })
    }

    /// The spectrum as seen from a frame where wavelengths are `factor` times shorter (lambda / factor): the density
    /// per Angstrom keeps its value at corresponding wavelengths, as desispec's barycentric correction only rescales
    /// the wavelengths of an extracted frame (lines keep their peak density: flux and width both divided).
    public func wavelengthsDivided(by factor: Double) -> SpectrumModel {
        SpectrumModel(wave: wave.map { $0 / factor }, flux: flux,
                      lines: lines.map { SpectralLine(wavelength: $0.wavelength / factor, flux: $0.flux / factor,
                                                      sigma: $0.sigma / factor) })
    }

    /// The tabulated part multiplied by a function of wavelength (lines multiplied at their centres).
    public func multiplied(by f: (Double) -> Double) -> SpectrumModel {
        SpectrumModel(wave: wave, flux: zip(wave, flux).map { $1 * f($0) },
                      lines: lines.map { SpectralLine(wavelength: $0.wavelength, flux: $0.flux * f($0.wavelength), sigma: $0.sigma) })
    }

    /// The sum of two spectra, tabulated on the union of their grids.
    public static func + (a: SpectrumModel, b: SpectrumModel) -> SpectrumModel {
        if a.wave.isEmpty { return SpectrumModel(wave: b.wave, flux: b.flux, lines: a.lines + b.lines) }
        if b.wave.isEmpty { return SpectrumModel(wave: a.wave, flux: a.flux, lines: a.lines + b.lines) }
        let grid = Array(Set(a.wave + b.wave)).sorted()
        let fa = Interpolation.linear(x: a.wave, y: a.flux, at: grid, left: 0, right: 0)
        let fb = Interpolation.linear(x: b.wave, y: b.flux, at: grid, left: 0, right: 0)
        return SpectrumModel(wave: grid, flux: zip(fa, fb).map(+), lines: a.lines + b.lines)
    }
}
