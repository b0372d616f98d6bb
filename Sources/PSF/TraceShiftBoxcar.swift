import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Row-by-row boxcar spectra along traces (desispec.qproc.qextract.qproc_boxcar_extraction as used by
/// desispec.trace_shifts): for row j the pixels int(x - hw) ... int(x + hw), hw = width / 2; a row with any
/// pixel of zero weight (ivar 0 or masked) gets flux 0 and ivar 0; flux is divided by the wavelength step of
/// the row (flux density). Arrays [nfiber, nrows] row-major.
struct BoxcarFrame: Sendable {
    var nfiber: Int
    var nrow: Int
    var wave: [Double]
    var flux: [Double]
    var ivar: [Double]
}

/// One trace of a TraceSet with its derivative series made once: the same arithmetic as TraceSet.eval,
/// TraceSet.derivative and TraceSet.solve (so the same values to the last bit), without their per-call allocations.
struct TraceCurve {
    let coefficients: [Double]
    /// d/du of the series as a Legendre series (TraceSet.derivative's recurrence), nil for a constant trace.
    let derivativeCoefficients: [Double]?
    let domainMin: Double, domainMax: Double

    init(_ t: TraceSet, fiber: Int) {
        let c = Array(t.coefficients(of: fiber))
        coefficients = c
        domainMin = t.domainMin; domainMax = t.domainMax
        if c.count <= 1 { derivativeCoefficients = nil; return }
        var d = [Double](repeating: 0, count: c.count - 1), cc = c
        var n = c.count - 1
        while n >= 1 {
            d[n - 1] = Double(2 * n - 1) * cc[n]
            if n >= 2 { cc[n - 2] += cc[n] }
            n -= 1
        }
        derivativeCoefficients = d
    }

    @inline(__always) func eval(_ v: Double) -> Double {
        let u = Legendre.reduced(v, min: domainMin, max: domainMax)
        return coefficients.withUnsafeBufferPointer { Legendre.value(u, $0) }
    }

    @inline(__always) func derivative(_ v: Double) -> Double {
        guard let d = derivativeCoefficients else { return 0 }
        let u = Legendre.reduced(v, min: domainMin, max: domainMax)
        return d.withUnsafeBufferPointer { Legendre.value(u, $0) } * 2.0 / (domainMax - domainMin)
    }

    /// Newton iterations from `start` for eval(v) = target (TraceSet.solve).
    func solve(target: Double, start: Double) -> Double {
        var v = start
        for _ in 0..<20 {
            let f = eval(v) - target
            let d = derivative(v)
            guard d != 0, d.isFinite else { break }
            let step = f / d
            v -= step
            if abs(step) < 1e-12 * max(1, abs(v)) { break }
        }
        return v
    }
}

/// Wavelength of every CCD row of trace `fiber` (inverse of y(wavelength) by Newton from linear interpolation).
func rowWavelengths(_ yTrace: TraceSet, fiber: Int, nrow: Int) -> [Double] {
    let curve = TraceCurve(yTrace, fiber: fiber)
    let nt = max(nrow, 64)
    let tw = (0..<nt).map { yTrace.domainMin + (yTrace.domainMax - yTrace.domainMin) * Double($0) / Double(nt - 1) }
    let ty = curve.evalAll(tw)
    return ty.withUnsafeBufferPointer { tyb in tw.withUnsafeBufferPointer { twb in
        // rows increase: the table is walked along (SortedInterpolation: the segments and values of
        // Interpolation.linear's binary search)
        var table = SortedInterpolation(x: tyb, y: twb)
        let starts = (0..<nrow).map { j -> Double in
            let y = Double(j)
            if y <= tyb[0] { return twb[0] + (twb[1] - twb[0]) / (tyb[1] - tyb[0]) * (y - tyb[0]) }
            if y >= tyb[nt - 1] {
                return twb[nt - 1] + (twb[nt - 2] - twb[nt - 1]) / (tyb[nt - 2] - tyb[nt - 1]) * (y - tyb[nt - 1])
            }
            return table.value(at: y)
        }
        // Newton from each start, four rows at a time (solve4: the same values as solve row by row)
        var wave = [Double](repeating: 0, count: nrow)
        var j = 0
        while j + 4 <= nrow {
            let y = SIMD4<Double>(Double(j), Double(j + 1), Double(j + 2), Double(j + 3))
            let w = curve.solve4(target: y, start: SIMD4(starts[j], starts[j + 1], starts[j + 2], starts[j + 3]))
            for q in 0..<4 { wave[j + q] = w[q] }
            j += 4
        }
        while j < nrow { wave[j] = curve.solve(target: Double(j), start: starts[j]); j += 1 }
        return wave
    } }
}

func boxcarFrame(image: Image, xTrace: TraceSet, yTrace: TraceSet, fibers: [Int], width: Int) throws -> BoxcarFrame {
    let ny = image.ny, nx = image.nx, hw = width / 2, nf = fibers.count
    // Wavelength and x of every row along every trace, fiber by fiber.
    // Wavelength step of each row (flux density): the backward difference, extrapolated on the first row.
    let traces = parallelMap(nf) { k -> (wave: [Double], x: [Double], dw: [Double]) in
        let wave = rowWavelengths(yTrace, fiber: fibers[k], nrow: ny), xCurve = TraceCurve(xTrace, fiber: fibers[k])
        let dw = (0..<ny).map { j in
            j > 0 ? wave[j] - wave[j - 1] : (ny > 2 ? 2 * (wave[1] - wave[0]) - (wave[2] - wave[1]) : 1)
        }
        return (wave, xCurve.evalAll(wave), dw)
    }
    for (k, t) in traces.enumerated() {
        for j in 1..<max(ny, 2) where j < ny && t.wave[j] <= t.wave[j - 1] {
            throw DESIError.failed("trace of fiber \(fibers[k]) gives a non increasing wavelength at row \(j)")
        }
    }
    // The sums, by blocks of rows and every fiber along each row: the image is read row after row (a fiber at a time
    // down the columns would fetch a new cache line and page for every row).
    let blockRows = 32, nblock = (ny + blockRows - 1) / blockRows
    let xs = traces.flatMap(\.x), dws = traces.flatMap(\.dw)
    let hasMask = !image.mask.isEmpty   // none where it was folded into ivar (Image.read(maskIntoIvar:))
    let blocks = parallelMap(nblock) { bk -> ([Double], [Double]) in
        let j0 = bk * blockRows, j1 = min(ny, j0 + blockRows), m = j1 - j0
        var flux = [Double](repeating: 0, count: nf * m), ivar = flux
        image.pix.withUnsafeBufferPointer { pix in image.ivar.withUnsafeBufferPointer { iv in
            image.mask.withUnsafeBufferPointer { mk in
                for j in j0..<j1 {
                    for k in 0..<nf {
                        let x = xs[k * ny + j]
                        let lo = Int(x - Double(hw)), hi = Int(x + Double(hw) + 1)
                        guard lo >= 0, hi <= nx else { continue }
                        var s = 0.0, v = 0.0, ok = true
                        for i in lo..<hi {
                            let p = j * nx + i
                            if iv[p] <= 0 || (hasMask && mk[p] != 0) { ok = false; break }
                            s += Double(pix[p]); v += 1 / Double(iv[p])
                        }
                        let dw = dws[k * ny + j]
                        if ok && v > 0 { flux[k * m + j - j0] = s / dw; ivar[k * m + j - j0] = dw * dw / v }
                    }
                }
            }
        } }
        return (flux, ivar)
    }
    // every element is copied from a block below, so the arrays are not cleared first (LargeArrays)
    var flux = LargeArrays.uninitialized(Double.self, nf * ny), ivar = LargeArrays.uninitialized(Double.self, nf * ny)
    for (bk, b) in blocks.enumerated() {
        let j0 = bk * blockRows, m = min(ny, j0 + blockRows) - j0
        for k in 0..<nf {
            for q in 0..<m { flux[k * ny + j0 + q] = b.0[k * m + q]; ivar[k * ny + j0 + q] = b.1[k * m + q] }
        }
    }
    return BoxcarFrame(nfiber: nf, nrow: ny, wave: traces.flatMap(\.wave), flux: flux, ivar: ivar)
}

/// Boxcar spectra resampled on one common wavelength grid (desispec.trace_shifts.resample_boxcar_frame): the step
/// is the median row step / oversampling; masked rows are grown by 2 on each side; flux and ivar are interpolated
/// linearly (0 outside), ivar divided by the oversampling.
/// (desispec takes the median of np.gradient of the 2-D wavelength array, which mixes in the gradient across
/// fibers; the step along the spectrum is meant, and used here.)
/// The flux of every fiber is kept ([nfiber, nwave]); the inverse variances are made one fiber at a time when they are
/// read (`ivar(of:into:)`, the same arithmetic): a full-size frame of them was 66 MB of fresh memory per y pass, whose
/// first touch cost 5 % of the trace shifts' CPU on the project's VM.
struct ResampledBoxcar: Sendable {
    let source: BoxcarFrame
    let oversampling: Int
    let wave: [Double]
    var flux: [Double]
    /// Whether fiber k (index in the frame) has some weight on the grid (an ivar > 0).
    let weighted: [Bool]

    /// The fibers (indices in the frame) with some weight.
    var weightedFibers: [Int] { (0..<nfiber).filter { weighted[$0] } }
    var nfiber: Int { source.nfiber }
    var nwave: Int { wave.count }

    init(_ fr: BoxcarFrame, oversampling: Int) {
        source = fr; self.oversampling = oversampling
        let n1 = fr.nrow, nf = fr.nfiber
        let mid = nf / 2
        let w0 = Array(fr.wave[(mid * n1)..<((mid + 1) * n1)])
        var steps = LargeArrays.uninitialized(Double.self, nf * max(n1 - 1, 0))   // every element written below
        for f in 0..<nf { for j in 1..<max(n1, 1) { steps[f * (n1 - 1) + j - 1] = fr.wave[f * n1 + j] - fr.wave[f * n1 + j - 1] } }
        let dwave = steps.withUnsafeMutableBufferPointer { Statistics.medianInPlace($0) } / Double(oversampling)
        let nwave = Int((w0[n1 - 1] - w0[0]) / dwave)
        let grid = (0..<nwave).map { w0[0] + (w0[n1 - 1] - w0[0]) * Double($0) / Double(max(nwave - 1, 1)) }
        wave = grid
        // each fiber's resampled row written in place (no per-fiber result arrays copied into the frame afterwards);
        // every row is written (0 where a fiber has no good row), so the array is not cleared first (LargeArrays)
        var flux = LargeArrays.uninitialized(Double.self, nf * nwave)
        var weighted = [Bool](repeating: false, count: nf)
        flux.withUnsafeMutableBufferPointer { fop in weighted.withUnsafeMutableBufferPointer { wop in
            let fluxOut = SharedBuffer(fop), weightedOut = SharedBuffer(wop)
            parallelFor(nf) { f in
                let fw = Array(fr.wave[(f * n1)..<((f + 1) * n1)])
                let ff = Array(fr.flux[(f * n1)..<((f + 1) * n1)])
                let fi = Self.grownIvar(fr, fiber: f)
                let good = (0..<n1).filter { fi[$0] > 0 }
                let fluxRow = UnsafeMutableBufferPointer(start: fluxOut.base + f * nwave, count: nwave)
                guard !good.isEmpty else {   // no good row: 0
                    for k in 0..<nwave { fluxRow[k] = 0 }
                    return
                }
                let gw = good.map { fw[$0] }, gf = good.map { ff[$0] }
                grid.withUnsafeBufferPointer { t in
                    gw.withUnsafeBufferPointer { x in gf.withUnsafeBufferPointer { y in
                        Interpolation.linearAtIncreasing(x: x, y: y, at: t, left: 0, right: 0, into: fluxRow)
                    } }
                }
                weightedOut.base[f] = Self.hasWeight(fr, fiber: f, grown: fi, grid: grid)
            }
        } }
        self.flux = flux
        self.weighted = weighted
    }

    /// The ivar of fiber k's rows with every row of zero weight grown by 2 rows on each side.
    private static func grownIvar(_ fr: BoxcarFrame, fiber f: Int) -> [Double] {
        let n1 = fr.nrow
        var fi = Array(fr.ivar[(f * n1)..<((f + 1) * n1)])
        if n1 > 4 {
            let orig = fi
            for d in [-2, -1, 1, 2] { for j in 2..<(n1 - 2) where orig[j + d] == 0 { fi[j] = 0 } }
        }
        return fi
    }

    /// The grown ivar of fiber k interpolated on the grid, divided by the oversampling (0 for a fiber without a good row).
    private static func interpolatedIvar(_ fr: BoxcarFrame, fiber f: Int, grown fi: [Double], grid: [Double],
                                         into row: UnsafeMutableBufferPointer<Double>) {
        let n1 = fr.nrow
        guard fi.contains(where: { $0 > 0 }) else { for k in 0..<row.count { row[k] = 0 }; return }
        grid.withUnsafeBufferPointer { t in fr.wave[(f * n1)..<((f + 1) * n1)].withUnsafeBufferPointer { x in
            fi.withUnsafeBufferPointer { y in Interpolation.linearAtIncreasing(x: x, y: y, at: t, left: 0, right: 0, into: row) }
        } }
    }

    /// Whether the grown ivar of fiber k interpolated on the grid (interpolatedIvar) is positive somewhere: its values
    /// one after the other, up to the first positive one (usually within the first grid points; the whole row was
    /// interpolated for this before, 3 % of the trace shifts).
    private static func hasWeight(_ fr: BoxcarFrame, fiber f: Int, grown fi: [Double], grid: [Double]) -> Bool {
        let n1 = fr.nrow
        guard fi.contains(where: { $0 > 0 }) else { return false }
        return grid.withUnsafeBufferPointer { t in fr.wave[(f * n1)..<((f + 1) * n1)].withUnsafeBufferPointer { x in
            fi.withUnsafeBufferPointer { y in
                var walk = SortedInterpolation(x: x, y: y, left: 0, right: 0)
                for k in 0..<t.count where walk.value(at: t[k]) > 0 { return true }
                return false
            }
        } }
    }

    /// The inverse variances of fiber k on the grid, written to `row` (nwave values).
    func ivar(of f: Int, into row: UnsafeMutableBufferPointer<Double>) {
        Self.interpolatedIvar(source, fiber: f, grown: Self.grownIvar(source, fiber: f), grid: wave, into: row)
        for k in 0..<row.count { row[k] /= Double(oversampling) }
    }

    /// The inverse variances of every fiber, [nfiber, nwave].
    func ivarFrame() -> [Double] {
        var out = LargeArrays.uninitialized(Double.self, nfiber * nwave)   // every row written below
        out.withUnsafeMutableBufferPointer { op in
            let shared = SharedBuffer(op)
            parallelFor(nfiber) { f in ivar(of: f, into: UnsafeMutableBufferPointer(start: shared.base + f * nwave, count: nwave)) }
        }
        return out
    }
}

func median(_ v: [Double]) -> Double {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted(), n = s.count
    return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2])
}
