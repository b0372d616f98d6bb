import ArgumentParser
import DESICore
import FITS
import Foundation
import StdStars

/// `desispec stdstars`: fit stellar models to the standard stars of one spectrograph (desi_fit_stdstars).
struct StdStarsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stdstars",
        abstract: "Fit stellar templates to the standard stars of one spectrograph, jointly across its b, r, z frames.",
        discussion: """
        Example: desispec stdstars --frames frame-b0-00000003.fits frame-r0-00000003.fits frame-z0-00000003.fits \\
                   --skymodels sky-b0-00000003.fits sky-r0-00000003.fits sky-z0-00000003.fits \\
                   --fiberflats fiberflatnight-b0-20250101.fits ... -o stdstars-0-00000003.fits
        Templates: --starmodels FILE (format of star_templates_v2.0-lite.fits), else $STD_TEMPLATES, else a built-in
        synthetic grid. Filters: --filters-dir (DECam g r z and Gaia ECSV curves), else built-in analytic curves.
        """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "Frames (one per camera of one spectrograph and exposure).")
    var frames: [String]
    @Option(name: .long, parsing: .upToNextOption, help: "Sky models, in the order of --frames.")
    var skymodels: [String] = []
    @Option(name: .long, parsing: .upToNextOption, help: "Fiber flats, in the order of --frames.")
    var fiberflats: [String] = []
    @Option(name: .long, help: "Stellar template file.") var starmodels: String?
    @Option(name: .customLong("filters-dir"), help: "Folder with decam2014-{g,r,z}.ecsv and gaiadr2-{G,BP,RP}.ecsv.")
    var filtersDir: String?
    @Option(name: [.short, .customLong("outfile")], help: "Output stdstars file.") var outfile: String
    @Option(name: .customLong("delta-color"), help: "Max color difference between star and model.") var deltaColor: Double = 0.2
    @Option(name: .customLong("z-max")) var zMax: Double = 0.008
    @Option(name: .customLong("z-res")) var zRes: Double = 2e-5
    @Option(name: .customLong("template-error")) var templateError: Double = 0.1
    @Option(name: .customLong("maxstdstars")) var maxStdStars: Int = 30
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runStep {
            let log = global.makeLogger("stdstars")
            if !skymodels.isEmpty && skymodels.count != frames.count {
                throw DESIError.invalidArgument("--skymodels has \(skymodels.count) files for \(frames.count) frames")
            }
            if !fiberflats.isEmpty && fiberflats.count != frames.count {
                throw DESIError.invalidArgument("--fiberflats has \(fiberflats.count) files for \(frames.count) frames")
            }
            let sframes = try frames.indices.map { i in
                try Frame.readSkySubtracted(frames[i], fiberflat: fiberflats.isEmpty ? nil : fiberflats[i],
                                            sky: skymodels.isEmpty ? nil : skymodels[i])
            }
            let templates: StellarTemplates
            if let path = StandardStarInputs.templatesPath(starmodels) { templates = try StellarTemplates.read(path) }
            else { templates = StellarTemplates.synthetic() }
            let filters = try filtersDir.map { try FilterSet.load(directory: $0) } ?? FilterSet.builtin()
            var options = StdStarOptions()
            options.deltaColor = deltaColor; options.zMax = zMax; options.zRes = zRes
            options.templateError = templateError; options.maxStdStars = maxStdStars
            var header = sframes[0].header
            for k in ["CAMERA", "BUNIT", "EXTNAME"] { header.remove(k) }
            header.addHistory(DESIProvenance.line(command: "stdstars", arguments: ["--frames"] + frames))
            log.info("fitting \(templates.count) templates to the standard stars of \(frames.count) frames")
            let models = try StdStarFitter.fit(frames: sframes, templates: templates, filters: filters, options: options, header: header)
            try models.write(outfile)
            log.info("wrote \(models.count) standard-star models to \(outfile)")
        }
    }
}
