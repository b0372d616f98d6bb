import ArgumentParser
import DESICore
import Foundation
import Viewer

/// `desispec view FILE... -o PAGE.html`: one self-contained interactive page of the spectra of frame, sframe,
/// cframe, spectra or coadd files (prospect's use, with no server and no Python): flux per camera with its noise,
/// sky and model overlays, smoothing, zoom, line markers, the fibermap row, navigation by index, FIBER, TARGETID.
struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Write an interactive HTML spectrum viewer of frame, sframe, cframe, spectra or coadd files.",
        discussion: """
        Sky (sky-CAM-EXPID.fits) files given with sframes or frames add the subtracted sky as an overlay; with
        cframes, the camera's fluxcalib file is needed too (the sky is shown in flux units). --redrock gives each
        target's redshift for the line markers; --model a file in the layout of the data (spectra, coadd, frame)
        whose rows are matched by TARGETID. The page embeds everything (dygraphs, the data): open it from disk.
        Example: desispec view cframe-b0-00000004.fits cframe-r0-00000004.fits cframe-z0-00000004.fits -o view.html
        """
    )

    @Argument(help: "frame, sframe, cframe, spectra or coadd files (and sky/fluxcalib files for the sky overlay).")
    var files: [String]
    @Option(name: .long, help: "Redrock file (REDSHIFTS: TARGETID, Z, SPECTYPE): line markers at each target's redshift.")
    var redrock: String?
    @Option(name: .long, help: "Model spectra in the layout of the data, matched by TARGETID.")
    var model: String?
    @Option(name: .long, help: "Page title (default: the first file's name).")
    var title: String?
    @Option(name: .customLong("qa-link"), help: "Link back to a QA page (path relative to the output page).")
    var qaLink: String?
    @Option(name: .shortAndLong, help: "Output HTML page.")
    var output: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("view")
        try runStep {
            guard output.lowercased().hasSuffix(".html") else {
                throw DESIError.invalidArgument("-o \(output): the viewer page's name must end in .html")
            }
            let resources = try ViewerResources.load()
            let inputs = ViewerInputs(files: files, redrock: redrock, model: model)
            let pageTitle = title ?? "desispec view: " + files.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
            let doc = try inputs.document(title: pageTitle, links: qaLink.map { [(text: "QA", href: $0)] } ?? [])
            try ViewerPage.write(doc, to: output, resources: resources)
            log.info("wrote \(output) (\(doc.targets.count) targets, \(doc.grids.count) wavelength grids)")
        }
    }
}
