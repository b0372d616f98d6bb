import Foundation

/// Dark-trail correction of some LBNL amplifiers (desispec.darktrail.correct_dark_trail): along each row,
/// image[j, i] += sum_e image[j, i + s e] * amplitude * (e / width) * exp(-e / width) for e = 1 ... 5 width + 1, with
/// s = +1 when the trail lies to the left of the spots (amplifiers B and D) and s = -1 otherwise; pixels outside the
/// region count as zero (scipy.signal.fftconvolve "same").
public enum DarkTrail {
    public static func correct(_ image: inout [Double], width: Int, region: CCDRegion, left: Bool, trailWidth: Double, amplitude: Double) {
        let h = Int(5 * trailWidth + 1)
        guard h > 0 else { return }
        let kernel = (0...h).map { e -> Double in e == 0 ? 0 : amplitude * (Double(e) / trailWidth) * exp(-Double(e) / trailWidth) }
        let c0 = region.cols.lowerBound, c1 = region.cols.upperBound
        let rows = Array(region.rows)
        image.withUnsafeMutableBufferPointer { buf in
            nonisolated(unsafe) let img = buf
            DispatchQueue.concurrentPerform(iterations: max(1, min(64, rows.count))) { b in
                let lo = rows.count * b / max(1, min(64, rows.count)), hi = rows.count * (b + 1) / max(1, min(64, rows.count))
                var src = [Double](repeating: 0, count: c1 - c0)
                for r in rows[lo..<hi] {
                    let base = r * width
                    for i in 0..<(c1 - c0) { src[i] = img[base + c0 + i] }
                    for i in 0..<(c1 - c0) {
                        var t = 0.0
                        for e in 1...h {
                            let k = left ? i + e : i - e
                            if k < 0 || k >= c1 - c0 { break }
                            t += src[k] * kernel[e]
                        }
                        img[base + c0 + i] += t
                    }
                }
            }
        }
    }
}
