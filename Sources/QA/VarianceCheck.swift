import DESICore
import Foundation
import LinearAlgebra

/// The variance-model check of a preprocessed image, per amplifier (issue 15; SDSS-BOSS's calibration notebooks):
/// - the pipeline's variance: the excess rms sqrt(1/ivar - max(electrons, 0)) is the read noise the pipeline used
///   (desispec.preproc: var = max(image, 0) + readnoise^2), compared with the header's RDNOISEx;
/// - the data: the scatter of the pixels about their expectation (the extraction model when given, else the
///   difference of two neighbouring rows of the same column, which removes the smooth signal) normalised by the
///   predicted variance max(electrons, 0) + RDNOISEx^2, between the traces (read noise) and as a function of the
///   electrons (the shot-noise slope: 1 when the gain is right, the header gain over the true gain otherwise).
/// A warning when an amplifier's read noise or gain looks wrong by more than `tolerance`.
public struct VarianceCheck: Sendable {
    public struct Options: Sendable {
        /// A pixel is on a trace when its centre lies within this many columns of a trace centre.
        public var onTrace = 2.0
        /// ... and between the traces when farther than this from every trace centre.
        public var betweenTraces = 2.5
        /// Relative tolerance on the read noise and on the shot-noise slope (issue 15: 10 %).
        public var tolerance = 0.10
        /// A gain warning needs the slope known to better than this (1 sigma).
        public var maxSlopeError = 0.03
        /// Fewest pixels for a read-noise measurement, and per bin of the slope fit.
        public var minPixels = 500
        /// The slope fit uses electron levels up to this (above it PSF-model errors, psferr x electrons, dominate).
        public var maxElectrons = 4000.0
        public init() {}
    }

    /// Measured against predicted variance in one bin of electrons (for the figure).
    public struct Bin: Sendable {
        public var electrons: Double
        public var predicted: Double
        public var measured: Double
        public var pixels: Int
    }

    public struct Amplifier: Sendable {
        public var name: String
        public var region: CCDRegion
        /// RDNOISEx of the header (else OBSRDNx, else the median of the READNOISE image): the reference.
        public var headerReadNoise: Double
        public var headerKey: String
        /// sqrt(median(1/ivar - max(pix, 0))) between and on the traces (all pixels in `onTraces` without traces).
        public var pipelineExcessBetween: Double?
        public var pipelineExcessOn: Double?
        /// Read noise measured from the data between the traces, and the pixels used.
        public var measuredBetween: Double?
        public var pixelsBetween: Int
        /// Fit measured variance = a + slope * electrons: slope, its 1-sigma error, sqrt(a) (the excess rms of the
        /// residuals at zero signal).
        public var shotSlope: Double?
        public var shotSlopeError: Double?
        public var residualReadNoise: Double?
        public var pixelsOnTraces: Int
        public var bins: [Bin]
        public var warnings: [String]
    }

    public var amplifiers: [Amplifier]
    /// "model" (extraction model) or "row-differences".
    public var source: String
    public var warnings: [String] { amplifiers.flatMap(\.warnings) }

    /// - Parameters:
    ///   - traceColumn: column of the trace of fiber index f at CCD row y, fibers 0..<nfibers; nil: no between /
    ///     on split (the read noise of the data between the traces is then not measured).
    ///   - model: the extraction's 2D model of the image, electrons, [ny, nx].
    public static func analyze(_ image: Image, traceColumn: ((Int, Double) -> Double)?, nfibers: Int, model: [Float]?,
                               options: Options = Options()) -> VarianceCheck {
        let centers = traceColumn.map { TraceCenters(column: $0, nfibers: nfibers, ny: image.ny) }
        let amps = CCDRegion.amplifiers(of: image.header, ny: image.ny, nx: image.nx)
        let regions = amps.isEmpty ? [("A", CCDRegion(rows: 0..<image.ny, cols: 0..<image.nx))] : amps
        let results = regions.map { amp in
            analyzeAmplifier(image, name: amp.0, region: amp.1, centers: centers, model: model, options: options)
        }
        return VarianceCheck(amplifiers: results, source: model == nil ? "row-differences" : "model")
    }

    /// Pixel samples of one class: residual, expected shot noise (electrons), the level the pixel is binned by, and
    /// the pipeline's excess variance. With the model, level = shot = the model. With row differences, shot is the
    /// pair's own mean (its noise is independent of the pair's difference) and level the mean of the four pixels
    /// above and below the pair: binning on the pair's own values would mix into each bin pixels whose true level
    /// lies elsewhere (regression to the mean) and bias the slope. Pairs where the signal is not smooth along the
    /// column (above and below differ by more than half their noise) are left out.
    private struct Samples {
        var residual: [Double] = []
        var shot: [Double] = []
        var level: [Double] = []
        var pipelineExcess: [Double] = []

        mutating func append(_ r: Double, _ s: Double, _ l: Double, _ e: Double?) {
            residual.append(r); shot.append(s); level.append(l)
            if let e { pipelineExcess.append(e) }
        }
    }

    private static func analyzeAmplifier(_ image: Image, name: String, region: CCDRegion, centers: TraceCenters?,
                                         model: [Float]?, options: Options) -> Amplifier {
        let h = image.header
        let (reference, key) = headerReadNoise(image, name: name, region: region)
        var between = Samples(), onTrace = Samples(), all = Samples()
        let nx = image.nx
        // Without a model, the residual of a pair of rows (2k, 2k+1) is their difference / sqrt(2): both pixels good.
        let rows = model == nil ? Array(stride(from: region.rows.lowerBound, to: region.rows.upperBound - 1, by: 2))
                                : Array(region.rows)
        var distance = [Double](repeating: .infinity, count: nx)
        for y in rows {
            if let c = centers { c.distances(row: Double(y), into: &distance) }
            for x in region.cols {
                let i = y * nx + x
                guard image.mask[i] == 0, image.ivar[i] > 0 else { continue }
                let pix = Double(image.pix[i])
                let residual: Double, shot: Double, level: Double
                if let m = model {
                    residual = pix - Double(m[i]); shot = max(Double(m[i]), 0); level = shot
                } else {
                    let j = i + nx
                    guard image.mask[j] == 0, image.ivar[j] > 0 else { continue }
                    let below = Double(image.pix[j])
                    // the pair's plain mean: averaged over many pairs it is the mean signal without the bias of max(p, 0)
                    residual = (pix - below) / 2.0.squareRoot(); shot = 0.5 * (pix + below)
                    // the signal must be smooth along the column: sky and arc lines change within a row or two, and
                    // their gradient would pass for noise; the mean of the two rows above and of the two below must
                    // agree within half the noise of their difference (pixels independent of the pair: no bias)
                    var sums = [0.0, 0.0], counts = [0.0, 0.0]
                    for (side, dy) in [(0, -2), (0, -1), (1, 2), (1, 3)] where region.rows.contains(y + dy) {
                        let k = i + dy * nx
                        if image.mask[k] == 0 && image.ivar[k] > 0 { sums[side] += Double(image.pix[k]); counts[side] += 1 }
                    }
                    guard counts[0] > 0, counts[1] > 0 else { continue }
                    let above = sums[0] / counts[0], under = sums[1] / counts[1]
                    level = max(0.5 * (above + under), 0)
                    let noise = ((level + reference * reference) * (1 / counts[0] + 1 / counts[1])).squareRoot()
                    guard abs(above - under) <= 0.5 * noise else { continue }
                }
                let excess = 1 / Double(image.ivar[i]) - max(pix, 0)
                all.append(residual, shot, level, nil)
                let d = centers == nil ? 0 : distance[x]
                if centers != nil && d >= options.betweenTraces {
                    between.append(residual, shot, level, excess)
                } else if d <= options.onTrace {
                    onTrace.append(residual, shot, level, excess)
                }
            }
        }
        var amp = Amplifier(name: name, region: region, headerReadNoise: reference, headerKey: key,
                            pixelsBetween: between.residual.count, pixelsOnTraces: onTrace.residual.count, bins: [], warnings: [])
        func excessRMS(_ s: Samples) -> Double? {
            s.pipelineExcess.count < options.minPixels ? nil : max(Statistics.median(s.pipelineExcess), 0).squareRoot()
        }
        amp.pipelineExcessBetween = excessRMS(between)
        amp.pipelineExcessOn = excessRMS(onTrace)
        if between.residual.count >= options.minPixels {
            amp.measuredBetween = measuredReadNoise(between, reference: reference)
        }
        let fit = shotNoiseFit(all, reference: reference, options: options)
        amp.bins = fit.bins
        amp.shotSlope = fit.slope; amp.shotSlopeError = fit.slopeError; amp.residualReadNoise = fit.readNoise
        amp.warnings = warnings(amp, pipelineReadNoise: h.double("OBSRDN\(name)"), options: options)
        return amp
    }

    /// The reference read noise of an amplifier: RDNOISEx, else OBSRDNx, else the median READNOISE of its pixels.
    private static func headerReadNoise(_ image: Image, name: String, region: CCDRegion) -> (Double, String) {
        if let r = image.header.double("RDNOISE\(name)"), r > 0 { return (r, "RDNOISE\(name)") }
        if let r = image.header.double("OBSRDN\(name)"), r > 0 { return (r, "OBSRDN\(name)") }
        let values = region.extract(image.readnoise, width: image.nx).map(Double.init)
        return (Statistics.median(values), "READNOISE image")
    }

    /// The read noise of the data between the traces: the clipped variance of the residuals of the pixels whose
    /// level is below rn0^2 / 2 (so the shot noise is a small correction), less their mean shot noise.
    static func measuredReadNoise(_ r: [Double], shot: [Double], level: [Double], reference rn0: Double) -> Double? {
        let keep = level.indices.filter { level[$0] < 0.5 * rn0 * rn0 }
        guard keep.count >= 100 else { return nil }
        let v = clippedVariance(keep.map { r[$0] })
        return max(v - Statistics.mean(keep.map { shot[$0] }), 0).squareRoot()
    }

    private static func measuredReadNoise(_ s: Samples, reference: Double) -> Double? {
        measuredReadNoise(s.residual, shot: s.shot, level: s.level, reference: reference)
    }

    /// Variance about the mean after iterative clipping at 4 sigma (3 passes, from the plain variance). Not the
    /// MAD: preprocessed pixels are ADUs times the gain, so the residuals take discrete values a gain apart and the
    /// median of their absolute values jumps between them. Clipping a Gaussian at 4 sigma lowers its variance by
    /// 0.1 %, left uncorrected.
    static func clippedVariance(_ r: [Double]) -> Double {
        var mean = Statistics.mean(r)
        var v = r.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(r.count, 1))
        for _ in 0..<3 {
            let cut = 16 * v
            var n = 0.0, s = 0.0, ss = 0.0
            for x in r where (x - mean) * (x - mean) <= cut { n += 1; s += x; ss += x * x }
            guard n > 1 else { break }
            mean = s / n
            v = max(ss / n - mean * mean, 0)
        }
        return v
    }

    /// Clipped variance of the residuals in bins of electrons (factor 1.5 wide, from rn^2 / 4), then the weighted line
    /// variance = a + slope * electrons (the error of a variance from n values is v sqrt(2 / n)).
    private static func shotNoiseFit(_ s: Samples, reference rn0: Double, options: Options)
        -> (bins: [Bin], slope: Double?, slopeError: Double?, readNoise: Double?) {
        var edges = [-Double.infinity, max(rn0 * rn0 / 4, 1)]
        while edges.last! < options.maxElectrons { edges.append(edges.last! * 1.5) }
        var members = [[Int]](repeating: [], count: edges.count - 1)
        for (k, e) in s.level.enumerated() where e < edges.last! {
            var lo = 0, hi = edges.count - 1   // edges[lo] <= e < edges[hi]
            while hi - lo > 1 { let mid = (lo + hi) / 2; if e >= edges[mid] { lo = mid } else { hi = mid } }
            members[lo].append(k)
        }
        var bins: [Bin] = []
        for m in members where m.count >= options.minPixels {
            let r = m.map { s.residual[$0] }, e = Statistics.mean(m.map { s.shot[$0] })
            let v = clippedVariance(r)
            bins.append(Bin(electrons: e, predicted: e + rn0 * rn0, measured: v, pixels: m.count))
        }
        guard bins.count >= 3, let e0 = bins.map(\.electrons).min(), let e1 = bins.map(\.electrons).max(),
              e1 - e0 > rn0 * rn0 else { return (bins, nil, nil, nil) }
        // weighted least squares for a + b x, weights 1 / sigma^2
        var sw = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
        for b in bins {
            let sigma = b.measured * (2 / Double(b.pixels)).squareRoot()
            let w = 1 / (sigma * sigma)
            sw += w; sx += w * b.electrons; sy += w * b.measured; sxx += w * b.electrons * b.electrons
            sxy += w * b.electrons * b.measured
        }
        let det = sw * sxx - sx * sx
        guard det > 0 else { return (bins, nil, nil, nil) }
        let slope = (sw * sxy - sx * sy) / det, intercept = (sxx * sy - sx * sxy) / det
        return (bins, slope, (sw / det).squareRoot(), max(intercept, 0).squareRoot())
    }

    private static func warnings(_ a: Amplifier, pipelineReadNoise: Double?, options: Options) -> [String] {
        var out: [String] = []
        let rn0 = a.headerReadNoise, tol = options.tolerance
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        if let m = a.measuredBetween, abs(m / rn0 - 1) > tol {
            out.append("amplifier \(a.name): read noise measured between the traces \(f(m)) e- is \(f(m / rn0)) x "
                       + "the header's \(a.headerKey) = \(f(rn0)) e-")
        }
        if let p = a.pipelineExcessBetween ?? a.pipelineExcessOn, abs(p / rn0 - 1) > tol {
            let used = pipelineReadNoise.map { " (OBSRDN\(a.name) = \(f($0)))" } ?? ""
            out.append("amplifier \(a.name): the pipeline's variance implies a read noise of \(f(p)) e-\(used), "
                       + "\(f(p / rn0)) x the header's \(a.headerKey) = \(f(rn0)) e-")
        }
        if let b = a.shotSlope, let e = a.shotSlopeError, e <= options.maxSlopeError, abs(b - 1) > tol {
            out.append("amplifier \(a.name): the variance grows as \(f(b)) +- \(f(e)) x the electrons (1 expected): "
                       + "the gain looks wrong by \(String(format: "%.0f", abs(b - 1) * 100)) %")
        }
        return out
    }

    /// The VARIANCE entry of the frame QA.
    public var qaValue: QAValue {
        func opt(_ v: Double?) -> QAValue { v.map { .double($0) } ?? .double(.nan) }
        let amps: [QAValue] = amplifiers.map { a in
            .dict([
                ("AMP", .string(a.name)), ("CCDSEC", .string(a.region.description)),
                ("HEADER_READNOISE", .double(a.headerReadNoise)), ("HEADER_KEY", .string(a.headerKey)),
                ("PIPELINE_EXCESS_RMS_BETWEEN", opt(a.pipelineExcessBetween)),
                ("PIPELINE_EXCESS_RMS_ON", opt(a.pipelineExcessOn)),
                ("MEASURED_READNOISE_BETWEEN", opt(a.measuredBetween)), ("NPIX_BETWEEN", .int(a.pixelsBetween)),
                ("RESID_EXCESS_RMS", opt(a.residualReadNoise)), ("SHOT_SLOPE", opt(a.shotSlope)),
                ("SHOT_SLOPE_ERR", opt(a.shotSlopeError)), ("NPIX_ON", .int(a.pixelsOnTraces)),
            ])
        }
        return .dict([("SOURCE", .string(source)), ("AMPS", .list(amps)),
                      ("WARNINGS", .list(warnings.map { .string($0) }))])
    }
}

/// Trace centres per CCD row: each fiber's column sampled every `step` rows and interpolated linearly between.
struct TraceCenters {
    let step = 32
    let samples: [[Double]]   // [fiber][k] column at row k * step (last sample at ny - 1)
    let ny: Int

    init(column: (Int, Double) -> Double, nfibers: Int, ny: Int) {
        self.ny = ny
        let rows = Array(stride(from: 0, to: ny - 1, by: step)) + [ny - 1]
        samples = (0..<nfibers).map { f in rows.map { column(f, Double($0)) } }
    }

    /// Distance of each column's centre to the nearest trace at `row`.
    func distances(row: Double, into d: inout [Double]) {
        let k = min(Int(row) / step, samples.first.map { $0.count - 2 } ?? 0)
        let r0 = Double(k * step), r1 = k + 1 == (samples.first?.count ?? 1) - 1 ? Double(ny - 1) : Double((k + 1) * step)
        let t = r1 > r0 ? (row - r0) / (r1 - r0) : 0
        var xs = samples.map { $0.count > 1 ? $0[k] + t * ($0[k + 1] - $0[k]) : $0[0] }.filter(\.isFinite)
        xs.sort()
        var j = 0
        for x in d.indices {
            let c = Double(x)
            while j + 1 < xs.count && xs[j + 1] <= c { j += 1 }
            var best = Double.infinity
            if j < xs.count { best = abs(xs[j] - c) }
            if j + 1 < xs.count { best = min(best, abs(xs[j + 1] - c)) }
            d[x] = best
        }
    }
}
