import Foundation

/// What the QA of a night writes in the production's QA folder.
public struct QANightReport: Sendable {
    /// qa-NIGHT.json: the time series, the software and the figures.
    public var json: String
    /// qa-NIGHT.html: the night's index of every exposure's QA.
    public var html: String
    /// qa-NIGHT-METRIC.png names (relative to the QA folder), one per metric.
    public var figures: [String]
    /// The metrics that no exposure of the night has.
    public var missingMetrics: [String]
}

extension QANight {
    /// Writes the night's QA under `qaRoot` (desi_qa_night, desi_qa_prod --time_series,
    /// desispec.qa.html.toplevel): a time-series figure per metric (qa-NIGHT-METRIC.png), qa-NIGHT.json (the
    /// series, with SOFTWARE `software` and the FIGURES) and the HTML index qa-NIGHT.html linking the exposures'
    /// pages and figures (paths relative to `qaRoot`, by EXPID).
    public func writeReport(qaRoot: String, metrics: [String], software: String, exposurePages: [Int: String],
                            exposureFigures: [Int: [String]]) throws -> QANightReport {
        var figures: [String] = []
        for m in metrics {
            let name = "qa-\(night)-\(m.replacingOccurrences(of: ".", with: "_")).png"
            try timeSeriesFigure(metric: m, path: "\(qaRoot)/\(name)")
            figures.append(name)
        }
        var value = qaValue(metrics: metrics)
        if case .dict(var items) = value {
            items.insert(("SOFTWARE", .string(software)), at: 1)
            items.insert(("FIGURES", .list(figures.map { .string($0) })), at: 2)
            value = .dict(items)
        }
        let json = "\(qaRoot)/qa-\(night).json"
        try value.write(to: json)
        let html = "\(qaRoot)/qa-\(night).html"
        let page = HTMLIndex.nightPage(self, figures: figures, exposurePages: exposurePages, exposureFigures: exposureFigures)
        try HTMLIndex.write(page, to: html)
        return QANightReport(json: json, html: html, figures: figures, missingMetrics: metrics.filter { series($0).isEmpty })
    }
}
