import Foundation
import Plot

/// The QA of a night: the exposures' QA in EXPID order and time series of chosen metrics per camera
/// (desi_qa_night / desi_qa_prod --time_series SKYSUB-MED_RESID, FLUXCALIB-ZP).
public struct QANight: Sendable {
    public var night: String
    public var exposures: [QAExposure]

    public init(night: String, exposures: [QAExposure]) {
        self.night = night
        self.exposures = exposures.sorted { $0.expid < $1.expid }
    }

    /// Default metrics of the time series and of the HTML table.
    public static let defaultMetrics = ["SKYSUB.MED_RESID", "FLUXCALIB.ZP", "FIBERFLAT.MAX_RMS.0", "DIAGNOSIS.NFEATURES"]

    /// Every camera seen in the night, in b0, r0, z0, b1 ... order.
    public var cameras: [String] {
        Array(Set(exposures.flatMap { $0.cameras.map(\.0) })).sorted { QAExposure.cameraOrder($0) < QAExposure.cameraOrder($1) }
    }

    /// metric -> camera -> [(expid, value)] for the exposures that have it.
    public func series(_ metric: String) -> [(camera: String, points: [(expid: Int, value: Double)])] {
        var out: [(camera: String, points: [(expid: Int, value: Double)])] = []
        for cam in cameras {
            var pts: [(expid: Int, value: Double)] = []
            for e in exposures { if let v = e.metric(cam, metric), v.isFinite { pts.append((e.expid, v)) } }
            if !pts.isEmpty { out.append((cam, pts)) }
        }
        return out
    }

    public func qaValue(metrics: [String]) -> QAValue {
        var series: [(String, QAValue)] = []
        for m in metrics {
            let s = self.series(m)
            series.append((m, .dict(s.map { cam, pts in
                (cam, .dict([("EXPID", .ints(pts.map(\.expid))), ("VALUE", .doubles(pts.map(\.value)))]))
            })))
        }
        return .dict([
            ("NIGHT", .string(night)),
            ("EXPIDS", .ints(exposures.map(\.expid))),
            ("FLAVORS", .list(exposures.map { .string($0.flavor) })),
            ("CAMERAS", .list(cameras.map { .string($0) })),
            ("TIME_SERIES", .dict(series)),
            ("WARNINGS", .list(exposures.flatMap { e in e.warnings.map { QAValue.string("\(e.expid) \($0)") } })),
            ("GRADES_PER_PETAL", .dict(exposures.compactMap { e in QualityQA.petalValue(e).map { (String(e.expid), $0) } })),
        ])
    }

    /// One metric against EXPID, one line per camera coloured by arm (qa_plots.prod_time_series).
    public func timeSeriesFigure(metric: String, path: String) throws {
        let canvas = Canvas(width: 1000, height: 500)
        let a = Axes(canvas: canvas, left: 90, top: 40, width: 860, height: 390)
        let s = series(metric)
        let xs = exposures.map { Double($0.expid) }
        let ys = s.flatMap { $0.points.map(\.value) }
        if ys.isEmpty {
            a.setLimits(x: (xs.min() ?? 0, xs.max() ?? 1), y: (-1, 1))
            canvas.text("no \(metric) in night \(night)", x: a.left + a.width / 2, y: a.top + a.height / 2, size: 12,
                        color: .gray, anchor: .center)
        } else {
            let lo = ys.min()!, hi = ys.max()!, pad = max(0.1 * (hi - lo), 1e-3 * max(1, abs(hi)))
            let x0 = xs.min()!, x1 = xs.max()!
            a.setLimits(x: x0 < x1 ? (x0 - 0.05 * (x1 - x0), x1 + 0.05 * (x1 - x0)) : (x0 - 1, x0 + 1), y: (lo - pad, hi + pad))
            for (i, (cam, pts)) in s.enumerated() {
                let base: Color = cam.hasPrefix("b") ? .blue : cam.hasPrefix("r") ? .red : Color(0.4, 0.1, 0.5)
                let shade = 1 - 0.06 * Double(Int(cam.dropFirst()) ?? 0)
                let c = Color(base.r * shade, base.g * shade, base.b * shade)
                let x = pts.map { Double($0.expid) }, y = pts.map(\.value)
                a.plot(x: x, y: y, color: c, lineWidth: 1.2, label: i < 12 ? cam : nil)
                a.scatter(x: x, y: y, color: c, radius: 3)
            }
        }
        a.decorate(xLabel: "EXPID", yLabel: metric, title: "night \(night): \(metric)")
        try canvas.writePNG(path)
    }
}
