import ArgumentParser
import DESICore
import Foundation
import Logging
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
            let layout = try QAPaths.layout(prodRoot)
            let qaRoot = "\(layout.prodRoot)/QA"
            let nightDir = "\(qaRoot)/exposures/\(night)"
            let (exposures, pages, figs) = try exposureQA(nightDir: nightDir, log: log) { layout.qaDir(night: night, expid: $0) }
            guard !exposures.isEmpty else {
                throw DESIError.badFile(path: nightDir, problem: "no exposure QA files (qa-EXPID.json or qa-CAM-EXPID.json) for this night")
            }
            let metrics = metric.isEmpty ? QANight.defaultMetrics : metric
            let report = try QANight(night: night, exposures: exposures)
                .writeReport(qaRoot: qaRoot, metrics: metrics, software: "desispec-swift \(DesispecVersion.string) qa-night",
                             exposurePages: pages, exposureFigures: figs)
            for m in report.missingMetrics { log.warning("no exposure of night \(night) has \(m)") }
            log.info("wrote \(report.json), \(report.html) and \(report.figures.count) figures (\(exposures.count) exposures)")
        }
    }

    /// The QA of each exposure folder of the night (qa-EXPID.json, else its qa-CAM-EXPID.json files), with the
    /// exposure's HTML page and figures relative to the QA folder, by EXPID.
    private func exposureQA(nightDir: String, log: Logger, exposureDir: (Int) -> String)
        throws -> ([QAExposure], pages: [Int: String], figures: [Int: [String]]) {
        var exposures: [QAExposure] = []
        var pages: [Int: String] = [:], figs: [Int: [String]] = [:]
        for name in try QAPaths.listing(nightDir) {
            guard name.count == 8, let expid = Int(name) else { continue }
            let dir = exposureDir(expid)
            let combined = "\(dir)/qa-\(name).json"
            let exposure: QAExposure
            if FileManager.default.fileExists(atPath: combined) {
                exposure = try QAExposure(try QAValue.read(combined), path: combined)
            } else {
                let cams = try QAPaths.cameraFiles(in: dir, expid: expid)
                guard !cams.isEmpty else { log.debug("\(dir): no QA files"); continue }
                exposure = try QAExposure(cameraQA: try cams.map { ($0, try QAValue.read($0)) })
            }
            exposures.append(exposure)
            let rel = "exposures/\(night)/\(name)"
            if FileManager.default.fileExists(atPath: "\(dir)/qa-\(name).html") { pages[expid] = "\(rel)/qa-\(name).html" }
            figs[expid] = QAPaths.figures(in: dir, expid: expid).map { "\(rel)/\($0)" }
        }
        return (exposures, pages, figs)
    }
}
