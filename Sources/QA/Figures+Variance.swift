import DESICore
import Foundation
import Plot

extension Figures {
    /// The variance-model check of one camera: measured against predicted variance in bins of electrons, one colour
    /// per amplifier, with the 1:1 line; and per amplifier the ratios to the header (read noise between the traces,
    /// the pipeline's read noise) and the shot-noise slope, with the +-10 % band.
    public static func variance(_ check: VarianceCheck, tolerance: Double = 0.10, title: String, path: String) throws {
        let canvas = Canvas(width: 1100, height: 480)
        let left = Axes(canvas: canvas, left: 80, top: 40, width: 520, height: 370)
        let bins = check.amplifiers.flatMap(\.bins).filter { $0.predicted > 0 && $0.measured > 0 }
        let xs = bins.map { log10($0.predicted) }, ys = bins.map { log10($0.measured) }
        let lo = min(xs.min() ?? 0, ys.min() ?? 0), hi = max(xs.max() ?? 1, ys.max() ?? 1)
        left.setLimits(x: (lo - 0.05, hi + 0.05), y: (lo - 0.05, hi + 0.05))
        left.plot(x: [lo - 0.05, hi + 0.05], y: [lo - 0.05, hi + 0.05], color: .gray, label: "1:1", dash: [4, 3])
        for (k, a) in check.amplifiers.enumerated() {
            let b = a.bins.filter { $0.predicted > 0 && $0.measured > 0 }
            left.scatter(x: b.map { log10($0.predicted) }, y: b.map { log10($0.measured) },
                         color: Color.cycle[k % Color.cycle.count], radius: 3.5, label: "amp \(a.name)")
        }
        left.decorate(xLabel: "log10 predicted variance max(e-, 0) + RDNOISE^2", yLabel: "log10 measured variance",
                      title: "\(title) (\(check.source))")

        let right = Axes(canvas: canvas, left: 700, top: 40, width: 360, height: 370)
        let n = Double(check.amplifiers.count)
        let series: [(String, Color, (VarianceCheck.Amplifier) -> Double?)] = [
            ("read noise between / header", .blue, { a in a.measuredBetween.map { $0 / a.headerReadNoise } }),
            ("pipeline read noise / header", .orange,
             { a in (a.pipelineExcessBetween ?? a.pipelineExcessOn).map { $0 / a.headerReadNoise } }),
            ("shot-noise slope", .green, { $0.shotSlope }),
        ]
        let values = series.flatMap { s in check.amplifiers.compactMap(s.2) }
        right.setLimits(x: (-0.5, n - 0.5), y: (min(0.7, (values.min() ?? 1) - 0.05), max(1.3, (values.max() ?? 1) + 0.05)))
        right.horizontalLine(1, color: .black)
        right.horizontalLine(1 + tolerance, color: .red)
        right.horizontalLine(1 - tolerance, color: .red)
        for (k, s) in series.enumerated() {
            let pts = check.amplifiers.enumerated().compactMap { i, a in s.2(a).map { (Double(i) + 0.15 * Double(k - 1), $0) } }
            right.scatter(x: pts.map(\.0), y: pts.map(\.1), color: s.1, radius: 4, label: s.0)
        }
        right.decorate(xLabel: "amplifier " + check.amplifiers.map(\.name).joined(separator: " "), yLabel: "ratio",
                       title: check.warnings.isEmpty ? "no variance warning" : "\(check.warnings.count) warning(s)")
        try canvas.writePNG(path)
    }
}
