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
    @Option(name: .long, help: """
        Metric for a time series (repeatable; default SKYSUB.MED_RESID, FLUXCALIB.ZP, FIBERFLAT.MAX_RMS.0, DIAGNOSIS.NFEATURES).
        """)
    var metric: [String] = []
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("qa-night")
        try runStep {
            guard night.count == 8, Int(night) != nil else { throw DESIError.invalidArgument("--night must be YYYYMMDD, got '\(night)'") }
            let prod = try productionRoot(prodRoot)
            let found = try QANight.gatherExposures(specprod: prod, night: night) { log.debug("\($0): no QA files") }
            guard !found.exposures.isEmpty else {
                let nightDir = FileLayout.qaNightDir(specprod: prod, night: night)
                throw DESIError.badFile(path: nightDir, problem: "no exposure QA files (qa-EXPID.json or qa-CAM-EXPID.json) for this night")
            }
            let metrics = metric.isEmpty ? QANight.defaultMetrics : metric
            let report = try QANight(night: night, exposures: found.exposures)
                .writeReport(specprod: prod, metrics: metrics, software: DESIProvenance.line(command: "qa-night"),
                             exposures: found)
            for m in report.missingMetrics { log.warning("no exposure of night \(night) has \(m)") }
            let written = "\(report.json), \(report.html), \(report.index) and \(report.figures.count) figures"
            log.info("wrote \(written) (\(found.exposures.count) exposures)")
        }
    }
}
