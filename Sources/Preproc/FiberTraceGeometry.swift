import DESICore
import Foundation
import LinearAlgebra

/// Where each fiber's trace crosses each CCD row, as the preprocessing's image model and background fit need it
/// (desispec.xytraceset.XYTraceSet seen row by row): the trace centre x, the wavelength and the cross-dispersion
/// sigma per (fiber, row). Built from any trace description (a PSF's x(fiber, wave), y(fiber, wave)) so that this
/// module does not depend on the PSF module.
public struct FiberTraceGeometry: Sendable {
    public let nspec: Int
    public let ny: Int
    /// [nspec * ny]: x of the trace centre at row y (pixels), wavelength at row y (Angstrom), cross-dispersion sigma.
    public let x: [Double]
    public let wave: [Double]
    /// nil: the traces give no sigma (desispec then uses 1 pixel).
    public let xsig: [Double]?

    public init(nspec: Int, ny: Int, x: [Double], wave: [Double], xsig: [Double]?) {
        precondition(x.count == nspec * ny && wave.count == nspec * ny && (xsig?.count ?? nspec * ny) == nspec * ny)
        self.nspec = nspec; self.ny = ny; self.x = x; self.wave = wave; self.xsig = xsig
    }

    /// Samples the traces as desispec.qproc.qextract.qproc_boxcar_extraction does: y(wave) and x(wave) on ny / 4
    /// wavelengths between wavemin and wavemax, interpolated linearly at each row; the wavelength is extrapolated
    /// linearly beyond the first and last samples. `xsig(fiber, wave)`: sigma at that wavelength, nil: none.
    public static func sample(nspec: Int, ny: Int, wavemin: Double, wavemax: Double,
                              x: (Int, Double) -> Double, y: (Int, Double) -> Double,
                              xsig: ((Int, Double) -> Double)?) -> FiberTraceGeometry {
        let nt = max(2, ny / 4)
        let twave = (0..<nt).map { wavemin + (wavemax - wavemin) * Double($0) / Double(nt - 1) }
        var xs = [Double](repeating: 0, count: nspec * ny), ws = xs
        var ss: [Double]? = xsig == nil ? nil : xs
        for f in 0..<nspec {
            let ty = twave.map { y(f, $0) }, tx = twave.map { x(f, $0) }
            ty.withUnsafeBufferPointer { yb in
            twave.withUnsafeBufferPointer { wb in
            tx.withUnsafeBufferPointer { xb in
                // rows in increasing order: the interpolation intervals are walked, not searched (same values)
                var waveAt = SortedInterpolation(x: yb, y: wb), xAt = SortedInterpolation(x: yb, y: xb)
                for r in 0..<ny {
                    let yr = Double(r)
                    let w: Double
                    if yr < ty[0] {
                        w = twave[0] + (twave[1] - twave[0]) / (ty[1] - ty[0]) * (yr - ty[0])
                    } else if yr > ty[nt - 1] {
                        w = twave[nt - 1] + (twave[nt - 2] - twave[nt - 1]) / (ty[nt - 2] - ty[nt - 1]) * (yr - ty[nt - 1])
                    } else {
                        w = waveAt.value(at: yr)
                    }
                    ws[f * ny + r] = w
                    xs[f * ny + r] = xAt.value(at: yr)
                    if let s = xsig { ss![f * ny + r] = s(f, w) }
                }
            }}}
        }
        return FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: ss)
    }

    /// The row where fiber `fiber` has wavelength `w` (linear interpolation of the row table).
    public func row(fiber: Int, wavelength w: Double) -> Double {
        let ws = Array(wave[(fiber * ny)..<((fiber + 1) * ny)])
        return Interpolation.linear(x: ws, y: (0..<ny).map(Double.init), at: w)
    }
}
