import DESICore
import Foundation

/// The QA of each exposure of a night, as the night's page needs it.
public struct NightExposuresQA: Sendable {
    public var exposures: [QAExposure] = []
    /// Each exposure's HTML page, relative to the production's QA folder, by EXPID.
    public var pages: [Int: String] = [:]
    /// Each exposure's figures, relative to the production's QA folder, by EXPID.
    public var figures: [Int: [String]] = [:]
    /// Each exposure's viewer pages (`desispec view`, one per petal), relative to the production's QA folder, by EXPID.
    public var viewers: [Int: [String]] = [:]
}

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
    /// qa-toplevel.html: the production's index of every night's page, rewritten after this night's.
    public var index: String
}

extension QANight {
    /// Reads the QA of every exposure folder of `night` under the production `specprod` (FileLayout's QA folders):
    /// qa-EXPID.json where qa-exposure wrote it, else the exposure's qa-CAM-EXPID.json files. Folders without QA
    /// files are skipped (reported through `skipped`).
    public static func gatherExposures(specprod: String, night: String,
                                       skipped: (String) -> Void = { _ in }) throws -> NightExposuresQA {
        let qaRoot = FileLayout.qaDir(specprod: specprod)
        var found = NightExposuresQA()
        for name in try FileLayout.listing(FileLayout.qaNightDir(specprod: specprod, night: night)) {
            guard name.count == 8, let expid = Int(name) else { continue }
            let dir = FileLayout.qaExposureDir(specprod: specprod, night: night, expid: expid)
            let combined = FileLayout.qaExposureFile(folder: dir, expid: expid, ext: "json")
            let exposure: QAExposure
            if FileManager.default.fileExists(atPath: combined) {
                exposure = try QAExposure(try QAValue.read(combined), path: combined)
            } else {
                let cams = try FileLayout.qaFrameFiles(in: dir, expid: expid)
                guard !cams.isEmpty else { skipped(dir); continue }
                exposure = try QAExposure(cameraQA: try cams.map { ($0, try QAValue.read($0)) })
            }
            found.exposures.append(exposure)
            let rel = String(dir.dropFirst(qaRoot.count + 1))   // relative to the night's page in QA/
            let page = FileLayout.qaExposureFile(folder: dir, expid: expid, ext: "html")
            if FileManager.default.fileExists(atPath: page) { found.pages[expid] = "\(rel)/\((page as NSString).lastPathComponent)" }
            found.figures[expid] = FileLayout.qaExposureFigures(in: dir, expid: expid).map { "\(rel)/\($0)" }
            found.viewers[expid] = FileLayout.viewerExposurePages(in: dir, expid: expid).map { "\(rel)/\($0)" }
        }
        return found
    }

    /// Writes the night's QA in the production `specprod`'s QA folder (desi_qa_night, desi_qa_prod --time_series,
    /// desispec.qa.html.toplevel): a time-series figure per metric (qa-NIGHT-METRIC.png), qa-NIGHT.json (the
    /// series, with SOFTWARE `software` and the FIGURES) and the HTML index qa-NIGHT.html linking the exposures'
    /// pages and figures; then the production's index qa-toplevel.html (`QAProductionIndex`).
    public func writeReport(specprod: String, metrics: [String], software: String,
                            exposures: NightExposuresQA) throws -> QANightReport {
        let qaRoot = FileLayout.qaDir(specprod: specprod)
        var figures: [String] = []
        for m in metrics {
            let name = FileLayout.qaNightFigureName(night: night, metric: m)
            try timeSeriesFigure(metric: m, path: "\(qaRoot)/\(name)")
            figures.append(name)
        }
        var value = qaValue(metrics: metrics)
        if case .dict(var items) = value {
            items.insert(("SOFTWARE", .string(software)), at: 1)
            items.insert(("FIGURES", .list(figures.map { .string($0) })), at: 2)
            value = .dict(items)
        }
        let json = FileLayout.qaNightFile(specprod: specprod, night: night, ext: "json")
        try value.write(to: json)
        let html = FileLayout.qaNightFile(specprod: specprod, night: night, ext: "html")
        let page = HTMLIndex.nightPage(self, figures: figures, exposurePages: exposures.pages,
                                       exposureFigures: exposures.figures, exposureViewers: exposures.viewers,
                                       coaddViewers: FileLayout.viewerCoaddPages(specprod: specprod, night: night))
        try HTMLIndex.write(page, to: html)
        let index = try QAProductionIndex.write(specprod: specprod)
        return QANightReport(json: json, html: html, figures: figures, missingMetrics: metrics.filter { series($0).isEmpty },
                             index: index)
    }
}
