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
    /// [nspec * ny]: x of the trace centre at row y (pixels), wavelength at row y (Angstrom).
    public let x: [Double]
    public let wave: [Double]
    /// How the cross-dispersion sigma is known (see `xsig`).
    let sigma: Sigma

    enum Sigma: Sendable {
        /// The traces give no sigma (desispec then uses 1 pixel).
        case none
        /// [nspec * ny], sigma per (fiber, row).
        case table([Double])
        /// Fiber f's sigma at the given wavelengths, evaluated where it is read: the image model holds no sigma table
        /// while it subtracts its sky (16.5 MB less memory to fault in for a full-size camera).
        case traces(@Sendable (Int, [Double]) -> [Double])
    }

    public init(nspec: Int, ny: Int, x: [Double], wave: [Double], xsig: [Double]?) {
        precondition(xsig == nil || xsig!.count == nspec * ny)
        self.init(nspec: nspec, ny: ny, x: x, wave: wave, sigma: xsig.map { .table($0) } ?? .none)
    }

    init(nspec: Int, ny: Int, x: [Double], wave: [Double], sigma: Sigma) {
        precondition(x.count == nspec * ny && wave.count == nspec * ny)
        self.nspec = nspec; self.ny = ny; self.x = x; self.wave = wave; self.sigma = sigma
    }

    /// [nspec * ny]: the cross-dispersion sigma per (fiber, row), nil: the traces give none. Traces are evaluated at
    /// every row's wavelength at each call (fibers in parallel).
    public var xsig: [Double]? {
        switch sigma {
        case .none: return nil
        case .table(let t): return t
        case .traces(let s):
            let ny = self.ny, wave = self.wave
            var out = LargeArrays.uninitialized(Double.self, nspec * ny)
            out.withUnsafeMutableBufferPointer { ob in
                let o = SharedBuffer(ob)
                parallelFor(nspec) { f in
                    let sig = s(f, Array(wave[(f * ny)..<((f + 1) * ny)]))
                    for r in 0..<ny { o[f * ny + r] = sig[r] }
                }
            }
            return out
        }
    }

    /// The sigma of fiber f at row r, nil: none (the traces evaluated at that row's wavelength alone: lane by lane
    /// the same operations as the whole fiber, `TraceSet.eval(_:at:)`).
    public func xsig(fiber f: Int, row r: Int) -> Double? {
        switch sigma {
        case .none: return nil
        case .table(let t): return t[f * ny + r]
        case .traces(let s): return s(f, [wave[f * ny + r]])[0]
        }
    }

    /// Samples the traces as desispec.qproc.qextract.qproc_boxcar_extraction does: y(wave) and x(wave) on ny / 4
    /// wavelengths between wavemin and wavemax, interpolated linearly at each row; the wavelength is extrapolated
    /// linearly beyond the first and last samples. `xsig(fiber, wave)`: sigma at that wavelength, nil: none (a
    /// table, evaluated here).
    public static func sample(nspec: Int, ny: Int, wavemin: Double, wavemax: Double,
                              x: @escaping (Int, Double) -> Double, y: @escaping (Int, Double) -> Double,
                              xsig: ((Int, Double) -> Double)?) -> FiberTraceGeometry {
        let (xs, ws) = rowTables(nspec: nspec, ny: ny, wavemin: wavemin, wavemax: wavemax,
                                 x: { f, w in w.map { x(f, $0) } }, y: { f, w in w.map { y(f, $0) } })
        let table = xsig.map { s in
            (0..<nspec).flatMap { f in ws[(f * ny)..<((f + 1) * ny)].map { s(f, $0) } }
        }
        return FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: table)
    }

    /// `sample` with each trace evaluated at all the wavelengths of a fiber in one call (`TraceSet.eval(_:at:)`:
    /// four lanes at a time); fibers in parallel. The sigma, `xsig(fiber, waves)`, is evaluated where it is read.
    public static func sample(nspec: Int, ny: Int, wavemin: Double, wavemax: Double,
                              x: (Int, [Double]) -> [Double], y: (Int, [Double]) -> [Double],
                              xsig: (@Sendable (Int, [Double]) -> [Double])?) -> FiberTraceGeometry {
        let (xs, ws) = rowTables(nspec: nspec, ny: ny, wavemin: wavemin, wavemax: wavemax, x: x, y: y)
        return FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, sigma: xsig.map { .traces($0) } ?? .none)
    }

    /// The x and wavelength tables of `sample` ([nspec * ny] each).
    static func rowTables(nspec: Int, ny: Int, wavemin: Double, wavemax: Double,
                          x: (Int, [Double]) -> [Double], y: (Int, [Double]) -> [Double]) -> (x: [Double], wave: [Double]) {
        let nt = max(2, ny / 4)
        let twave = (0..<nt).map { wavemin + (wavemax - wavemin) * Double($0) / Double(nt - 1) }
        // every element is written below (arrays of their own: 16.5 MB each for a full-size camera)
        var xs = LargeArrays.uninitialized(Double.self, nspec * ny), ws = LargeArrays.uninitialized(Double.self, nspec * ny)
        xs.withUnsafeMutableBufferPointer { xb in
        ws.withUnsafeMutableBufferPointer { wb in
            let xOut = SharedBuffer(xb), wOut = SharedBuffer(wb)
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
            }
        }}
        return (xs, ws)
    }

    /// The row where fiber `fiber` has wavelength `w` (linear interpolation of the row table).
    public func row(fiber: Int, wavelength w: Double) -> Double {
        let ws = Array(wave[(fiber * ny)..<((fiber + 1) * ny)])
        return Interpolation.linear(x: ws, y: (0..<ny).map(Double.init), at: w)
    }
}
