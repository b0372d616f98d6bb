import ArgumentParser
import DESICore
import Foundation
import QA

/// `desispec qa-exposure`: combines the per-camera QA of one exposure (qa-CAM-EXPID.json from qa-frame) into
/// qa-EXPID.json with a summary row per camera, a figure of MED_RESID and ZP per camera, and an HTML page
/// (desi_qa_exposure, desispec.io.qa.write_qa_exposure, desispec.qa.html.make_exposure).
struct QAExposureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qa-exposure",
        abstract: "Combine the per-camera QA of one exposure: qa-EXPID.json, qa-EXPID.png, qa-EXPID.html.",
        discussion: """
        Inputs: the per-camera files given, else every qa-CAM-EXPID.json in --qa-dir, else the QA folder of
        --night/--expid in the production ($DESI_SPECTRO_REDUX/$SPECPROD/QA/exposures/NIGHT/EXPID).
        Example: desispec qa-exposure --night 20201214 --expid 67890
        """
    )

    @Argument(help: "Per-camera QA files (qa-CAM-EXPID.json).")
    var files: [String] = []
    @Option(name: .customLong("qa-dir"), help: "Folder holding the exposure's qa-CAM-EXPID.json files (outputs go there too).")
    var qaDir: String?
    @Option(name: .long, help: "Night (YYYYMMDD), with --expid, to find the QA folder in the production.")
    var night: String?
    @Option(name: .long, help: "Exposure ID, with --night.")
    var expid: Int?
    @Option(name: .customLong("prod-root"), help: "Production folder (default $DESI_SPECTRO_REDUX/$SPECPROD).")
    var prodRoot: String?
    @Option(name: .shortAndLong, help: "Output JSON (default qa-EXPID.json in the QA folder).")
    var output: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("qa-exposure")
        try runStep {
            var folder = qaDir
            if files.isEmpty && folder == nil, let night, let expid {
                folder = FileLayout.qaExposureDir(specprod: try productionRoot(prodRoot), night: night, expid: expid)
            }
            let inputs = try QAExposure.cameraFiles(files, folder: folder, expid: expid)
            let written = try QAExposure.combine(files: inputs, folder: folder, output: output,
                                                 software: DESIProvenance.line(command: "qa-exposure"))
            for w in written.warnings { log.warning("\(w)") }
            log.info("wrote \(written.json), \(written.figure), \(written.html)")
        }
    }
}
