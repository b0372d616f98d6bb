import ArgumentParser
import DESICore
import Foundation
import QA

/// `desispec qa-night --night N`: the QA of every exposure of a night in the production's QA tree, time series of
/// chosen metrics per camera (JSON + PNG), and the night's HTML index (desi_qa_night, desi_qa_prod --time_series,
/// desispec.qa.html.toplevel).
struct QANightCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qa-night",
        abstract: "Time series of QA metrics across the exposures of a night, with an HTML index of all QA figures.",
        discussion: """
        Reads QA/exposures/NIGHT/EXPID/qa-EXPID.json (else the exposure's qa-CAM-EXPID.json files) under the
        production, writes QA/qa-NIGHT.json, QA/qa-NIGHT-METRIC.png for each metric and QA/qa-NIGHT.html.
        Metrics are dotted paths in the per-camera QA: SKYSUB.MED_RESID, FLUXCALIB.ZP, FIBERFLAT.MAX_RMS.0, ...
        Example: desispec qa-night --night 20201214 --metric SKYSUB.MED_RESID --metric FLUXCALIB.ZP
        """
    )

    @Option(name: .long, help: "Night (YYYYMMDD).")
    var night: String
    @Option(name: .customLong("prod-root"), help: "Production folder (default $DESI_SPECTRO_REDUX/$SPECPROD).")
    var prodRoot: String?
    @Option(name: .long, help: "Metric for a time series (repeatable; default SKYSUB.MED_RESID, FLUXCALIB.ZP, FIBERFLAT.MAX_RMS.0, DIAGNOSIS.NFEATURES).")
    var metric: [String] = []
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("qa-night")
        try runStep {
            guard night.count == 8, Int(night) != nil else { throw DESIError.invalidArgument("--night must be YYYYMMDD, got '\(night)'") }
            let prod = try productionRoot(prodRoot)
            let qaRoot = FileLayout.qaDir(specprod: prod)
            let nightDir = FileLayout.qaNightDir(specprod: prod, night: night)
            var exposures: [QAExposure] = []
            var pages: [Int: String] = [:], figs: [Int: [String]] = [:]
            for name in try FileLayout.listing(nightDir) {
                guard name.count == 8, let expid = Int(name) else { continue }
                let dir = FileLayout.qaExposureDir(specprod: prod, night: night, expid: expid)
                let combined = FileLayout.qaExposureFile(folder: dir, expid: expid, ext: "json")
                let exposure: QAExposure
                if FileManager.default.fileExists(atPath: combined) {
                    exposure = try QAExposure(try QAValue.read(combined), path: combined)
                } else {
                    let cams = try FileLayout.qaFrameFiles(in: dir, expid: expid)
                    guard !cams.isEmpty else { log.debug("\(dir): no QA files"); continue }
                    exposure = try QAExposure(cameraQA: try cams.map { ($0, try QAValue.read($0)) })
                }
                exposures.append(exposure)
                let rel = String(dir.dropFirst(qaRoot.count + 1))   // relative to the night's page in QA/
                let page = FileLayout.qaExposureFile(folder: dir, expid: expid, ext: "html")
                if FileManager.default.fileExists(atPath: page) { pages[expid] = "\(rel)/\((page as NSString).lastPathComponent)" }
                figs[expid] = FileLayout.qaExposureFigures(in: dir, expid: expid).map { "\(rel)/\($0)" }
            }
            guard !exposures.isEmpty else { throw DESIError.badFile(path: nightDir, problem: "no exposure QA files (qa-EXPID.json or qa-CAM-EXPID.json) for this night") }
            let qaNight = QANight(night: night, exposures: exposures)
            let metrics = metric.isEmpty ? QANight.defaultMetrics : metric
            var figures: [String] = []
            for m in metrics {
                let name = FileLayout.qaNightFigureName(night: night, metric: m)
                try qaNight.timeSeriesFigure(metric: m, path: "\(qaRoot)/\(name)")
                figures.append(name)
            }
            var value = qaNight.qaValue(metrics: metrics)
            if case .dict(var items) = value {
                items.insert(("SOFTWARE", .string("desispec-swift \(DesispecVersion.string) qa-night")), at: 1)
                items.insert(("FIGURES", .list(figures.map { .string($0) })), at: 2)
                value = .dict(items)
            }
            let out = FileLayout.qaNightFile(specprod: prod, night: night, ext: "json")
            try value.write(to: out)
            let html = FileLayout.qaNightFile(specprod: prod, night: night, ext: "html")
            try HTMLIndex.write(HTMLIndex.nightPage(qaNight, figures: figures, exposurePages: pages, exposureFigures: figs), to: html)
            for m in metrics where qaNight.series(m).isEmpty { log.warning("no exposure of night \(night) has \(m)") }
            log.info("wrote \(out), \(html) and \(figures.count) figures (\(exposures.count) exposures)")
        }
    }
}
