import DESICore
import Foundation
import LinearAlgebra

// The first, coarse correction of the traces that desi_compute_trace_shifts (desispec 0.70) makes before its x passes
// on an arc (--arc-lamps) or a continuum image (--continuum), unless --no-large-shift-scan: the fine passes measure
// offsets of a fraction of the profile's width, and an input PSF from another night or another configuration can be
// off by several fibers. desi_proc runs it on every arc before the PSF fit (shifted-input-psf), and switches it off
// for flats.

/// A position on the CCD (column x, row y, pixels).
struct CCDPoint: Sendable, Equatable {
    var x: Double, y: Double
}

/// The result of the arc scan: the offset moved onto the traces and how many spots matched at the last distance.
struct ArcLampScan: Sendable {
    var dx: Double, dy: Double
    var matched: Int, expected: Int, detected: Int
}

/// Wavelengths of the brightest lines of an arc lamp spectrum (desispec.trace_shifts.list_of_expected_spot_positions):
/// the spectrum smoothed by a Gaussian of 2 A (5 sigma each side, the kernel not normalised), its local maxima over
/// +-2 samples above a threshold that starts at min(median + 10 x 1.4 MAD, max / 5) and grows by 1.5 until at most
/// `maxLines` remain (or it reaches half the maximum), each refined to the barycentre of its 3 samples.
func arcLampPeakWavelengths(wave: [Double], flux: [Double], maxLines: Int = 50) throws -> [Double] {
    let n = wave.count
    guard n > 10, n == flux.count else { throw DESIError.invalidArgument("arc lamp spectrum needs > 10 samples") }
    // numpy.gradient: one-sided differences at the ends, centred ones inside
    let gradient = (0..<n).map { i in
        i == 0 ? wave[1] - wave[0] : i == n - 1 ? wave[n - 1] - wave[n - 2] : (wave[i + 1] - wave[i - 1]) / 2
    }
    let dw = Statistics.median(gradient), sigma = 2.0
    let hw = Int(5 * sigma / dw) + 1
    let kernel = (-hw...hw).map { k -> Double in let x = Double(k) * dw; return exp(-x * x / 2 / (sigma * sigma)) }
    let smooth = convolveSame(flux, kernel)
    let med = Statistics.median(smooth)
    let nmad = 1.4 * Statistics.median(smooth.map { abs($0 - med) })
    let maxFlux = smooth.max() ?? 0
    var threshold = min(med + 10 * nmad, maxFlux / 5)
    var peaks: [Int] = []
    while threshold < maxFlux / 2 {
        peaks = (2..<max(2, n - 2)).filter { i in
            smooth[i] > threshold && smooth[i] > smooth[i + 1] && smooth[i] > smooth[i - 1]
                && smooth[i] > smooth[i + 2] && smooth[i] > smooth[i - 2]
        }
        if peaks.count <= maxLines { break }
        threshold *= 1.5
    }
    guard !peaks.isEmpty else { throw DESIError.invalidArgument("no line found in the arc lamp spectrum") }
    return peaks.map { p in
        let s = smooth[p - 1] + smooth[p] + smooth[p + 1]
        return (wave[p - 1] * smooth[p - 1] + wave[p] * smooth[p] + wave[p + 1] * smooth[p + 1]) / s
    }
}

/// Where the traces put the lines on the CCD: for each fiber, (x, y) of every line with 0 < y < npixY; a line is
/// kept when it falls on the CCD for the first, the middle or the last trace of the set (desispec's selection).
func expectedArcSpots(lineWavelengths: [Double], xTrace: TraceSet, yTrace: TraceSet, fibers: [Int],
                      npixY: Int) -> [CCDPoint] {
    let rows = Double(npixY)
    let lines = lineWavelengths.filter { w in
        [0, yTrace.ntrace / 2, yTrace.ntrace - 1].contains { f in let y = yTrace.eval(f, w); return y > 0 && y < rows }
    }
    return fibers.flatMap { f in
        lines.compactMap { w -> CCDPoint? in
            let y = yTrace.eval(f, w)
            return y > 0 && y < rows ? CCDPoint(x: xTrace.eval(f, w), y: y) : nil
        }
    }
}

/// Spots of an arc image (desispec.large_trace_shifts.detect_spots_in_image): pixels masked or without ivar are set
/// to 0; the image and the ivar are smoothed by a normalised Gaussian of sigma 1 pixel on 7 x 7 pixels (the ivar by
/// its square), a spot is a pixel of smoothed S/N > 6 above its four neighbours, and its position is the
/// barycentre of the 7 x 7 pixels about it. The smoothing is done as two passes of 7 taps (the kernel is separable)
/// by bands of rows, the CCD's bands split into contiguous parts done in parallel (each part's buffers reused from
/// band to band); the spots come row after row. Spots whose box leaves the CCD are dropped (desispec takes the part
/// inside or none). More than 100 000 spots is an error, as in desispec (not an arc).
func detectArcSpots(_ image: Image, imagePath: String? = nil) throws -> [CCDPoint] {
    let ny = image.ny, nx = image.nx, hw = 3
    guard ny > 2 * hw + 2, nx > 2 * hw + 2 else { return [] }
    let g = (-hw...hw).map { exp(-Double($0 * $0) / 2) }
    let norm = g.reduce(0, +) * g.reduce(0, +)
    let g2 = g.map { $0 * $0 }
    let band = 64, nband = (ny + band - 1) / band
    let nparts = min(nband, 16), bandsPerPart = (nband + nparts - 1) / nparts
    let perPart = parallelMap(nparts) { part -> [CCDPoint] in
        // rows r0 - 1 - hw ..< r1 + 1 + hw of a band: the pixels (0 where masked), then smoothed along x; rows
        // r0 - 1 ..< r1 + 1 smoothed along y too (the spots' neighbours)
        let halo = band + 2 + 2 * hw
        let buffers = UnsafeMutablePointer<Double>.allocate(capacity: 4 * halo * nx + 2 * (band + 2) * nx)
        defer { buffers.deallocate() }
        let mp = buffers, mv = mp + halo * nx, hp = mv + halo * nx, hv = hp + halo * nx
        let simg = hv + halo * nx, sivar = simg + (band + 2) * nx
        var spots: [CCDPoint] = []
        let hasMask = !image.mask.isEmpty   // none where it was folded into ivar (Image.read(maskIntoIvar:))
        image.pix.withUnsafeBufferPointer { pix in image.ivar.withUnsafeBufferPointer { ivar in
            image.mask.withUnsafeBufferPointer { mask in
                for b in min(nband, part * bandsPerPart)..<min(nband, (part + 1) * bandsPerPart) {
                    let r0 = b * band, r1 = min(ny, r0 + band)
                    let s0 = max(0, r0 - 1), s1 = min(ny, r1 + 1), h0 = max(0, s0 - hw), h1 = min(ny, s1 + hw)
                    for y in h0..<h1 {
                        let o = (y - h0) * nx, row = y * nx
                        for x in 0..<nx {
                            let k = row + x, good = (!hasMask || mask[k] == 0) && ivar[k] > 0
                            mp[o + x] = good ? Double(pix[k]) : 0; mv[o + x] = good ? Double(ivar[k]) : 0
                        }
                        smoothRow(mp + o, into: hp + o, count: nx, taps: g)
                        smoothRow(mv + o, into: hv + o, count: nx, taps: g2)
                    }
                    for y in s0..<s1 {
                        let o = (y - s0) * nx
                        for x in 0..<nx { simg[o + x] = 0; sivar[o + x] = 0 }
                        for t in max(-hw, -y)...min(hw, ny - 1 - y) {
                            let src = (y + t - h0) * nx
                            addScaledRow(hp + src, weight: g[t + hw], into: simg + o, count: nx)
                            addScaledRow(hv + src, weight: g2[t + hw], into: sivar + o, count: nx)
                        }
                        normaliseSmoothedRows(image: simg + o, ivar: sivar + o, count: nx, norm: norm)
                    }
                    for y in max(r0, 1)..<min(r1, ny - 1) {
                        let o = (y - s0) * nx
                        func spot(at x: Int) {
                            let v = simg[o + x]
                            guard v > simg[o + x + 1], v > simg[o + x - 1], v > simg[o + x + nx], v > simg[o + x - nx],
                                  v * sivar[o + x].squareRoot() > 6 else { return }
                            guard y >= hw, y + hw < ny, x >= hw, x + hw < nx else { return }
                            var s = 0.0, sx = 0.0, sy = 0.0
                            for yy in (y - hw)...(y + hw) {
                                let m = (yy - h0) * nx
                                for xx in (x - hw)...(x + hw) {
                                    let p = mp[m + xx]
                                    s += p; sx += p * Double(xx); sy += p * Double(yy)
                                }
                            }
                            if s > 0 { spots.append(CCDPoint(x: sx / s, y: sy / s)) }
                        }
                        // four columns at a time, only local maxima (rare) looked at further: the same spots in the
                        // same order as testing every column
                        var x = 1
                        @inline(__always) func at(_ k: Int) -> SIMD4<Double> { SIMD4.load(simg + k) }
                        while x + 4 <= nx - 1 {
                            let v = at(o + x)
                            let peak = (v .> at(o + x + 1)) .& (v .> at(o + x - 1)) .& (v .> at(o + x + nx)) .& (v .> at(o + x - nx))
                            if any(peak) { for q in 0..<4 where peak[q] { spot(at: x + q) } }
                            x += 4
                        }
                        while x < nx - 1 { spot(at: x); x += 1 }
                    }
                }
            }
        } }
        return spots
    }
    let spots = perPart.flatMap { $0 }
    guard spots.count <= 100_000 else {
        throw DESIError.badFile(path: imagePath ?? "the image",
                                problem: "\(spots.count) spots detected, way too many for an arc lamp image")
    }
    return spots
}

/// `out[x]` = sum over t of taps[t] * row[x + t - h] (h = taps.count / 2, terms beyond the row left out), added in the
/// order of t; four columns at a time in SIMD4 inside the row (each lane the scalar sums, the same values).
@inline(__always)
private func smoothRow(_ row: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>, count n: Int,
                       taps: [Double]) {
    let h = taps.count / 2
    func scalar(_ x: Int) {
        var s = 0.0
        for t in max(-h, -x)...min(h, n - 1 - x) { s += taps[t + h] * row[x + t] }
        out[x] = s
    }
    var x = 0
    while x < min(h, n) { scalar(x); x += 1 }
    taps.withUnsafeBufferPointer { tp in
        while x + 4 + h <= n {
            var s = SIMD4<Double>(repeating: 0)
            for t in -h...h {
                s += SIMD4(repeating: tp[t + h]) * SIMD4.load(row + x + t)
            }
            s.store(to: out + x)
            x += 4
        }
    }
    while x < n { scalar(x); x += 1 }
}

/// out[x] += weight x row[x], four columns at a time (the pointers' rows cannot overlap, which the compiler cannot
/// know: its scalar loop was most of the spot detection's time); the same products and sums as the scalar loop.
private func addScaledRow(_ row: UnsafePointer<Double>, weight w: Double, into out: UnsafeMutablePointer<Double>, count n: Int) {
    let w4 = SIMD4<Double>(repeating: w)
    var x = 0
    while x + 4 <= n {
        (SIMD4.load(out + x) + w4 * SIMD4.load(row + x)).store(to: out + x)
        x += 4
    }
    while x < n { out[x] += w * row[x]; x += 1 }
}

/// The smoothed image divided by the kernel's norm and its smoothed inverse variance by the norm squared (at least 0),
/// four columns at a time (the same divisions as the scalar loop).
private func normaliseSmoothedRows(image: UnsafeMutablePointer<Double>, ivar: UnsafeMutablePointer<Double>, count n: Int,
                                   norm: Double) {
    let n1 = SIMD4<Double>(repeating: norm), n2 = SIMD4<Double>(repeating: norm * norm), zero = SIMD4<Double>(repeating: 0)
    var x = 0
    while x + 4 <= n {
        let v = SIMD4.load(ivar + x) / n2
        (SIMD4.load(image + x) / n1).store(to: image + x)
        v.replacing(with: zero, where: zero .>= v).store(to: ivar + x)   // Swift.max(v, 0): 0 where 0 >= v
        x += 4
    }
    while x < n { image[x] /= norm; ivar[x] = max(ivar[x] / (norm * norm), 0); x += 1 }
}

/// Nearest neighbours among fixed points within a radius: the points sorted into square cells of the radius's size,
/// so that every point within the radius of a query lies in the query's cell or one of its 8 neighbours.
struct NearestNeighbours {
    let radius: Double
    /// The points sorted by cell; order[k] is the index given to init of points[k].
    private let points: [CCDPoint]
    private let x0: Double, y0: Double, ncx: Int, ncy: Int
    private let cellStart: [Int], order: [Int]

    var count: Int { points.count }

    init(_ points: [CCDPoint], radius: Double) {
        self.radius = radius
        let xmin = points.map(\.x).min() ?? 0, ymin = points.map(\.y).min() ?? 0
        let nx = Int(((points.map(\.x).max() ?? 0) - xmin) / radius) + 1
        let ny = Int(((points.map(\.y).max() ?? 0) - ymin) / radius) + 1
        (x0, y0, ncx, ncy) = (xmin, ymin, nx, ny)
        let cell = points.map { Int(($0.y - ymin) / radius) * nx + Int(($0.x - xmin) / radius) }
        var start = [Int](repeating: 0, count: nx * ny + 1)
        for c in cell { start[c + 1] += 1 }
        for c in 0..<(nx * ny) { start[c + 1] += start[c] }
        var fill = start, ord = [Int](repeating: 0, count: points.count)
        for (i, c) in cell.enumerated() { ord[fill[c]] = i; fill[c] += 1 }
        cellStart = start; order = ord
        self.points = ord.map { points[$0] }   // cell after cell: a query reads its cells' points contiguously
    }

    /// The nearest point strictly closer than the radius (index, distance); the first in index order on a tie.
    func nearest(to p: CCDPoint) -> (index: Int, distance: Double)? {
        guard p.x.isFinite, p.y.isFinite, !points.isEmpty else { return nil }
        let cx = Int(floor((p.x - x0) / radius)), cy = Int(floor((p.y - y0) / radius))
        let j0 = max(0, cy - 1), j1 = min(ncy - 1, cy + 1), i0 = max(0, cx - 1), i1 = min(ncx - 1, cx + 1)
        guard j0 <= j1, i0 <= i1 else { return nil }
        var best: (Int, Double)? = nil
        for j in j0...j1 {
            for i in i0...i1 {
                let c = j * ncx + i
                for k in cellStart[c]..<cellStart[c + 1] {
                    let q = points[k], d = ((q.x - p.x) * (q.x - p.x) + (q.y - p.y) * (q.y - p.y)).squareRoot()
                    guard d < radius else { continue }
                    if best == nil || d < best!.1 || (d == best!.1 && order[k] < best!.0) { best = (order[k], d) }
                }
            }
        }
        return best
    }
}

/// Pairs (expected index, detected index) of each expected spot moved by (dx, dy) with its nearest detection closer
/// than the radius, a detection claimed twice kept by the closer (desimeter's match_same_system as desispec copied
/// it: its k-d tree's nearest neighbour, duplicates removed; pairs farther than the radius never count there).
func matchSpots(_ expected: [CCDPoint], dx: Double, dy: Double, to detected: NearestNeighbours) -> [(Int, Int)] {
    // claimedBy[j]: the expected spot that detection j is the nearest of, at distance claimDistance[j]
    var claimedBy = [Int](repeating: -1, count: detected.count), claimDistance = [Double](repeating: 0, count: detected.count)
    for (i, p) in expected.enumerated() {
        guard let (j, d) = detected.nearest(to: CCDPoint(x: p.x + dx, y: p.y + dy)) else { continue }
        if claimedBy[j] >= 0 && claimDistance[j] <= d { continue }
        claimedBy[j] = i; claimDistance[j] = d
    }
    return claimedBy.indices.filter { claimedBy[$0] >= 0 }.map { (claimedBy[$0], $0) }.sorted { $0.0 < $1.0 }
}

/// desi_compute_trace_shifts' arc scan: the expected spots of the brightest lines of the arc lamp spectrum are
/// matched to the spots of the image for x offsets of -25 to +25 fibers in half-fiber steps (7 pixels a fiber),
/// keeping the offset with the most matches closer than 28 pixels; the offset is then the median difference of
/// the matched pairs in x and in y; again for 14 and 7 pixels, each scan about the offset before.
func arcLampLargeShift(image: Image, imagePath: String? = nil, xTrace: TraceSet, yTrace: TraceSet, fibers: [Int],
                       lampWave: [Double], lampFlux: [Double]) throws -> ArcLampScan {
    let lines = try arcLampPeakWavelengths(wave: lampWave, flux: lampFlux)
    let expected = expectedArcSpots(lineWavelengths: lines, xTrace: xTrace, yTrace: yTrace, fibers: fibers, npixY: image.ny)
    let detected = try detectArcSpots(image, imagePath: imagePath)
    guard !expected.isEmpty, !detected.isEmpty else {
        throw DESIError.failed("no arc lamp spot \(expected.isEmpty ? "expected on the CCD" : "detected on the image"): "
                               + "cannot scan for a large shift (--no-large-shift-scan skips it)")
    }
    let fiberSeparation = 7.0, oversampling = 2.0, excursion = 25
    var deltaX = 0.0, deltaY = 0.0, matched = 0
    for maxDistance in [4 * fiberSeparation, 2 * fiberSeparation, fiberSeparation] {
        let grid = NearestNeighbours(detected, radius: maxDistance)
        let offsets = (-excursion * Int(oversampling)...excursion * Int(oversampling)).map { Double($0) * fiberSeparation / oversampling }
        let (cx, cy) = (deltaX, deltaY)
        let counts = parallelMap(offsets.count) { k in matchSpots(expected, dx: cx + offsets[k], dy: cy, to: grid).count }
        // the first offset with the most matches, as desispec's scan in increasing order
        var best = 0
        for k in counts.indices where counts[k] > counts[best] { best = k }
        guard counts[best] > 0 else {
            throw DESIError.failed("no arc lamp spot matched the traces within \(Int(maxDistance)) pixels of any offset of "
                                   + "+-\(excursion) fibers (--no-large-shift-scan skips the scan)")
        }
        let pairs = matchSpots(expected, dx: deltaX + offsets[best], dy: deltaY, to: grid)
        deltaX = Statistics.median(pairs.map { detected[$0.1].x - expected[$0.0].x })
        deltaY = Statistics.median(pairs.map { detected[$0.1].y - expected[$0.0].y })
        matched = pairs.count
    }
    return ArcLampScan(dx: deltaX, dy: deltaY, matched: matched, expected: expected.count, detected: detected.count)
}

/// desi_compute_trace_shifts' continuum scan (compute_x_offset_from_central_band_cross_dispersion_profile): in 7
/// bands of 100 rows about the middle of the CCD, the ivar-weighted mean of each column is cross-correlated with a
/// model profile (Gaussians of sigma 1.5 pixels at the traces' x on the band's middle row, sampled every 1/4 pixel
/// and interpolated linearly at the columns as numpy.interp, the end values beyond) for x offsets of -50 to +50
/// pixels in steps of 0.5; the offset is the median over the bands of each one's best. (desispec sums the band's
/// weighted flux over all columns at once, so its profile is that sum over each column's ivar: on a continuum image
/// both peak on the traces; here each column's weighted mean is used.)
func continuumLargeShiftX(image: Image, xTrace: TraceSet, yTrace: TraceSet, fibers: [Int]) -> Double {
    let n0 = image.ny, n1 = image.nx, bandWidth = 100, halfBands = 3, oversample = 4, sigma = 1.5
    let shifts = (0...200).map { -50 + 0.5 * Double($0) }
    let best = parallelMap(2 * halfBands + 1) { bi -> Double in
        let b = bi - halfBands
        let begin = max(0, Int((Double(n0 / 2) + (Double(b) - 0.5) * Double(bandWidth)).rounded(.down)))
        let end = min(n0, begin + bandWidth)
        var sw = [Double](repeating: 0, count: n1), swf = sw
        for y in begin..<end {
            for x in 0..<n1 where (image.mask.isEmpty || image.mask[y * n1 + x] == 0) && image.ivar[y * n1 + x] > 0 {
                let w = Double(image.ivar[y * n1 + x])
                sw[x] += w; swf[x] += w * Double(image.pix[y * n1 + x])
            }
        }
        let profile = (0..<n1).map { swf[$0] / (sw[$0] == 0 ? 1 : sw[$0]) }
        // the traces' x on the band's middle row
        let row = Double(n0 / 2 + b * bandWidth)
        let xc = fibers.map { f -> Double in
            let w0 = yTrace.domainMin, w1 = yTrace.domainMax, y0 = yTrace.eval(f, w0), y1 = yTrace.eval(f, w1)
            let start = w0 + (w1 - w0) * (row - y0) / (y1 - y0)
            return xTrace.eval(f, yTrace.solve(f, target: row, start: start))
        }
        var model = [Double](repeating: 0, count: n1 * oversample)
        for c in xc {
            // exp(-d^2 / 2 sigma^2) < 1e-14 beyond 12 pixels
            let lo = max(0, Int(((c - 12) * Double(oversample)).rounded(.up)))
            let hi = min(model.count - 1, Int(((c + 12) * Double(oversample)).rounded(.down)))
            guard lo <= hi else { continue }
            for k in lo...hi { let d = Double(k) / Double(oversample) - c; model[k] += exp(-d * d / 2 / (sigma * sigma)) }
        }
        var bestShift = shifts[0], bestValue = -Double.infinity
        for dx in shifts {
            // numpy.interp(x, ox + dx, model): ox = k / oversample
            var s = 0.0
            for x in 0..<n1 {
                let t = (Double(x) - dx) * Double(oversample)
                let m: Double
                if t <= 0 { m = model[0] } else if t >= Double(model.count - 1) { m = model[model.count - 1] } else {
                    let k = Int(t), f = t - Double(k)
                    m = model[k] + (model[k + 1] - model[k]) * f
                }
                s += profile[x] * m
            }
            if s > bestValue { bestValue = s; bestShift = dx }
        }
        return bestShift
    }
    return Statistics.median(best)
}
