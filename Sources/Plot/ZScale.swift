/// The display range ds9 shows with -zscale (IRAF's zscale algorithm): sample the finite pixels, sort them, fit a
/// line to the sorted sample with iterative rejection around it, and take the median -/+ (slope / contrast) times
/// half the sample range.
public enum ZScale {
    public static func limits(_ values: [Float], contrast: Double = 0.25, maxSamples: Int = 1000,
                              rejectSigma: Double = 2.5, iterations: Int = 5) -> (Double, Double) {
        let step = max(1, values.count / maxSamples)
        var sample: [Double] = []
        sample.reserveCapacity(values.count / step + 1)
        var i = 0
        while i < values.count {
            let v = values[i]
            if v.isFinite { sample.append(Double(v)) }
            i += step
        }
        guard sample.count > 1 else { return (sample.first ?? 0, (sample.first ?? 0) + 1) }
        sample.sort()
        let n = sample.count
        let zmin = sample[0], zmax = sample[n - 1]
        let center = n / 2
        let median = n % 2 == 1 ? sample[center] : 0.5 * (sample[center - 1] + sample[center])
        // Fit sample[k] = a + b (k - center) with iterative rejection.
        var keep = [Bool](repeating: true, count: n)
        var slope = 0.0, intercept = median
        for _ in 0..<iterations {
            var sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0, m = 0.0
            for k in 0..<n where keep[k] {
                let x = Double(k - center)
                sx += x; sy += sample[k]; sxx += x * x; sxy += x * sample[k]; m += 1
            }
            guard m >= 5 else { break }
            let det = m * sxx - sx * sx
            guard det != 0 else { break }
            slope = (m * sxy - sx * sy) / det
            intercept = (sy - slope * sx) / m
            var ss = 0.0
            for k in 0..<n where keep[k] {
                let r = sample[k] - (intercept + slope * Double(k - center)); ss += r * r
            }
            let sigma = (ss / m).squareRoot()
            var changed = false
            for k in 0..<n where keep[k] {
                let r = sample[k] - (intercept + slope * Double(k - center))
                if abs(r) > rejectSigma * sigma { keep[k] = false; changed = true }
            }
            if !changed { break }
        }
        let s = slope / contrast
        let lo = max(zmin, median - s * Double(center))
        let hi = min(zmax, median + s * Double(n - 1 - center))
        return lo < hi ? (lo, hi) : (zmin, zmax > zmin ? zmax : zmin + 1)
    }
}
