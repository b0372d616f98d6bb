import DESICore
import FITS
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
                              x: @escaping (Int, Double) -> Double, y: @escaping (Int, Double) -> Double,
                              xsig: ((Int, Double) -> Double)?) -> FiberTraceGeometry {
        sample(nspec: nspec, ny: ny, wavemin: wavemin, wavemax: wavemax,
               x: { f, w in w.map { x(f, $0) } }, y: { f, w in w.map { y(f, $0) } },
               xsig: xsig.map { s in { f, w in w.map { s(f, $0) } } })
    }

    /// `sample` with each trace evaluated at all the wavelengths of a fiber in one call (`TraceSet.eval(_:at:)`:
    /// four lanes at a time); fibers in parallel.
    public static func sample(nspec: Int, ny: Int, wavemin: Double, wavemax: Double,
                              x: (Int, [Double]) -> [Double], y: (Int, [Double]) -> [Double],
                              xsig: ((Int, [Double]) -> [Double])?) -> FiberTraceGeometry {
        let nt = max(2, ny / 4)
        let twave = (0..<nt).map { wavemin + (wavemax - wavemin) * Double($0) / Double(nt - 1) }
        // every element is written below (three arrays of their own: 16.5 MB each for a full-size camera)
        var xs = LargeArrays.uninitialized(Double.self, nspec * ny), ws = LargeArrays.uninitialized(Double.self, nspec * ny)
        var ss = xsig == nil ? [] : LargeArrays.uninitialized(Double.self, nspec * ny)
        xs.withUnsafeMutableBufferPointer { xb in
        ws.withUnsafeMutableBufferPointer { wb in
        ss.withUnsafeMutableBufferPointer { sb in
            let xOut = SharedBuffer(xb), wOut = SharedBuffer(wb), sOut = sb.isEmpty ? nil : SharedBuffer(sb)
            let rowNumbers = (0..<ny).map(Double.init)
            parallelFor(nspec) { f in
                let ty = y(f, twave), tx = x(f, twave)
                ty.withUnsafeBufferPointer { yb in
                twave.withUnsafeBufferPointer { twb in
                tx.withUnsafeBufferPointer { txb in
                    // rows in increasing order: the interpolation intervals are walked, not searched (same values);
                    // the wavelengths of rows beyond the table are extrapolated from its end segments instead
                    var waveAt = SortedInterpolation(x: yb, y: twb), xAt = SortedInterpolation(x: yb, y: txb)
                    rowNumbers.withUnsafeBufferPointer { rb in
                        waveAt.values(at: rb.baseAddress!, count: ny, into: wOut.base + f * ny)
                        xAt.values(at: rb.baseAddress!, count: ny, into: xOut.base + f * ny)
                    }
                    for r in 0..<ny {
                        let yr = Double(r)
                        if yr < ty[0] {
                            wOut[f * ny + r] = twave[0] + (twave[1] - twave[0]) / (ty[1] - ty[0]) * (yr - ty[0])
                        } else if yr > ty[nt - 1] {
                            wOut[f * ny + r] = twave[nt - 1] + (twave[nt - 2] - twave[nt - 1]) / (ty[nt - 2] - ty[nt - 1])
                                * (yr - ty[nt - 1])
                        }
                    }
                }}}
                if let s = xsig, let sOut {
                    let sig = s(f, Array(UnsafeBufferPointer(start: wOut.base + f * ny, count: ny)))
                    for r in 0..<ny { sOut[f * ny + r] = sig[r] }
                }
            }
        }}}
        return FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: xsig == nil ? nil : ss)
    }

    /// The row where fiber `fiber` has wavelength `w` (linear interpolation of the row table).
    public func row(fiber: Int, wavelength w: Double) -> Double {
        let ws = Array(wave[(fiber * ny)..<((fiber + 1) * ny)])
        return Interpolation.linear(x: ws, y: (0..<ny).map(Double.init), at: w)
    }
}
