import DESICore
import Foundation
import LinearAlgebra

/// The CCD background measured between the blocks of 25 fiber traces (desispec.preproc.
/// compute_background_between_fiber_blocks, `--bkgsub-for-science`), to be subtracted from the image:
/// - the gaps are the mid-lines between fibers 25k - 1 and 25k, and 7.5 pixels outside the first and last fibers
///   (21 gaps for DESI's 500 fibers);
/// - light scattered from bright fibers: the central 600 rows, convolved along x by a Lorentzian (half width 30
///   columns, sum 0.05), averaged over +-3 columns around each gap; a gap more than 0.5 electron above the median
///   of the gaps is not measured and takes the median of the others;
/// - per amplifier, each gap's mean over +-3 columns per row (see `GapWeights`), interpolated over rows outside the
///   amplifier and within 5 rows of the 5578.9 A sky line, median filtered over 400 rows (reflected at the ends),
///   then interpolated linearly along x between the gaps, row by row.
public enum BlockBackground {
    /// How the pixels of a gap are averaged on a row (numba_mean in desispec).
    public enum GapWeights: String, Sendable, CaseIterable {
        /// Every unmasked pixel with ivar > 0 counts the same: an unbiased mean of the gap level.
        case uniform
        /// desispec's inverse-variance weights. With a variance from the pixels themselves, pixels that fluctuate
        /// down weigh more; with the model variance, the pixels above the image model by 5 sigma (the background
        /// the model does not describe) keep their own, larger variance: either way the level comes out low
        /// (3% and 5% at 30 e, see Docs/preproc.md).
        case ivar
    }

    public struct Result: Sendable {
        public var background: [Double]
        /// (amplifier, min, max) of the gaps' values: the BBKGMIN / BBKGMAX header keywords.
        public var perAmplifier: [(amp: String, min: Double, max: Double)]
        /// Gaps not measured because of light scattered from bright fibers.
        public var maskedGaps: [Int]
    }

    static let fibersPerBlock = 25

    /// x of gap `b` (of `nblock`) at row y: 7.5 pixels left of the first fiber, right of the last, else midway
    /// between fibers 25 b - 1 and 25 b.
    static func gapX(_ b: Int, _ y: Int, nblock: Int, traces g: FiberTraceGeometry) -> Double {
        let ny = g.ny
        if b == 0 { return g.x[y] - 7.5 }
        if b == nblock - 1 { return g.x[(g.nspec - 1) * ny + y] + 7.5 }
        return (g.x[(b * fibersPerBlock - 1) * ny + y] + g.x[(b * fibersPerBlock) * ny + y]) / 2
    }

    /// `amplifiers`: name and CCD section of each amplifier.
    public static func compute(pix: [Float], ivar: [Float], mask: [UInt32], ny: Int, nx: Int, traces g: FiberTraceGeometry,
                               amplifiers: [(name: String, rows: Range<Int>, cols: Range<Int>)],
                               weights: GapWeights = .uniform) throws -> Result {
        guard g.nspec > 0 else { throw DESIError.invalidArgument("background between fiber blocks: the traces have no fiber") }
        guard g.ny == ny else { throw DESIError.mismatch("traces sampled on \(g.ny) rows, image has \(ny)") }
        // desispec's 21 gaps for 500 fibers; for fewer fibers (simulated narrow CCDs) the gaps the fibers have
        let nblock = (g.nspec - 1) / fibersPerBlock + 2
        // desispec's weights, for the bright-fiber check (whose median of means and weights together depends on
        // them) and, with `.ivar`, for the gap levels
        let w = (0..<(ny * nx)).map { mask[$0] == 0 ? Double(ivar[$0]) : 0 }
        let levelWeights = weights == .ivar ? w : w.map { $0 > 0 ? 1 : 0 }
        func gapX(_ b: Int, _ y: Int) -> Double { Self.gapX(b, y, nblock: nblock, traces: g) }
        func gapSkyLineRow(_ b: Int) -> Double {
            let line = 5578.9
            if b == 0 { return g.row(fiber: 0, wavelength: line) }
            if b == nblock - 1 { return g.row(fiber: g.nspec - 1, wavelength: line) }
            return (g.row(fiber: b * fibersPerBlock - 1, wavelength: line) + g.row(fiber: b * fibersPerBlock, wavelength: line)) / 2
        }
        // weighted mean of image row y over columns int(x - 3) ..< int(x + 4), and the sum of the weights
        func gapMean(_ img: (Int) -> Double, _ y: Int, _ x: Double, _ w: [Double]) -> (Double, Double) {
            var s = 0.0, sw = 0.0
            for i in max(0, Int(x - 3))..<min(nx, Int(x + 3 + 1)) { s += w[y * nx + i] * img(y * nx + i); sw += w[y * nx + i] }
            return (sw > 0 ? s / sw : s, sw)
        }

        // 1. scattered light from bright fibers, central rows
        let yb = max(0, ny / 2 - 300), ye = min(ny, ny / 2 + 300)
        let hwk = 30
        var kern = (-hwk...hwk).map { 1 / (1 + Double($0 * $0)) }
        let ksum = kern.reduce(0, +)
        kern = kern.map { $0 * 0.05 / ksum }
        var cimg = [Double](repeating: 0, count: ny * nx)
        cimg.withUnsafeMutableBufferPointer { cb in
            let c = SharedBuffer(cb)
            parallelFor(ye - yb) { k in
                let y = yb + k
                for x in 0..<nx {
                    var s = 0.0
                    for j in max(0, x - hwk)...min(nx - 1, x + hwk) where w[y * nx + j] > 0 {
                        s += Double(pix[y * nx + j]) * kern[x - j + hwk]
                    }
                    c[y * nx + x] = s
                }
            }
        }
        var scattered = [Double](repeating: 0, count: nblock)
        for b in 0..<nblock {
            // desispec takes numpy.median of the (mean, weight) pair of arrays, i.e. of both together
            var both: [Double] = []
            for y in yb..<ye { let (m, s) = gapMean({ cimg[$0] }, y, gapX(b, y), w); both.append(m); both.append(s) }
            scattered[b] = Statistics.median(both)
        }
        let med = Statistics.median(scattered)
        let masked = (0..<nblock).filter { scattered[$0] - med > 0.5 }

        // 2. per amplifier
        var background = [Double](repeating: 0, count: ny * nx)
        var perAmp: [(amp: String, min: Double, max: Double)] = []
        for amp in amplifiers {
            let rows = amp.rows, cols = amp.cols
            guard !rows.isEmpty, !cols.isEmpty else { continue }
            var xs: [[Double]] = [], vs: [[Double]] = []
            let yy = rows.map(Double.init)
            for b in 0..<nblock {
                let xb = rows.map { gapX(b, $0) }
                var inAmp = xb.map { $0 - 1 >= Double(cols.lowerBound) && $0 + 1 < Double(cols.upperBound) }
                guard inAmp.contains(true) else { continue }
                if masked.contains(b) { xs.append(xb); vs.append([Double](repeating: 0, count: rows.count)); continue }
                var vb = zip(rows, xb).map { gapMean({ Double(pix[$0]) }, $0.0, $0.1, levelWeights).0 }
                let skyRow = gapSkyLineRow(b)
                for k in inAmp.indices where abs(yy[k] - skyRow) <= 5 { inAmp[k] = false }
                let keep = inAmp.indices.filter { inAmp[$0] }
                if keep.count < inAmp.count, !keep.isEmpty {
                    let kx = keep.map { yy[$0] }, ky = keep.map { vb[$0] }
                    vb = yy.map { Interpolation.linear(x: kx, y: ky, at: $0) }
                }
                vb = Smoothing.medianFilter(vb, size: 400, boundary: .reflect)
                xs.append(xb); vs.append(vb)
            }
            guard !vs.isEmpty else { continue }
            let all = vs.flatMap { $0 }
            perAmp.append((amp.name, all.min()!, all.max()!))
            guard all.contains(where: { $0 != 0 }) else { continue }
            if all.contains(0) {
                let fill = Statistics.median(all.filter { $0 != 0 })
                vs = vs.map { $0.map { $0 == 0 ? fill : $0 } }
            }
            let xsF = xs, vsF = vs
            background.withUnsafeMutableBufferPointer { bb in
                let bg = SharedBuffer(bb)
                parallelFor(rows.count) { k in
                    let nodesX = xsF.map { $0[k] }, nodesV = vsF.map { $0[k] }
                    let y = rows.lowerBound + k
                    for x in cols { bg[y * nx + x] = Interpolation.linear(x: nodesX, y: nodesV, at: Double(x)) }
                }
            }
        }
        return Result(background: background, perAmplifier: perAmp, maskedGaps: masked)
    }
}
