import DESICore
import Foundation
import LinearAlgebra
import Simulation
import XCTest

@testable import Preproc

/// The rewritten kernels of preproc give, bit for bit, what the plain forms they replace give (the outputs of
/// `desispec preproc` must not move by one bit when a kernel gets faster).
final class PreprocKernelTests: XCTestCase {
    /// Rows of noisy values with outliers, NaNs, exact ties and lengths that are and are not multiples of 8.
    private func rows(seed: UInt64) -> [[Double]] {
        var rng = SimulationRandom(seed: seed)
        return [4128, 2064, 1031, 17, 8, 7, 1, 0].map { n in
            (0..<n).map { i -> Double in
                if i % 997 == 3 { return .nan }
                if i % 331 == 5 { return 4e4 }
                if i % 13 == 0 { return 100 }          // ties with the bracket ends and the level
                return 100 + 3 * rng.gaussian()
            }
        }
    }

    /// RobustLevel.ClippedSums (register lanes) against the plain eight-lane sums it replaced: lane j adds the
    /// offsets at positions j mod 8 of each row in order, the scalar tail the last n mod 8; identical to the bit.
    func testClippedSumsEqualThePlainEightLaneSums() {
        let data = rows(seed: 11)
        for (level, cut) in [(100.0, 15.0), (99.5, 3.0), (100.0, 1e-9), (0.0, 1e9)] {
            var sums = RobustLevel.ClippedSums(level: level, cut: cut)
            var lane = [Double](repeating: 0, count: 8), laneSq = lane
            var count = 0, tail = 0.0, tailSq = 0.0
            for row in data {
                row.withUnsafeBufferPointer { sums.add($0) }
                let n8 = row.count / 8 * 8
                for i in 0..<row.count {
                    let d = row[i] - level
                    let inside = abs(d) < cut
                    if inside { count += 1 }
                    if i < n8 {
                        let kept = inside ? d : 0
                        lane[i % 8] += kept; laneSq[i % 8] += kept * kept
                    } else if inside {
                        tail += d; tailSq += d * d
                    }
                }
            }
            let t = sums.totals
            let plainSum = SIMD8<Double>(lane[0], lane[1], lane[2], lane[3], lane[4], lane[5], lane[6], lane[7]).sum() + tail
            let plainSq = SIMD8<Double>(laneSq[0], laneSq[1], laneSq[2], laneSq[3], laneSq[4], laneSq[5], laneSq[6],
                                        laneSq[7]).sum() + tailSq
            XCTAssertEqual(t.count, count, "level \(level) cut \(cut)")
            XCTAssertEqual(t.sum.bitPattern, plainSum.bitPattern, "level \(level) cut \(cut): \(t.sum) vs \(plainSum)")
            XCTAssertEqual(t.sumSquares.bitPattern, plainSq.bitPattern, "level \(level) cut \(cut)")
        }
    }

    /// RobustLevel.BracketCounts (two lanes, counters in registers) against plain counting, values and distances.
    func testBracketCountsEqualPlainCounting() {
        let data = rows(seed: 12)
        for (lo, hi, center) in [(99.0, 101.0, nil), (100.0, 100.5, nil), (0.5, 2.0, Optional(100.0)), (0.0, 3.0, Optional(100.0))] {
            var counts = RobustLevel.BracketCounts(lo: lo, hi: hi, center: center, expectedMiddle: 16)
            var below = 0, eqLo = 0, eqHi = 0, nan = 0
            var middle: [Double] = []
            for row in data {
                row.withUnsafeBufferPointer { counts.add($0) }
                for v in row {
                    var t = v
                    if let c = center { t = v - c; if t < 0 { t = -t } }
                    if t < lo { below += 1 } else if t == lo { eqLo += 1 } else if t < hi { middle.append(t) }
                    else if t == hi { eqHi += 1 } else if t.isNaN { nan += 1 }
                }
            }
            let what = "bracket [\(lo), \(hi)] center \(String(describing: center))"
            XCTAssertEqual(counts.below, below, what)
            XCTAssertEqual(counts.equalLo, eqLo, what)
            XCTAssertEqual(counts.equalHi, eqHi, what)
            XCTAssertEqual(counts.unordered, nan, what)
            XCTAssertGreaterThan(nan, 0, what)
            XCTAssertEqual(counts.middle.sorted().map(\.bitPattern), middle.sorted().map(\.bitPattern), what)
            XCTAssertGreaterThan(middle.count, 10, what)
        }
    }

    /// ImageModel.boxcar (the seven reciprocals of a full box in vector lanes) against the plain per-pixel sums, on
    /// boxes cut by the CCD's edges (fewer than seven columns, or none), pixels without weight, negative or NaN ivar:
    /// the same spectra to the bit.
    func testBoxcarEqualsThePlainSums() {
        let nspec = 40, ny = 50, nx = 300
        var rng = SimulationRandom(seed: 33)
        var xs = [Double](repeating: 0, count: nspec * ny), ws = xs
        for f in 0..<nspec {
            for r in 0..<ny {
                // fibers 0 and 1 straddle the left edge, the last two the right edge
                xs[f * ny + r] = (f < 2 ? 1.3 + 1.1 * Double(f) : 4 + 7.4 * Double(f)) + 0.01 * Double(r) - (f >= nspec - 2 ? 4 : 0)
                ws[f * ny + r] = 5600 + 0.6 * Double(r) + 0.01 * Double(f) + 1e-4 * Double(r * r)
            }
        }
        let g = FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: nil)
        let pix = (0..<(ny * nx)).map { _ in Float(100 + 20 * rng.gaussian()) }
        var ivar = (0..<(ny * nx)).map { _ in Float(0.01 * (1 + 0.2 * rng.gaussian())) }
        for i in stride(from: 11, to: ivar.count, by: 97) { ivar[i] = 0 }
        for i in stride(from: 29, to: ivar.count, by: 211) { ivar[i] = -1 }
        for i in stride(from: 53, to: ivar.count, by: 389) { ivar[i] = .nan }
        let fast = ImageModel.boxcar(pix: pix, ivar: ivar, nx: nx, traces: g)
        var flux = [Double](repeating: 0, count: nspec * ny), fiv = flux
        var widths = Set<Int>()
        for f in 0..<nspec {
            for r in 0..<ny {
                let o = f * ny, x = xs[o + r], lo = Int(x - 3), hi = Int(x + 4)
                var s = 0.0, v = 0.0, ok = lo >= 0 && hi <= nx
                if ok {
                    widths.insert(hi - lo)
                    for i in lo..<hi {
                        let iv = Double(ivar[r * nx + i])
                        guard iv > 0 else { ok = false; break }
                        s += Double(pix[r * nx + i]); v += 1 / iv
                    }
                }
                guard ok, v > 0 else { continue }
                let dw = ImageModel.rowStep(ws, offset: o, count: ny, at: r)
                flux[o + r] = s / dw; fiv[o + r] = dw * dw / v
            }
        }
        XCTAssertEqual(fast.flux.map(\.bitPattern), flux.map(\.bitPattern))
        XCTAssertEqual(fast.ivar.map(\.bitPattern), fiv.map(\.bitPattern))
        XCTAssertTrue(widths.contains(7) && widths.count > 1, "full boxes and boxes cut by the edge: \(widths)")
        XCTAssertGreaterThan(fiv.filter { $0 == 0 }.count, nspec)   // boxes with a pixel without weight

        // with a mask: boxes holding a defect take the profile-scaled sum, other bits (a cosmic ray) change nothing
        var mask = [UInt32](repeating: 0, count: ny * nx)
        for i in stride(from: 7, to: mask.count, by: 151) { mask[i] = CCDMask.hot }
        for i in stride(from: 90, to: mask.count, by: 173) { mask[i] = CCDMask.cosmic }
        let masked = ImageModel.boxcar(pix: pix, ivar: ivar, nx: nx, traces: g, mask: mask)
        var defects = 0
        pix.withUnsafeBufferPointer { pp in ivar.withUnsafeBufferPointer { ivp in
            for f in 0..<nspec {
                for r in 0..<ny {
                    let o = f * ny, x = xs[o + r], lo = Int(x - 3), hi = Int(x + 4)
                    guard lo >= 0, hi <= nx, (lo..<hi).contains(where: { mask[r * nx + $0] & ImageModel.defectBits != 0 }) else {
                        continue   // no defect: the values above
                    }
                    defects += 1
                    let (s, v, ok) = ImageModel.profileScaledSum(pix: pp, ivar: ivp, mask: mask, row: r, nx: nx, columns: lo..<hi,
                                                                 x: x, sigma: 1.1)
                    let dw = ImageModel.rowStep(ws, offset: o, count: ny, at: r)
                    flux[o + r] = ok && v > 0 ? s / dw : 0; fiv[o + r] = ok && v > 0 ? dw * dw / v : 0
                }
            }
        }}
        XCTAssertGreaterThan(defects, nspec)
        XCTAssertEqual(masked.flux.map(\.bitPattern), flux.map(\.bitPattern))
        XCTAssertEqual(masked.ivar.map(\.bitPattern), fiv.map(\.bitPattern))
    }

    /// ImageModel.subtractSky (valid rows gathered once, the resampled sky fibers stored wavelength by wavelength)
    /// against the plain form it replaced, on spectra with sky lines, dead fibers, rows without weight and zeros:
    /// the same sky and spectra to the bit.
    func testSkySubtractionEqualsThePlainForm() {
        // 200 fibers: 100 sky fibers, enough for the bracketed medians (BracketedMedian sorts fewer than 65 values)
        // rows a multiple of the vector lanes' 4 and not
        for ny in [300, 303] { checkSkySubtraction(ny: ny) }
    }

    private func checkSkySubtraction(ny: Int) {
        let nspec = 200
        var rng = SimulationRandom(seed: 21)
        var xs = [Double](repeating: 0, count: nspec * ny), ws = xs
        for f in 0..<nspec {
            for r in 0..<ny {
                xs[f * ny + r] = 10 + 7.3 * Double(f)
                ws[f * ny + r] = 5600 + 0.61 * Double(r) + 0.013 * Double(f) + 1e-5 * Double(r * r)
            }
        }
        let g = FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: nil)
        var flux = [Double](repeating: 0, count: nspec * ny), ivar = flux
        for f in 0..<nspec {
            let object = f % 3 == 0 ? 50 + Double(f) : 0
            for r in 0..<ny {
                let i = f * ny + r
                let line = 400 * exp(-pow(Double(r) - 120, 2) / 8) + 900 * exp(-pow(Double(r) - 250, 2) / 5)
                flux[i] = 30 + line + object + 4 * rng.gaussian()
                ivar[i] = 1 / 16
                if r % 37 == 0 { ivar[i] = 0 }          // rows without weight
                if r % 53 == 0 { flux[i] = 0 }          // zeros stay 0
            }
        }
        for r in 0..<ny { ivar[5 * ny + r] = 0; flux[5 * ny + r] = 0 }   // a dead fiber (among the faintest)
        let spectra = ImageModel.RowSpectra(flux: flux, ivar: ivar)
        var fast = spectra, plain = spectra
        let skyFast = ImageModel.subtractSky(&fast, traces: g)
        let skyPlain = plainSubtractSky(&plain, traces: g)
        XCTAssertEqual(skyFast.map(\.bitPattern), skyPlain.map(\.bitPattern))
        XCTAssertEqual(fast.flux.map(\.bitPattern), plain.flux.map(\.bitPattern))
        XCTAssertGreaterThan(skyPlain.max()!, 500)   // the lines are in the sky model
    }

    /// The plain form of qproc_sky_subtraction that `ImageModel.subtractSky` replaced (desispec's order of work).
    private func plainSubtractSky(_ s: inout ImageModel.RowSpectra, traces g: FiberTraceGeometry) -> [Double] {
        let ny = g.ny, nspec = g.nspec
        var sky = [Double](repeating: 0, count: nspec * ny)
        let medians = (0..<nspec).map { f in Statistics.median(Array(s.flux[(f * ny)..<((f + 1) * ny)])) }
        let skyFibers = (0..<nspec).sorted { (medians[$0], $0) < (medians[$1], $1) }.prefix(nspec / 2).sorted()
        let wmin = g.wave.min()!, wmax = g.wave.max()!
        let nt = 2 * ny
        let twave = (0..<nt).map { wmin + (wmax - wmin) * Double($0) / Double(nt - 1) }
        var tflux = [[Double]](repeating: [Double](repeating: 0, count: nt), count: skyFibers.count)
        for _ in 0..<5 {
            for (k, f) in skyFibers.enumerated() {
                let rows = (0..<ny).filter { s.ivar[f * ny + $0] > 0 }
                guard !rows.isEmpty else { continue }
                let xw = rows.map { g.wave[f * ny + $0] }, yf = rows.map { s.flux[f * ny + $0] }
                tflux[k] = Interpolation.linear(x: xw, y: yf, at: twave)
            }
            let ttsky = (0..<nt).map { t in Statistics.median(tflux.map { $0[t] }) }
            for f in 0..<nspec {
                let shift = Interpolation.linear(x: twave, y: ttsky, at: Array(g.wave[(f * ny)..<((f + 1) * ny)]))
                for r in 0..<ny {
                    let i = f * ny + r
                    if s.flux[i] != 0 { s.flux[i] -= shift[r] }
                    sky[i] += shift[r]
                }
            }
        }
        return sky
    }

    /// The fiber flat through `ModelFiberFlat` (its invalid values stored as 0, its ivar and mask dropped) divides the
    /// spectra and gives the flat per row (`ImageModel.rowFlat`) as the fiber flat's valid values did
    /// (qproc_apply_fiberflat: flat != 0, ivar > 0, mask == 0; 0 beyond them): flats of 0, no weight, masked values,
    /// invalid ends, a fiber with no valid value (ivar 0, flat 1) and one with every value valid.
    func testFiberFlatThroughTheModelFlatEqualsThePlainForm() throws {
        let nspec = 6, ny = 250, nw = 120
        var rng = SimulationRandom(seed: 5)
        let wave = (0..<nw).map { 5600 + 2.1 * Double($0) }
        var flat = (0..<(nspec * nw)).map { _ in 1 + 0.1 * rng.gaussian() }
        var ivar = [Double](repeating: 4, count: nspec * nw), mask = [UInt32](repeating: 0, count: nspec * nw)
        for i in stride(from: 3, to: nspec * nw, by: 11) { flat[i] = 0 }
        for i in stride(from: 5, to: nspec * nw, by: 13) { ivar[i] = 0 }
        for i in stride(from: 7, to: nspec * nw, by: 17) { mask[i] = 1 }
        flat[0] = 0; ivar[1] = 0; mask[nw - 1] = 2                     // fiber 0's first and last values invalid
        for k in 0..<nw { ivar[4 * nw + k] = 0 }                       // fiber 4: none valid
        for k in 0..<nw { flat[5 * nw + k] = 1 + 0.01 * Double(k % 7); ivar[5 * nw + k] = 4; mask[5 * nw + k] = 0 }  // 5: all
        let ff = try FiberFlat(wave: wave, flat: flat, ivar: ivar, mask: mask)
        // rows from below the flat's first wavelength to beyond its last
        let xs = [Double](repeating: 20, count: nspec * ny)
        let ws = (0..<(nspec * ny)).map { i in 5590 + 1.07 * Double(i % ny) + 0.3 * Double(i / ny) }
        let g = FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: nil)
        let spectra = ImageModel.RowSpectra(flux: (0..<(nspec * ny)).map { _ in 100 + 10 * rng.gaussian() },
                                            ivar: (0..<(nspec * ny)).map { _ in 0.01 + 0.001 * rng.uniform() })
        var fast = spectra, plain = spectra
        let model = ModelFiberFlat(ff)
        ImageModel.applyFiberFlat(&fast, fiberflat: model, traces: g)
        for f in 0..<nspec {
            let good = (0..<nw).filter { flat[f * nw + $0] != 0 && ivar[f * nw + $0] > 0 && mask[f * nw + $0] == 0 }
            var rowFlat = [Double](repeating: 1, count: ny)
            if good.isEmpty {
                for r in 0..<ny { plain.ivar[f * ny + r] = 0 }
            } else {
                let xw = good.map { wave[$0] }, yf = good.map { flat[f * nw + $0] }
                xw.withUnsafeBufferPointer { xb in yf.withUnsafeBufferPointer { yb in
                    var at = SortedInterpolation(x: xb, y: yb, left: 0, right: 0)
                    for r in 0..<ny { rowFlat[r] = at.value(at: ws[f * ny + r]) }
                }}
                for r in 0..<ny {
                    let i = f * ny + r, t = rowFlat[r]
                    plain.flux[i] = t > 0 ? plain.flux[i] / t : 0
                    plain.ivar[i] *= t * t
                }
            }
            var given = [Double](repeating: .nan, count: ny)
            let found = given.withUnsafeMutableBufferPointer { ImageModel.rowFlat(model, fiber: f, traces: g, into: $0.baseAddress!) }
            XCTAssertEqual(found, !good.isEmpty, "fiber \(f)")
            XCTAssertEqual(given.map(\.bitPattern), rowFlat.map(\.bitPattern), "fiber \(f)")
        }
        XCTAssertEqual(fast.flux.map(\.bitPattern), plain.flux.map(\.bitPattern))
        XCTAssertEqual(fast.ivar.map(\.bitPattern), plain.ivar.map(\.bitPattern))
        XCTAssertTrue(fast.flux[0..<ny].contains(0))   // rows beyond fiber 0's valid flat: no flux
    }

    /// Traces whose sigma is evaluated where it is read (`FiberTraceGeometry.sample` with whole-fiber closures, as
    /// the PSF's traces give it) give the table that sampling each wavelength gives, whole and at single rows.
    func testTraceSigmaEvaluatedWhereReadEqualsTheTable() {
        let nspec = 7, ny = 301
        let x: @Sendable (Int, Double) -> Double = { f, w in 12 + 7.5 * Double(f) + 1e-4 * (w - 6000) }
        let y: @Sendable (Int, Double) -> Double = { f, w in (w - 5590) * 1.31 + 0.2 * Double(f) }
        let sigma: @Sendable (Int, Double) -> Double = { f, w in 1.05 + 2e-5 * (w - 5600) + 0.01 * Double(f) }
        let table = FiberTraceGeometry.sample(nspec: nspec, ny: ny, wavemin: 5600, wavemax: 5800, x: x, y: y, xsig: sigma)
        let lazy = FiberTraceGeometry.sample(nspec: nspec, ny: ny, wavemin: 5600, wavemax: 5800,
                                             x: { f, w in w.map { x(f, $0) } }, y: { f, w in w.map { y(f, $0) } },
                                             xsig: { f, w in w.map { sigma(f, $0) } })
        XCTAssertEqual(lazy.wave.map(\.bitPattern), table.wave.map(\.bitPattern))
        XCTAssertEqual(lazy.xsig!.map(\.bitPattern), table.xsig!.map(\.bitPattern))
        for (f, r) in [(0, 0), (3, 150), (6, 300)] {
            XCTAssertEqual(lazy.xsig(fiber: f, row: r), table.xsig![f * ny + r])
            XCTAssertEqual(lazy.xsig(fiber: f, row: r), sigma(f, table.wave[f * ny + r]))
        }
        XCTAssertNil(FiberTraceGeometry(nspec: 1, ny: 2, x: [0, 0], wave: [1, 2], xsig: nil).xsig(fiber: 0, row: 1))
    }

    /// The model's projection (`TraceCounts.project`: four fibers in vector lanes, weights by a recurrence of three
    /// exponentials) against the plain Gaussian sums (desispec's numba_proj: each weight its own exp, normalised on
    /// the columns on the CCD): within 1e-13 of the row's largest value; and bit for bit what one fiber at a time
    /// gives (`addFiber`), so that the lanes change no value. Fibers cut by both edges of the CCD, a sigma too small
    /// for the recurrence, a NaN sigma, no counts.
    func testProjectionEqualsThePlainGaussianSums() {
        // groups of four: fibers 0-3 (0 cut by the edge) and 4-7 (4 without a usable sigma) one at a time, 8-11 in
        // lanes, 12-14 the rest (14 cut by the other edge)
        let nspec = 15, ny = 40, nx = 140
        var rng = SimulationRandom(seed: 17)
        var xs = [Double](repeating: 0, count: nspec * ny), sig = xs, ws = xs
        var counts = [Double](repeating: 0, count: nspec * ny)
        for f in 0..<nspec {
            for r in 0..<ny {
                let i = f * ny + r
                xs[i] = 1.3 + 9.1 * Double(f) + 0.4 * sin(Double(r) / 7) + 0.05 * rng.gaussian()
                sig[i] = 0.7 + 0.8 * rng.uniform()
                ws[i] = 5600 + Double(r)
                counts[i] = f == 10 ? 0 : 500 + 300 * rng.uniform()
            }
        }
        for r in 0..<ny { sig[4 * ny + r] = r % 2 == 0 ? 0.05 : .nan; xs[14 * ny + r] = Double(nx) - 1.7 }
        let g = FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: sig)
        let model = ImageModel.TraceCounts(counts: counts, traces: g, nx: nx)
        for r in 0..<ny {
            var fast = [Double](repeating: .nan, count: nx), single = [Double](repeating: 0, count: nx)
            fast.withUnsafeMutableBufferPointer { model.project(row: r, into: $0) }
            single.withUnsafeMutableBufferPointer { b in for f in 0..<nspec { model.addFiber(f, row: r, into: b) } }
            XCTAssertEqual(fast.map(\.bitPattern), single.map(\.bitPattern), "row \(r)")
            var plain = [Double](repeating: 0, count: nx)
            for f in 0..<nspec {
                let k = f * ny + r, x = xs[k], s = 1.1 * sig[k]
                let cols = max(0, Int(x - 3))..<min(nx, Int(x + 3 + 1))
                let w = cols.map { exp(-(Double($0) - x) * (Double($0) - x) / (2 * s * s)) }
                let sum = w.reduce(0, +)
                guard sum > 0 else { continue }
                for (j, i) in cols.enumerated() { plain[i] += counts[k] * w[j] / sum }
            }
            let scale = plain.max()!
            for i in 0..<nx { XCTAssertEqual(fast[i], plain[i], accuracy: 1e-13 * scale, "row \(r) column \(i)") }
            XCTAssertGreaterThan(scale, 50)
        }
    }

    /// ImageModel.convolveSame on a range of outputs equals the whole convolution there (edges, vector blocks and
    /// ranges of every alignment) and leaves the other outputs alone.
    func testConvolutionOnARangeEqualsTheWholeConvolution() {
        var rng = SimulationRandom(seed: 31)
        let a = (0..<500).map { _ in 100 + 10 * rng.gaussian() }
        let kernel = (0..<113).map { k -> Double in let u = Double(k - 56) / 19; return exp(-u * u / 2) }
        let whole = ImageModel.convolveSame(a, kernel)
        for range in [0..<500, 0..<1, 3..<60, 55..<57, 56..<64, 57..<66, 200..<333, 440..<500, 499..<500, 120..<120] {
            var part = [Double](repeating: -1, count: a.count)
            ImageModel.convolveSame(a, kernel, outputs: range, into: &part)
            for i in 0..<a.count {
                if range.contains(i) { XCTAssertEqual(part[i].bitPattern, whole[i].bitPattern, "output \(i) of \(range)") }
                else { XCTAssertEqual(part[i], -1, "output \(i) outside \(range)") }
            }
        }
    }

    /// ImageModel.smooth (the second smoothing only near the replaced rows) against the plain form (the whole
    /// second convolution), on spectra with lines that fail the 5-sigma test near each other, near the ends and alone.
    func testSmoothingEqualsThePlainForm() {
        let nspec = 6, ny = 700
        var rng = SimulationRandom(seed: 41)
        var xs = [Double](repeating: 0, count: nspec * ny), ws = xs
        var flux = xs, ivar = xs
        for f in 0..<nspec {
            for r in 0..<ny {
                let i = f * ny + r
                xs[i] = 20 + 8 * Double(f); ws[i] = 6000 + 0.55 * Double(r)
                var v = 200 + 10 * rng.gaussian()
                for (at, height) in [(3, 900.0), (150, 600.0), (190, 700.0), (500, 5000.0), (698, 800.0)] where f != 2 {
                    v += height * exp(-pow(Double(r - at), 2) / 2)
                }
                flux[i] = v; ivar[i] = r % 97 == 0 ? 0 : 1 / 100
            }
        }
        let g = FiberTraceGeometry(nspec: nspec, ny: ny, x: xs, wave: ws, xsig: nil)
        let spectra = ImageModel.RowSpectra(flux: flux, ivar: ivar)
        var smoothed = spectra
        ImageModel.smooth(&smoothed, traces: g, nsig: 5)
        let fast = smoothed.flux
        // the plain form
        var meanStep = 0.0
        for r in 0..<ny { meanStep += ImageModel.gradient(ws, offset: (nspec / 2) * ny, count: ny, at: r) }
        let sigma = 10 / (meanStep / Double(ny)), hw = Int(3 * sigma)
        var kernel = (0...(2 * hw)).map { k -> Double in let u = Double(k - hw); return exp(-u * u / sigma / sigma / 2) }
        let ks = kernel.reduce(0, +)
        kernel = kernel.map { $0 / ks }
        var replaced = 0
        for f in 0..<nspec {
            let fl = Array(flux[(f * ny)..<((f + 1) * ny)]), iv = Array(ivar[(f * ny)..<((f + 1) * ny)])
            var sm = ImageModel.convolveSame(fl, kernel)
            let out = (0..<ny).map { iv[$0] * (fl[$0] - sm[$0]) * (fl[$0] - sm[$0]) >= 25 }
            let good = (0..<ny).filter { !out[$0] }
            if good.count < ny {
                replaced += ny - good.count
                let gx = good.map(Double.init), gy = good.map { fl[$0] }
                let t = (0..<ny).map { out[$0] ? Interpolation.linear(x: gx, y: gy, at: Double($0)) : fl[$0] }
                sm = ImageModel.convolveSame(t, kernel)
                for r in 0..<ny where out[r] { sm[r] = fl[r] }
            }
            XCTAssertEqual(Array(fast[(f * ny)..<((f + 1) * ny)]).map(\.bitPattern), sm.map(\.bitPattern), "fiber \(f)")
        }
        XCTAssertGreaterThan(replaced, 20)   // the lines were replaced: the partial path ran
    }

    /// ModelVariance.RowInputs.lanes (four pixels per AVX register) against `pixel` (the scalar form) on inputs that
    /// take every branch: no weight, outliers, negative and NaN model sums, flat at and below 0.001, a background.
    func testModelVarianceLanesEqualThePixelForm() {
        var rng = SimulationRandom(seed: 51)
        let n = 4001
        var model = (0..<n).map { _ in 300 * abs(rng.gaussian()) }
        var dark = (0..<n).map { _ in rng.gaussian() }
        var flat = (0..<n).map { i -> Double in
            i % 17 == 0 ? 0.001 : (i % 19 == 0 ? -0.5 : (i % 23 == 0 ? 0.0005 : 1 + 0.05 * rng.gaussian()))
        }
        var background = (0..<n).map { _ in 5 * rng.gaussian() }
        var pix = (0..<n).map { i -> Float in Float(model[i] + (i % 11 == 0 ? 500 : 10 * rng.gaussian())) }
        let readnoise = (0..<n).map { i -> Float in i % 29 == 0 ? 0 : Float(3 + rng.gaussian()) }
        let ivar0 = (0..<n).map { i -> Float in i % 13 == 0 ? 0 : (i % 31 == 0 ? -1 : Float(1 / (abs(model[i]) + 9))) }
        for i in stride(from: 7, to: n, by: 101) { model[i] = -model[i] - 50; pix[i] = 0 }   // negative sums
        model[40] = .nan; dark[60] = .nan; pix[80] = .nan; flat[100] = .nan
        // models on the 5-sigma bound itself, (p - m)^2 / (1 / w + 0.01 m^2) = 25 (the root of 0.75 m^2 - 2 p m + p^2 -
        // 25 / w), moved by -3 ... 3 ulps: the lanes' product form cannot tell, their divisions decide as `pixel`'s
        var sides = Set<Bool>()
        for i in stride(from: 3, to: n, by: 37) where ivar0[i] > 0 && i != 80 {
            let p = Double(pix[i]), w = Double(ivar0[i])
            var m = (2 * p + (p * p + 75 / w).squareRoot()) / 1.5
            for _ in 0..<(i % 7) { m = m.nextUp }
            for _ in 0..<3 { m = m.nextDown }
            model[i] = m
            sides.insert((p - m) * (p - m) / (1 / w + 0.01 * m * m) > 25)
        }
        XCTAssertEqual(sides, [false, true], "models on both sides of the bound")
        for withBackground in [false, true] {
            var scalar = ivar0, lanes = ivar0
            model.withUnsafeMutableBufferPointer { mb in dark.withUnsafeMutableBufferPointer { db in
            flat.withUnsafeMutableBufferPointer { fb in background.withUnsafeMutableBufferPointer { bb in
            pix.withUnsafeBufferPointer { pb in readnoise.withUnsafeBufferPointer { rb in
                let row = ModelVariance.RowInputs(model: mb.baseAddress!, dark: db.baseAddress!, flat: fb.baseAddress!,
                                                  pix: pb.baseAddress!, readnoise: rb.baseAddress!,
                                                  background: withBackground ? bb.baseAddress! : nil)
                scalar.withUnsafeMutableBufferPointer { s in for x in 0..<n { row.pixel(x, ivar: s.baseAddress!) } }
                lanes.withUnsafeMutableBufferPointer { l in
                    var x = 0
                    while x + 4 <= n { row.lanes(x, ivar: l.baseAddress!); x += 4 }
                    while x < n { row.pixel(x, ivar: l.baseAddress!); x += 1 }
                }
            }}}}}}
            XCTAssertEqual(lanes.map(\.bitPattern), scalar.map(\.bitPattern), "background \(withBackground)")
            XCTAssertGreaterThan(zip(scalar, ivar0).filter { $0 != $1 }.count, n / 2)   // the variance was set
        }
    }
}

/// The read noise of a segment (four pixels at a time with the vector square root) equals the plain form
/// sqrt(rdnoise^2 + max(bias x gain, 0)), then sqrt(rn^2 + darknoise^2) with a dark, bit for bit: biases negative,
/// -0, NaN and infinite included, segments of every width mod 4, per-row read noise.
final class SegmentReadNoiseTests: XCTestCase {
    func testSegmentReadNoiseEqualsThePlainForm() {
        let region = CCDRegion(rows: 0..<4, cols: 0..<40)
        let sections = AmplifierSections(name: "A", ccd: region, data: region, bias: region, overscanRows: nil)
        var rng = SplitMix64(seed: 5)
        var bias = (0..<40).map { _ in Double(rng.next() % 2000) / 10 - 20 }
        bias[3] = -0.0; bias[6] = .nan; bias[11] = .infinity; bias[17] = -.infinity; bias[22] = 0
        for withDark in [false, true] {
            for perRow in [false, true] {
                let plan = AmplifierPlan(sections: sections, gain: 1.7, saturationADU: 65535, rowLevel: [0, 0, 0, 0],
                                         readnoise: 3.1, readnoisePerRow: perRow ? [2.9, 3.3, 4.0, 3.0] : nil,
                                         darkNoise: withDark ? 0.83 : nil, flags: 0, cards: [], notes: [])
                let dark = DarkImage(rate: CalibrationPlane([Float](repeating: 0, count: 160)), ny: 4, nx: 40, exptime: 1)
                let pass = PixelPass(ny: 4, nx: 40, raw: RawPixels(raw: UnsafeBufferPointer(start: nil, count: 0), bias: nil),
                                     rawNx: 40, plans: [plan], bias: nil, dark: withDark ? dark : nil)
                for w in [0, 1, 3, 4, 5, 8, 13, 40] {
                    for k in 0..<4 {
                        var out = [Double](repeating: -1, count: w)
                        bias.withUnsafeBufferPointer { b in
                            out.withUnsafeMutableBufferPointer { o in
                                pass.segmentReadNoise(plan, planRow: k, bias: b.baseAddress!, count: w, into: o.baseAddress!)
                            }
                        }
                        let rdn = plan.readnoisePerRow?[k] ?? plan.readnoise
                        for j in 0..<w {
                            var expected = (rdn * rdn + max(bias[j] * plan.gain, 0)).squareRoot()
                            if let dn = plan.darkNoise { expected = (expected * expected + dn * dn).squareRoot() }
                            XCTAssertTrue(out[j].bitPattern == expected.bitPattern || (out[j].isNaN && expected.isNaN),
                                          "dark \(withDark) row \(k) width \(w) pixel \(j): \(out[j]) vs \(expected)")
                        }
                    }
                }
            }
        }
    }
}
