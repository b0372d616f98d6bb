import DESICore
import Foundation
import LinearAlgebra

/// What the coarse scan correlates: the image (masked pixels 0), the PSF, the lamp lines in its range and the box
/// about each predicted line centre (`coarseScan`).
struct ScanInputs {
    var data: [Double]
    var nx: Int, ny: Int
    var psf: GaussHermitePSF
    var waves: [Double]
    /// Half size of the box about each predicted line centre (pixels).
    var h: Int
    var bundleSize: Int

    var bundleCount: Int { (psf.nspec + bundleSize - 1) / bundleSize }

    /// The scores of every bundle on the grid of integer offsets xs x ys (row: sy - ys.lowerBound, column:
    /// sx - xs.lowerBound); the bundles are spread over the threads, the result does not depend on their number.
    func bundleGrids(xs: ClosedRange<Int>, ys: ClosedRange<Int>, threads: Int) -> [[Double]] {
        parallelMap(bundleCount, threads: threads) { b in
            bundleScores(fibers: Array((b * bundleSize)..<min(psf.nspec, (b + 1) * bundleSize)), xs: xs, ys: ys)
        }
    }

    /// The sum over bundles of `bundleGrids`.
    func totalGrid(xs: ClosedRange<Int>, ys: ClosedRange<Int>, threads: Int) -> [Double] {
        var total = [Double](repeating: 0, count: xs.count * ys.count)
        for s in bundleGrids(xs: xs, ys: ys, threads: threads) { for k in 0..<total.count { total[k] += s[k] } }
        return total
    }

    /// One bundle's score sum_l max(C_l, 0)^2 / N_l at each offset of the grid (see `coarseScan`).
    private func bundleScores(fibers: [Int], xs: ClosedRange<Int>, ys: ClosedRange<Int>) -> [Double] {
        let nsx = xs.count
        var score = [Double](repeating: 0, count: nsx * ys.count)
        var c = [Double](repeating: 0, count: score.count)
        for w in waves {
            for k in 0..<c.count { c[k] = 0 }
            var norm = 0.0
            for f in fibers {
                let s = psf.spot(fiber: f, wavelength: w)
                let xc = Int(psf.x(fiber: f, wavelength: w).rounded()), yc = Int(psf.y(fiber: f, wavelength: w).rounded())
                for i in 0..<s.ny {
                    let py = s.y0 + i
                    guard abs(py - yc) <= h else { continue }
                    for j in 0..<s.nx {
                        let px = s.x0 + j, m = s.values[i * s.nx + j]
                        guard abs(px - xc) <= h, m != 0 else { continue }
                        norm += m * m
                        // Only the offsets that keep the pixel on the CCD.
                        let sxLo = max(xs.lowerBound, -px), sxHi = min(xs.upperBound, nx - 1 - px)
                        guard sxLo <= sxHi else { continue }
                        for sy in ys {
                            let y = py + sy
                            guard y >= 0 && y < ny else { continue }
                            let row = y * nx + px, out = (sy - ys.lowerBound) * nsx - xs.lowerBound
                            for sx in sxLo...sxHi { c[out + sx] += m * data[row + sx] }
                        }
                    }
                }
            }
            guard norm > 0 else { continue }
            for k in 0..<c.count where c[k] > 0 { score[k] += c[k] * c[k] / norm }
        }
        return score
    }
}
