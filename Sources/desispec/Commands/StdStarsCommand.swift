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
        Frames of several exposures of the spectrograph may be given: each camera's exposures are coadded and every
        star gets one model (desi_fit_stdstars in production).
        Templates: --starmodels FILE (format of star_templates_v2.0-lite.fits), else $STD_TEMPLATES, else
        $DESI_BASIS_TEMPLATES/stdstar_templates_v2.2.fits; none is an error. --builtin-templates uses the synthetic
        grid instead (tests and demos only). Filters: the curves shipped with desispec-swift (DECam g r z for
        PHOTSYS S, BASS g r and MzLS z for N, Gaia DR2 G BP RP); --filters-dir replaces them.
        The models are reddened by the fibermap's EBV (Fitzpatrick 1999, as desiutil.dust).
        """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "Frames (one per camera of one spectrograph and exposure).")
    var frames: [String]
    @Option(name: .long, parsing: .upToNextOption, help: "Sky models, in the order of --frames.")
    var skymodels: [String] = []
    @Option(name: .long, parsing: .upToNextOption, help: "Fiber flats, in the order of --frames.")
    var fiberflats: [String] = []
    @Option(name: .long, help: "Stellar template file (else $STD_TEMPLATES, else $DESI_BASIS_TEMPLATES/stdstar_templates_v2.2.fits).")
    var starmodels: String?
    @Flag(name: .customLong("builtin-templates"), help: "Fit the built-in synthetic template grid (tests and demos only).")
    var builtinTemplates = false
    @Option(name: .customLong("filters-dir"),
            help: "Folder of speclite ECSV curves replacing the shipped ones: decam2014-{g,r,z}, gaiadr2-{G,BP,RP}, BASS-{g,r}, MzLS-z.")
    var filtersDir: String?
    @Option(name: [.short, .customLong("outfile")], help: "Output stdstars file.") var outfile: String
    @Option(name: .customLong("delta-color"), help: "Max color difference between star and model.") var deltaColor: Double = 0.2
    @Option(name: .customLong("color"),
            help: "Preselection colour: G-R, R-Z, GAIA-BP-RP, GAIA-G-RP (default G-R; GAIA-BP-RP without Legacy photometry).")
    var color: String?
    @Option(name: .customLong("min-blue-snr"), help: "Minimum median S/N per sqrt(A) in the blue camera.")
    var minBlueSNR: Double = 4
    @Option(name: .customLong("std-targetids"), parsing: .upToNextOption,
            help: "TARGETIDs of the standards, overriding the targeting bits.")
    var stdTargetIDs: [Int64] = []
    @Option(name: .customLong("z-max")) var zMax: Double = 0.008
    @Option(name: .customLong("z-res")) var zRes: Double = 2e-5
    @Option(name: .customLong("template-error")) var templateError: Double = 0.1
    @Option(name: .customLong("maxstdstars"), help: "Maximum number of standards fitted (highest blue S/N first).")
    var maxStdStars: Int = 30
    @Flag(name: .customLong("ignore-extinction"),
          help: "Treat every EBV as 0 (no Milky Way extinction): only to measure what the correction is worth.")
    var ignoreExtinction = false
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
            if builtinTemplates {
                if starmodels != nil { throw DESIError.invalidArgument("give --starmodels or --builtin-templates, not both") }
                templates = StellarTemplates.synthetic()
            } else if let path = StandardStarInputs.templatesPath(starmodels) {
                templates = try StellarTemplates.read(path)
            } else {
                throw DESIError.invalidArgument("no stellar templates: give --starmodels FILE, set $STD_TEMPLATES or "
                                                + "$DESI_BASIS_TEMPLATES (or --builtin-templates for tests)")
            }
            let filters = try filtersDir.map { try FilterSet.load(directory: $0) } ?? FilterSet.shipped()
            var options = StdStarOptions()
            options.deltaColor = deltaColor; options.zMax = zMax; options.zRes = zRes
            options.templateError = templateError; options.maxStdStars = maxStdStars
            options.color = color; options.minBlueSNR = minBlueSNR
            options.stdTargetIDs = stdTargetIDs.isEmpty ? nil : stdTargetIDs
            options.correctExtinction = !ignoreExtinction
            if ignoreExtinction { log.warning("--ignore-extinction: the models are not reddened (EBV taken as 0)") }
            var header = sframes[0].header
            for k in ["CAMERA", "BUNIT", "EXTNAME"] { header.remove(k) }
            header.addHistory(DESIProvenance.line(command: "stdstars", arguments: ["--frames"] + frames))
            log.info("fitting \(templates.count) templates to the standard stars of \(frames.count) frames")
            let models = try StdStarFitter.fit(frames: sframes, templates: templates, filters: filters, options: options,
                                               header: header, warn: { log.warning("\($0)") })
            try models.write(outfile)
            log.info("wrote \(models.count) standard-star models to \(outfile)")
        }
    }
}
