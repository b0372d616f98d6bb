import DESICore
import Foundation

/// Dark-trail correction of some LBNL amplifiers (desispec.darktrail.correct_dark_trail): along each row,
/// image[j, i] += sum_e image[j, i + s e] * amplitude * (e / width) * exp(-e / width) for e = 1 ... 5 width + 1, with
/// s = +1 when the trail lies to the left of the spots (amplifiers B and D) and s = -1 otherwise; pixels outside the
/// region count as zero (scipy.signal.fftconvolve "same").
public enum DarkTrail {
    /// The kernel amplitude * (e / width) * exp(-e / width), e = 0 ... 5 width + 1 (0 at e = 0); empty when the width is < 0.
    public static func kernel(trailWidth: Double, amplitude: Double) -> [Double] {
        let h = Int(5 * trailWidth + 1)
        guard h > 0 else { return [] }
        return (0...h).map { e -> Double in e == 0 ? 0 : amplitude * (Double(e) / trailWidth) * exp(-Double(e) / trailWidth) }
    }

    /// Corrects one row segment in place; `scratch` holds at least `row.count` values.
    @inline(__always)
    static func correctRow(_ row: UnsafeMutableBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>,
                           kernel: [Double], left: Bool) {
        let n = row.count, h = kernel.count - 1
        guard h > 0 else { return }
        for i in 0..<n { scratch[i] = row[i] }
        kernel.withUnsafeBufferPointer { kern in
            for i in 0..<n {
                var t = 0.0
                for e in 1...h {
                    let k = left ? i + e : i - e
                    if k < 0 || k >= n { break }
                    t += scratch[k] * kern[e]
                }
                row[i] += t
            }
        }
    }

    public static func correct(_ image: inout [Double], width: Int, region: CCDRegion, left: Bool, trailWidth: Double, amplitude: Double) {
        let kern = kernel(trailWidth: trailWidth, amplitude: amplitude)
        guard kern.count > 1 else { return }
        let c0 = region.cols.lowerBound, c1 = region.cols.upperBound
        let rows = Array(region.rows)
        let blocks = max(1, min(64, rows.count))
        image.withUnsafeMutableBufferPointer { buf in
            nonisolated(unsafe) let img = buf
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                let lo = rows.count * b / blocks, hi = rows.count * (b + 1) / blocks
                let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, c1 - c0))
                defer { scratch.deallocate() }
                for r in rows[lo..<hi] {
                    correctRow(UnsafeMutableBufferPointer(rebasing: img[(r * width + c0)..<(r * width + c1)]), scratch: scratch,
                               kernel: kern, left: left)
                }
            }
        }
    }
}
