import DESICore
import LinearAlgebra

/// The part of a fiber flat that the image model reads (desispec.qproc.qfiberflat.qproc_apply_fiberflat): per fiber,
/// the flat at its valid wavelengths (flat != 0, ivar > 0, mask == 0), interpolated linearly at each CCD row's
/// wavelength, 0 outside them. Its invalid values are stored as 0 (a flat of 0 is itself invalid), so that the ivar
/// and the mask need not be kept: 8 MB instead of 20 for a full-size camera, held through the whole preprocessing.
public struct ModelFiberFlat: Sendable {
    public let nspec: Int
    public let wave: [Double]
    /// [nspec x wave.count]: the flat where valid, 0 elsewhere.
    let flat: [Double]

    /// (The fiber flat's own array is changed in place where `ff` is its only reference.)
    public init(_ ff: consuming FiberFlat) {
        nspec = ff.nspec
        wave = ff.wave
        var flat = ff.flat
        ff.flat = []
        for i in flat.indices where !(flat[i] != 0 && ff.ivar[i] > 0 && ff.mask[i] == 0) { flat[i] = 0 }
        self.flat = flat
    }

    /// Fiber f's flat at the `count` increasing wavelengths `at`, written to `out` (0 beyond its valid wavelengths);
    /// false, with nothing written, for a fiber with no valid value.
    func values(fiber f: Int, at: UnsafePointer<Double>, count: Int, into out: UnsafeMutablePointer<Double>) -> Bool {
        let nw = wave.count, fo = f * nw
        func interpolate(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>) {
            var flatAt = SortedInterpolation(x: x, y: y, left: 0, right: 0)
            flatAt.values(at: at, count: count, into: out)
        }
        if !flat[fo..<(fo + nw)].contains(0) {
            // every value valid (the usual fiber): the nodes are the arrays themselves
            wave.withUnsafeBufferPointer { xb in flat.withUnsafeBufferPointer { yb in
                interpolate(xb, UnsafeBufferPointer(rebasing: yb[fo..<(fo + nw)]))
            }}
            return true
        }
        let good = (0..<nw).filter { flat[fo + $0] != 0 }
        guard !good.isEmpty else { return false }
        let xw = good.map { wave[$0] }, yf = good.map { flat[fo + $0] }
        xw.withUnsafeBufferPointer { xb in yf.withUnsafeBufferPointer { yb in interpolate(xb, yb) } }
        return true
    }
}
