import DESICore
import FITS
import Foundation
import LinearAlgebra

/// A model of the expected counts of a preprocessed image (desispec.image_model.compute_image_model), from which
/// `--model-variance` derives a Poisson variance that does not depend on each pixel's own noise:
/// 1. boxcar extraction of every fiber, 7 pixels wide, per CCD row (desispec.qproc.qextract), counts per Angstrom;
/// 2. with a fiber flat: spectra divided by it (qproc_apply_fiberflat) and a crude sky, the median of the faintest
///    half of the fibers subtracted five times on a grid twice as fine as the rows (qproc_sky_subtraction);
/// 3. each spectrum smoothed by a Gaussian of 10 Angstrom sigma, except where it differs from its smooth version by
///    more than 5 sigma (those rows keep the extracted value so that bright lines keep a fair variance);
/// 4. (sky + smooth) x flat, negative values set to 0, per pixel of dispersion, projected back onto the CCD with a
///    Gaussian cross-dispersion profile of 1.1 x the traces' sigma over +-3 columns, normalised on those columns.
/// The trace x shift that desispec fits first is the traces provider's job (see `PreprocOptions.traces`).
public enum ImageModel {
    /// Spectra per fiber and CCD row (desispec's QFrame): [nspec * ny] each.
    struct RowSpectra {
        var flux: [Double]
        var ivar: [Double]
    }

    /// The model image [ny * nx], electrons per pixel (`traceCounts` projected onto every row).
    /// `mask`: the preprocessed image's mask; its pixels with a `defectBits` bit do not enter the boxcar (see `boxcar`).
    public static func compute(pix: [Float], ivar: [Float], ny: Int, nx: Int, traces g: FiberTraceGeometry,
                               fiberflat: ModelFiberFlat?, mask: [UInt32]? = nil) throws -> [Double] {
        let counts = try traceCounts(pix: pix, ivar: ivar, ny: ny, nx: nx, traces: g, fiberflat: fiberflat, mask: mask)
        var image = [Double](unsafeUninitializedCapacity: ny * nx) { _, n in n = ny * nx }
        image.withUnsafeMutableBufferPointer { ib in
            let img = SharedBuffer(ib)
            let blocks = max(1, min(ny, 128))
            parallelFor(blocks) { b in
                for r in (ny * b / blocks)..<(ny * (b + 1) / blocks) {
                    counts.project(row: r, into: UnsafeMutableBufferPointer(start: img.base + r * nx, count: nx))
                }
            }
        }
        return image
    }

    /// The model counts of every fiber at every CCD row (steps 1 to 4 above), before their projection onto the CCD
    /// (`TraceCounts.project`, row by row, so that the model image need not be held whole).
    static func traceCounts(pix: [Float], ivar: [Float], ny: Int, nx: Int, traces g: FiberTraceGeometry,
                            fiberflat: ModelFiberFlat?, mask: [UInt32]? = nil) throws -> TraceCounts {
        guard g.ny == ny else { throw DESIError.mismatch("traces sampled on \(g.ny) rows, image has \(ny)") }
        if let ff = fiberflat, ff.nspec < g.nspec {
            throw DESIError.mismatch("fiber flat has \(ff.nspec) fibers, the traces \(g.nspec)")
        }
        // (each [nspec x ny] array made once and changed in place: fresh memory costs its clearing)
        var spectra = boxcar(pix: pix, ivar: ivar, nx: nx, traces: g, mask: mask)
        var sky: [Double]? = nil
        if let ff = fiberflat {
            applyFiberFlat(&spectra, fiberflat: ff, traces: g)
            sky = subtractSky(&spectra, traces: g)
        }
        smooth(&spectra, traces: g, nsig: 5)
        var model = spectra.flux
        spectra = RowSpectra(flux: [], ivar: [])   // model the flux's only reference: changed in place
        model.withUnsafeMutableBufferPointer { m in
            if let sky, let ff = fiberflat {
                let out = SharedBuffer(m)
                sky.withUnsafeBufferPointer { skb in
                    nonisolated(unsafe) let sk = skb
                    parallelFor(g.nspec) { f in
                        let fl = UnsafeMutableBufferPointer<Double>.allocate(capacity: ny)
                        defer { fl.deallocate() }
                        rowFlat(ff, fiber: f, traces: g, into: fl.baseAddress!)
                        // (loops over pointers, so that they run in vector lanes: the same operations)
                        let mo = out.base + f * ny, so = sk.baseAddress! + f * ny
                        for r in 0..<ny { let v = (so[r] + mo[r]) * fl[r]; mo[r] = v > 0 ? v : 0 }
                    }
                }
            } else {
                for i in 0..<m.count { let v = (sky?[i] ?? 0) + m[i]; m[i] = v > 0 ? v : 0 }
            }
            // counts per Angstrom back to counts per row (numpy.gradient of the wavelengths along the rows: central
            // differences inside, one-sided at the ends)
            g.wave.withUnsafeBufferPointer { w in
                for f in 0..<g.nspec {
                    let o = f * ny
                    guard ny > 2 else { for r in 0..<ny { m[o + r] *= gradient(g.wave, offset: o, count: ny, at: r) }; continue }
                    m[o] *= gradient(g.wave, offset: o, count: ny, at: 0)
                    for r in 1..<(ny - 1) { m[o + r] *= (w[o + r + 1] - w[o + r - 1]) / 2 }
                    m[o + ny - 1] *= gradient(g.wave, offset: o, count: ny, at: ny - 1)
                }
            }
        }
        return TraceCounts(counts: model, traces: g, nx: nx)
    }

    /// numpy.gradient of values[offset ..< offset + count] at index r: central differences, one-sided at the ends.
    @inline(__always)
    static func gradient(_ v: [Double], offset o: Int, count n: Int, at r: Int) -> Double {
        guard n > 1 else { return 0 }
        if r == 0 { return v[o + 1] - v[o] }
        if r == n - 1 { return v[o + n - 1] - v[o + n - 2] }
        return (v[o + r + 1] - v[o + r - 1]) / 2
    }

    /// Mask bits of the CCD's known defects (the calibration mask, a zero or low pixel flat, a bad amplifier): their
    /// pixels hold no usable signal, so the boxcar leaves them out.
    public static let defectBits: UInt32 = CCDMask.bad | CCDMask.hot | CCDMask.dead | CCDMask.pixflatZero
        | CCDMask.pixflatLow | CCDMask.badAmp

    /// qproc_boxcar_extraction: sum of the 7 pixels int(x - 3) ... int(x + 3) of each row (0 with no weight when any
    /// has none), divided by the wavelength step to the previous row (the first row extrapolates it).
    ///
    /// Unlike desispec, pixels with a `defectBits` bit in `mask` are left out and the sum of the others is divided by
    /// the fraction of the profile they hold (the projection's Gaussian of 1.1 x sigma, `project`); a row keeps no
    /// value when they hold less than half of it. desispec sums a hot or dead column as if it were signal: a fiber
    /// whose box holds a column 200 e hot gets a model several times too bright, its pixels then fail the 5-sigma
    /// test of `ModelVariance` and take the variance of their own noisy values, which biases the fiber's extraction
    /// low (a sky fiber next to a hot column biased the demo's sky model and every coadd by +0.27 sigma).
    static func boxcar(pix: [Float], ivar: [Float], nx: Int, traces g: FiberTraceGeometry,
                       mask: [UInt32]? = nil) -> RowSpectra {
        let ny = g.ny, nspec = g.nspec, hw = 3.0
        var flux = LargeArrays.filled(0.0, count: nspec * ny), fiv = LargeArrays.filled(0.0, count: nspec * ny)
        // row blocks, every fiber of a row together (the rows' pixels are read once, in order); each (fiber, row)
        // is independent of the others
        pix.withUnsafeBufferPointer { pp in
        ivar.withUnsafeBufferPointer { ivp in
        flux.withUnsafeMutableBufferPointer { fb in
        fiv.withUnsafeMutableBufferPointer { vb in
            nonisolated(unsafe) let pix = pp, ivar = ivp
            let fl = SharedBuffer(fb), fi = SharedBuffer(vb)
            let blocks = max(1, min(ny, 64))
            parallelFor(blocks) { b in
                for r in (ny * b / blocks)..<(ny * (b + 1) / blocks) {
                    let row = r * nx
                    for f in 0..<nspec {
                        let o = f * ny
                        let x = g.x[o + r]
                        let lo = Int(x - hw), hi = Int(x + hw + 1)
                        var s = 0.0, v = 0.0, ok = lo >= 0 && hi <= nx
                        if ok, let m = mask, (lo..<hi).contains(where: { m[row + $0] & defectBits != 0 }) {
                            (s, v, ok) = profileScaledSum(pix: pix, ivar: ivar, mask: m, row: r, nx: nx, columns: lo..<hi,
                                                          x: x, sigma: 1.1 * (g.xsig(fiber: f, row: r) ?? 1))
                        } else if ok && hi - lo == 7 {
                            // the seven reciprocals in the lanes of a vector (their divisions were the loop's critical
                            // path), then both sums in column order as below: the same values
                            let p = ivar.baseAddress! + row + lo
                            let iv = SIMD8<Double>(Double(p[0]), Double(p[1]), Double(p[2]), Double(p[3]), Double(p[4]),
                                                   Double(p[5]), Double(p[6]), 1)
                            if any(iv .<= 0) || any(iv .!= iv) {
                                ok = false
                            } else {
                                let inverse = 1 / iv
                                for j in 0..<7 { s += Double(pix[row + lo + j]); v += inverse[j] }
                            }
                        } else if ok {
                            for i in lo..<hi {
                                let iv = Double(ivar[row + i])
                                guard iv > 0 else { ok = false; break }
                                s += Double(pix[row + i]); v += 1 / iv
                            }
                        }
                        guard ok, v > 0 else { continue }
                        let dw = rowStep(g.wave, offset: o, count: ny, at: r)
                        fl[o + r] = s / dw
                        fi[o + r] = dw * dw / v
                    }
                }
            }
        }}}}
        return RowSpectra(flux: flux, ivar: fiv)
    }

    /// The boxcar sum and variance of one row's box without its defective pixels, divided by the fraction f of the
    /// Gaussian profile the other pixels hold (variance by f^2); not ok when f < 1/2 or a kept pixel has no weight.
    static func profileScaledSum(pix: UnsafeBufferPointer<Float>, ivar: UnsafeBufferPointer<Float>, mask: [UInt32],
                                 row r: Int, nx: Int, columns: Range<Int>, x: Double,
                                 sigma: Double) -> (sum: Double, variance: Double, ok: Bool) {
        var s = 0.0, v = 0.0, kept = 0.0, total = 0.0
        for i in columns {
            let d = Double(i) - x
            let w = exp(-d * d / (2 * sigma * sigma))
            total += w
            guard mask[r * nx + i] & defectBits == 0 else { continue }
            let iv = Double(ivar[r * nx + i])
            guard iv > 0 else { return (0, 0, false) }
            s += Double(pix[r * nx + i]); v += 1 / iv; kept += w
        }
        guard total > 0, kept >= 0.5 * total else { return (0, 0, false) }
        let f = kept / total
        return (s / f, v / (f * f), true)
    }

    /// The wavelength step of row r from the previous row (row 0: 2 d1 - d2), as qproc_boxcar_extraction.
    @inline(__always)
    static func rowStep(_ w: [Double], offset o: Int, count n: Int, at r: Int) -> Double {
        if r > 0 { return w[o + r] - w[o + r - 1] }
        guard n > 2 else { return n > 1 ? w[o + 1] - w[o] : 1 }
        return 2 * (w[o + 1] - w[o]) - (w[o + 2] - w[o + 1])
    }

    /// qproc_apply_fiberflat: the flat (`ModelFiberFlat`) at each row's wavelength divides the flux (0 where the flat
    /// is 0) and multiplies the ivar by its square; a fiber with no valid flat value gets ivar 0. The flat per (fiber,
    /// row) is not kept: `rowFlat` gives it again where the model is multiplied back (16.5 MB less memory while the
    /// sky is subtracted, for a full-size camera).
    static func applyFiberFlat(_ s: inout RowSpectra, fiberflat ff: ModelFiberFlat, traces g: FiberTraceGeometry) {
        let ny = g.ny
        s.flux.withUnsafeMutableBufferPointer { fb in
        s.ivar.withUnsafeMutableBufferPointer { vb in
            let flux = SharedBuffer(fb), ivar = SharedBuffer(vb)
            parallelFor(g.nspec) { f in
                let o = f * ny
                let t = UnsafeMutableBufferPointer<Double>.allocate(capacity: ny)
                defer { t.deallocate() }
                guard rowFlat(ff, fiber: f, traces: g, into: t.baseAddress!) else {
                    for r in 0..<ny { ivar[o + r] = 0 }
                    return
                }
                for r in 0..<ny {
                    flux[o + r] = t[r] > 0 ? flux[o + r] / t[r] : 0
                    ivar[o + r] *= t[r] * t[r]
                }
            }
        }}
    }

    /// Fiber f's flat at its rows' wavelengths (1 at every row for a fiber with no valid flat value, which returns
    /// false).
    @discardableResult
    static func rowFlat(_ ff: ModelFiberFlat, fiber f: Int, traces g: FiberTraceGeometry,
                        into out: UnsafeMutablePointer<Double>) -> Bool {
        let found = g.wave.withUnsafeBufferPointer { wb in
            ff.values(fiber: f, at: wb.baseAddress! + f * g.ny, count: g.ny, into: out)
        }
        if !found { out.update(repeating: 1, count: g.ny) }
        return found
    }

    /// qproc_sky_subtraction with no fibermap: the faintest half of the fibers (median flux) are the sky; five
    /// times, their median spectrum on a grid of 2 ny wavelengths is interpolated at every fiber's rows, subtracted
    /// where the flux is not 0 and added to the sky model, which is returned ([nspec * ny]).
    ///
    /// The sky fibers' valid rows (ivar > 0) and their wavelengths do not change between the iterations (only the
    /// fluxes do): they are gathered once, with the segment of them each grid wavelength falls in (`SkySegments`).
    /// The resampled sky fibers are kept wavelength by wavelength (each grid point's values contiguous, in sky-fiber
    /// order), written by tiles of grid points that stay in the cache, so that each median reads one run of memory;
    /// the medians of neighbouring grid points are close (BracketedMedian). The median sky is subtracted where it is
    /// interpolated (no full-size array of it). Same values, in the same order, as the plain form
    /// (`PreprocKernelTests.testSkySubtractionEqualsThePlainForm`).
    static func subtractSky(_ s: inout RowSpectra, traces g: FiberTraceGeometry) -> [Double] {
        let ny = g.ny, nspec = g.nspec
        var sky = LargeArrays.filled(0.0, count: nspec * ny)
        guard nspec > 1, ny > 1 else { return sky }
        let medians = (0..<nspec).map { f in Statistics.median(Array(s.flux[(f * ny)..<((f + 1) * ny)])) }
        let skyFibers = Array((0..<nspec).sorted { (medians[$0], $0) < (medians[$1], $1) }.prefix(nspec / 2).sorted())
        let wmin = g.wave.min()!, wmax = g.wave.max()!
        let nt = 2 * ny, nsky = skyFibers.count
        let twave = (0..<nt).map { wmin + (wmax - wmin) * Double($0) / Double(nt - 1) }
        // each sky fiber's rows with weight (none: the fiber's resampled values are 0), their wavelengths and segments
        let segments = SkySegments(fibers: skyFibers, ivar: s.ivar, wave: g.wave, ny: ny, grid: twave)
        var ttsky = [Double](repeating: 0, count: nt)
        var skies: [Double] = []   // the median sky of each iteration, nt values each
        let isSky = Set(skyFibers), otherFibers = (0..<nspec).filter { !isSky.contains($0) }
        // the skies `ks` (indices into `skies`) in turn at every row of `fibers`: each subtracted from the flux (where
        // it is not 0) and added to the sky model
        func subtract(skies ks: Range<Int>, fibers: [Int]) {
            twave.withUnsafeBufferPointer { xb in
            skies.withUnsafeBufferPointer { yb in
            s.flux.withUnsafeMutableBufferPointer { fb in
            sky.withUnsafeMutableBufferPointer { kb in
                nonisolated(unsafe) let x = xb, y = yb
                let flux = SharedBuffer(fb), model = SharedBuffer(kb)
                let grid = EvenGridInterpolation(x: x)
                parallelFor(fibers.count) { k in
                    let o = fibers[k] * ny
                    // per row, what every sky's interpolation shares: the grid segment, t - x[i] and the segment's
                    // width; then each sky in turn over the rows, four at a time in vector lanes (each value still
                    // gets the skies in order, with the same operations as `grid.value`)
                    let segment = UnsafeMutableBufferPointer<Int>.allocate(capacity: ny)
                    let offset = UnsafeMutableBufferPointer<Double>.allocate(capacity: ny)
                    let width = UnsafeMutableBufferPointer<Double>.allocate(capacity: ny)
                    defer { segment.deallocate(); offset.deallocate(); width.deallocate() }
                    for r in 0..<ny {
                        let t = g.wave[o + r], i = grid.segment(t)
                        segment[r] = i
                        if i >= 0 { offset[r] = t - x[i]; width[r] = x[i + 1] - x[i] }
                    }
                    for j in ks {
                        let sky = y.baseAddress! + j * nt
                        var r = 0
                        while r + 4 <= ny {
                            let s0 = segment[r], s1 = segment[r + 1], s2 = segment[r + 2], s3 = segment[r + 3]
                            if s0 >= 0 && s1 >= 0 && s2 >= 0 && s3 >= 0 {
                                let v = Interpolation.onSegments(
                                    y0: SIMD4(sky[s0], sky[s1], sky[s2], sky[s3]),
                                    y1: SIMD4(sky[s0 + 1], sky[s1 + 1], sky[s2 + 1], sky[s3 + 1]),
                                    offset: .load(offset.baseAddress! + r), width: .load(width.baseAddress! + r))
                                let f = SIMD4.load(flux.base + o + r)
                                f.replacing(with: f - v, where: f .!= 0).store(to: flux.base + o + r)
                                (SIMD4.load(model.base + o + r) + v).store(to: model.base + o + r)
                            } else {
                                for q in r..<(r + 4) { subtractOne(q) }
                            }
                            r += 4
                        }
                        while r < ny { subtractOne(r); r += 1 }
                        func subtractOne(_ r: Int) {
                            let i = o + r, v = grid.value(sky, segment: segment[r], at: g.wave[i])
                            if flux[i] != 0 { flux[i] -= v }
                            model[i] += v
                        }
                    }
                }
            }}}}
        }
        let tile = 64, ntile = (nt + tile - 1) / tile
        let iterations = 5
        // the sky fibers' fluxes at their valid rows, one fiber after the other (as the segments' wavelengths)
        var values = [Double](unsafeUninitializedCapacity: segments.wave.count) { _, n in n = segments.wave.count }
        for iteration in 0..<iterations {
            values.withUnsafeMutableBufferPointer { vb in
            s.flux.withUnsafeBufferPointer { fb in
                let out = SharedBuffer(vb)
                nonisolated(unsafe) let flux = fb
                parallelFor(nsky) { k in segments.gather(flux, fiber: k, into: out.base + segments.start[k]) }
            }}
            values.withUnsafeBufferPointer { vb in
            segments.wave.withUnsafeBufferPointer { wb in
            segments.lower.withUnsafeBufferPointer { lb in
            twave.withUnsafeBufferPointer { gb in
            ttsky.withUnsafeMutableBufferPointer { mb in
                let med = SharedBuffer(mb)
                nonisolated(unsafe) let y = vb.baseAddress!, wave = wb.baseAddress!, lower = lb.baseAddress!
                nonisolated(unsafe) let grid = gb.baseAddress!
                parallelFor(ntile) { c in
                    let t0 = c * tile, t1 = min(nt, t0 + tile)
                    // table[(t - t0) * nsky + k]: sky fiber k resampled at twave[t] (0 for a fiber with no values, as
                    // desispec's zeros): one tile's table at a time (128 KB), not the whole grid's (16.5 MB of fresh
                    // memory for a full-size camera)
                    var table = [Double](repeating: 0, count: (t1 - t0) * nsky)
                    table.withUnsafeMutableBufferPointer { tab in
                        for k in 0..<nsky {
                            let o = segments.start[k], n = segments.count[k]
                            guard n > 0 else { continue }
                            SkySegments.resample(y + o, count: n, wave: wave + o, lower: lower + k * nt, grid: grid,
                                                 points: t0..<t1, into: tab.baseAddress! + k, stride: nsky)
                        }
                        var medians = BracketedMedian(count: nsky)
                        var column = [Double](repeating: 0, count: nsky)
                        column.withUnsafeMutableBufferPointer { col in
                            for t in t0..<t1 {
                                _ = col.update(fromContentsOf: UnsafeBufferPointer(start: tab.baseAddress! + (t - t0) * nsky, count: nsky))
                                med[t] = medians.median(col)
                            }
                        }
                    }
                }
            }}}}}
            // the median sky at the sky fibers' rows, subtracted and added to their sky model (the next median reads them)
            skies += ttsky
            subtract(skies: iteration..<(iteration + 1), fibers: skyFibers)
        }
        // the other fibers' five subtractions in one pass: no median reads their fluxes, and each of their values goes
        // through the same operations in the same order (the grid segment of a row found once for the five)
        subtract(skies: 0..<iterations, fibers: otherFibers)
        return sky
    }

    /// The sky fibers' valid wavelengths (rows with ivar > 0), one fiber after the other, and for each fiber and grid
    /// wavelength the segment SortedInterpolation (left and right: the end values) takes there: `resample` gives a
    /// fiber's fluxes at the grid wavelengths with its arithmetic. Flat arrays, gathered straight from the spectra
    /// (no array per fiber: 16 MB less memory to fault in for a full-size camera) and read through pointers in the
    /// resampling loops (arrays per fiber were retained and released at every use, 1 % of a model-variance
    /// preprocessing).
    struct SkySegments: Sendable {
        /// The sky fibers (their first rows at fiber x ny in the spectra).
        let fibers: [Int], ny: Int
        /// The weights the valid rows are taken from ([nspec x ny], unchanged while the segments are used).
        let ivar: [Double]
        /// Per fiber: where its wavelengths (and its fluxes, stored alike) start in `wave`, and how many (0: none).
        let start: [Int], count: [Int]
        let wave: [Double]
        /// [fiber x grid count + t]: the lower index i (in the fiber's values) of the segment [i, i + 1] of grid
        /// point t, or -1 (the first value), -2 (the last value).
        let lower: [Int32]

        init(fibers: [Int], ivar: [Double], wave rowWave: [Double], ny: Int, grid: [Double]) {
            self.fibers = fibers; self.ny = ny; self.ivar = ivar
            let count = fibers.map { f in (0..<ny).reduce(0) { $0 + (ivar[f * ny + $1] > 0 ? 1 : 0) } }
            var start = [Int](), at = 0
            for n in count { start.append(at); at += n }
            var wave = [Double](unsafeUninitializedCapacity: at) { b, n in n = at }
            for (k, f) in fibers.enumerated() {
                var j = start[k]
                for r in 0..<ny where ivar[f * ny + r] > 0 { wave[j] = rowWave[f * ny + r]; j += 1 }
            }
            self.start = start; self.count = count; self.wave = wave
            let nt = grid.count
            var lower = [Int32](repeating: 0, count: fibers.count * nt)
            lower.withUnsafeMutableBufferPointer { lb in
            wave.withUnsafeBufferPointer { wb in
                let out = SharedBuffer(lb)
                nonisolated(unsafe) let all = wb
                parallelFor(fibers.count) { k in
                    let n = count[k], wave = UnsafeBufferPointer(rebasing: all[start[k]..<(start[k] + n)])
                    guard n > 0 else { return }
                    var upper = 0
                    for (t, x) in grid.enumerated() {
                        let i = k * nt + t
                        if x < wave[0] { out[i] = -1; continue }
                        if x >= wave[n - 1] || n == 1 { out[i] = -2; continue }
                        while upper < n && wave[upper] <= x { upper += 1 }   // the grid increases: walked along
                        out[i] = Int32(max(upper - 1, 0))
                    }
                }
            }}
            self.lower = lower
        }

        /// Sky fiber k's fluxes at its valid rows, in row order (as its wavelengths in `wave`), written from `out` on.
        func gather(_ flux: UnsafeBufferPointer<Double>, fiber k: Int, into out: UnsafeMutablePointer<Double>) {
            let o = fibers[k] * ny
            var j = 0
            for r in 0..<ny where ivar[o + r] > 0 { out[j] = flux[o + r]; j += 1 }
        }

        /// One fiber's `count` values `y` (at its wavelengths `wave`, with its segments `lower`) at grid point t.
        @inline(__always)
        static func value(_ y: UnsafePointer<Double>, count n: Int, wave: UnsafePointer<Double>, lower: UnsafePointer<Int32>,
                          grid: UnsafePointer<Double>, at t: Int) -> Double {
            let i = Int(lower[t])
            if i == -1 { return y[0] }
            if i == -2 { return y[n - 1] }
            return Interpolation.onSegment(UnsafeBufferPointer(start: wave, count: n), UnsafeBufferPointer(start: y, count: n), i,
                                           at: grid[t])
        }

        /// `value` at the grid points `points`, point t written to out[(t - points.lowerBound) x stride]: four points
        /// at a time in vector lanes where all four fall inside the fiber's wavelengths (the same operations).
        static func resample(_ y: UnsafePointer<Double>, count n: Int, wave: UnsafePointer<Double>,
                             lower: UnsafePointer<Int32>, grid: UnsafePointer<Double>, points: Range<Int>,
                             into out: UnsafeMutablePointer<Double>, stride: Int) {
            let t0 = points.lowerBound
            var t = t0
            while t + 4 <= points.upperBound {
                let i0 = Int(lower[t]), i1 = Int(lower[t + 1]), i2 = Int(lower[t + 2]), i3 = Int(lower[t + 3])
                if i0 | i1 | i2 | i3 >= 0 {
                    let v = Interpolation.onSegments(wave, y, (i0, i1, i2, i3), at: SIMD4.load(grid + t))
                    let p = out + (t - t0) * stride
                    p[0] = v[0]; p[stride] = v[1]; p[2 * stride] = v[2]; p[3 * stride] = v[3]
                } else {
                    for q in t..<(t + 4) {
                        out[(q - t0) * stride] = value(y, count: n, wave: wave, lower: lower, grid: grid, at: q)
                    }
                }
                t += 4
            }
            while t < points.upperBound {
                out[(t - t0) * stride] = value(y, count: n, wave: wave, lower: lower, grid: grid, at: t)
                t += 1
            }
        }
    }

    /// The spectral smoothing of compute_image_model: Gaussian of 10 A sigma (in rows of the middle fiber), the
    /// rows farther than `nsig` sigma from the smooth spectrum replaced by interpolation before smoothing again,
    /// then given back their own value.
    /// The smoothed spectra are written over `s.flux` fiber by fiber (the model needs no third [nspec x ny] array).
    static func smooth(_ s: inout RowSpectra, traces g: FiberTraceGeometry, nsig: Double) {
        let ny = g.ny
        let mid = (g.nspec / 2) * ny
        var meanStep = 0.0
        for r in 0..<ny { meanStep += gradient(g.wave, offset: mid, count: ny, at: r) }
        meanStep /= Double(ny)
        let sigma = 10 / meanStep
        let hw = Int(3 * sigma)
        var kernel = (0...(2 * hw)).map { k -> Double in let u = Double(k - hw); return exp(-u * u / sigma / sigma / 2) }
        let ks = kernel.reduce(0, +)
        kernel = kernel.map { $0 / ks }
        let kern = kernel
        // one fiber: `flux` its spectrum, `ivar` its weights (ny values); the smoothed spectrum is returned
        let smoothedFiber = { @Sendable (flux: [Double], ivar: UnsafePointer<Double>) -> [Double] in
            var sm = convolveSame(flux, kern)
            // the rows beyond nsig sigma marked, the others kept as the nodes of the interpolation (one pass)
            var out = [Bool](repeating: false, count: ny)
            var gx = [Double](), gy = [Double]()
            gx.reserveCapacity(ny); gy.reserveCapacity(ny)
            out.withUnsafeMutableBufferPointer { o in sm.withUnsafeBufferPointer { smooth in
                for r in 0..<ny {
                    let d = flux[r] - smooth[r]
                    if ivar[r] * d * d >= nsig * nsig { o[r] = true } else { gx.append(Double(r)); gy.append(flux[r]) }
                }
            }}
            guard gx.count < ny, !gx.isEmpty else { return sm }
            var t = flux
            gx.withUnsafeBufferPointer { xb in gy.withUnsafeBufferPointer { yb in t.withUnsafeMutableBufferPointer { tb in
                var at = SortedInterpolation(x: xb, y: yb)
                for r in 0..<ny where out[r] { tb[r] = at.value(at: Double(r)) }
            }}}
            // the second smoothing differs from the first only within the kernel's reach of a replaced row: only
            // those outputs are computed again (each output is the same sum over the same inputs: the same values)
            var r = 0
            while r < ny {
                guard out[r] else { r += 1; continue }
                // replaced rows at most 2 hw + 1 apart: their reaches touch, one range of outputs
                var last = r, next = r + 1
                while next < ny && next - last <= 2 * hw + 1 { if out[next] { last = next }; next += 1 }
                convolveSame(t, kern, outputs: max(0, r - hw)..<min(ny, last + hw + 1), into: &sm)
                r = next
            }
            sm.withUnsafeMutableBufferPointer { smooth in for r in 0..<ny where out[r] { smooth[r] = flux[r] } }
            return sm
        }
        // each fiber's smoothed spectrum written over its row of the flux (its flux copied first)
        s.flux.withUnsafeMutableBufferPointer { fb in
        s.ivar.withUnsafeBufferPointer { vb in
            let out = SharedBuffer(fb)
            nonisolated(unsafe) let ivar = vb
            parallelFor(g.nspec) { f in
                let row = UnsafeMutableBufferPointer(start: out.base + f * ny, count: ny)
                let sm = smoothedFiber(Array(row), ivar.baseAddress! + f * ny)
                _ = row.update(fromContentsOf: sm)
            }
        }}
    }

    /// scipy.signal.fftconvolve(a, kernel, "same") for an odd kernel: zero beyond the ends. Each output is the sum,
    /// in kernel order, of kernel[k] x a[i + off - k] over the k that fall on `a`; where all of them do, eight
    /// outputs are summed together in two vector registers (each lane makes the same additions in the same order as
    /// the scalar sum, so the values are identical).
    static func convolveSame(_ a: [Double], _ kernel: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: a.count)
        convolveSame(a, kernel, outputs: 0..<a.count, into: &out)
        return out
    }

    /// `convolveSame` at the outputs `outputs` only, written into `out` (a.count values; the others unchanged).
    static func convolveSame(_ a: [Double], _ kernel: [Double], outputs: Range<Int>, into out: inout [Double]) {
        let n = a.count, m = kernel.count, off = (m - 1) / 2
        precondition(out.count == n && outputs.lowerBound >= 0 && outputs.upperBound <= n)
        // outputs whose whole kernel lies on a: i + off - (n - 1) <= 0 and i + off >= m - 1
        let inLo = min(n, max(0, m - 1 - off)), inHi = max(inLo, n - off)
        let vecLo = min(max(outputs.lowerBound, inLo), outputs.upperBound)
        let vecHi = max(vecLo, min(outputs.upperBound, inHi))
        let vecEnd = vecLo + (vecHi - vecLo) / 8 * 8
        a.withUnsafeBufferPointer { ap in
        kernel.withUnsafeBufferPointer { kp in
        out.withUnsafeMutableBufferPointer { op in
            let a = ap.baseAddress!, kernel = kp.baseAddress!, out = op.baseAddress!
            for i in Array(outputs.lowerBound..<vecLo) + Array(vecEnd..<outputs.upperBound) {
                var s = 0.0
                let kLo = max(0, i + off - (n - 1)), kHi = min(m - 1, i + off)
                if kLo <= kHi { for k in kLo...kHi { s += kernel[k] * a[i + off - k] } }
                out[i] = s
            }
            var i = vecLo
            while i < vecEnd {
                var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
                for k in 0..<m {
                    let w = SIMD4<Double>(repeating: kernel[k]), p = UnsafeRawPointer(a + (i + off - k))
                    s0 += w * p.loadUnaligned(as: SIMD4<Double>.self)
                    s1 += w * p.loadUnaligned(fromByteOffset: 32, as: SIMD4<Double>.self)
                }
                UnsafeMutableRawPointer(out + i).storeBytes(of: s0, as: SIMD4<Double>.self)
                UnsafeMutableRawPointer(out + i + 4).storeBytes(of: s1, as: SIMD4<Double>.self)
                i += 8
            }
        }}}
    }
}
