import ArgumentParser
import DESICore
import FluxCalib
import Foundation
import StdStars

/// `desispec fluxcalib`: the calibration vector of one camera from its standard stars (desi_compute_fluxcalibration).
struct FluxCalibCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fluxcalib",
        abstract: "Compute the flux calibration of one camera from the standard-star models.",
        discussion: """
        Example: desispec fluxcalib -i frame-r0-00000003.fits --fiberflat fiberflatnight-r0-20250101.fits \\
                   --sky sky-r0-00000003.fits --models stdstars-0-00000003.fits -o fluxcalib-r0-00000003.fits
        """
    )

    @Option(name: [.short, .customLong("infile")], help: "Frame (or sframe when --fiberflat/--sky are omitted).") var infile: String
    @Option(name: .long, help: "Fiber flat to apply first.") var fiberflat: String?
    @Option(name: .long, help: "Sky model to subtract first.") var sky: String?
    @Option(name: .long, help: "Standard-star models (desispec stdstars output).") var models: String
    @Option(name: [.short, .customLong("outfile")], help: "Output fluxcalib file.") var outfile: String
    @Flag(name: .customLong("nostdcheck"), help: "Use every model, not only fibers the fibermap marks as standards.") var noStdCheck = false
    @Option(name: .customLong("nsig-flux-scale"), help: "Clipping of discrepant star flux scales, in sigma.") var nsigFluxScale: Double = 3
    @Option(name: .customLong("highest-throughput"), help: "Use only the N stars of highest throughput (0: all).")
    var highestThroughput: Int = 0
    @Option(name: .customLong("delta-color-cut"), help: "Discard stars whose model and data colours differ by more (plus 0.2 EBV).")
    var deltaColorCut: Double = 0.2
    @Option(name: .customLong("color"), help: "Colour of the cut (default: G-R, else GAIA-BP-RP, as the models hold).")
    var color: String?
    @Option(name: .customLong("average-fluxcalib"),
            help: "The camera's average calibration (desispec fluxcalib-average file): the fallback when the stars cannot be fitted.")
    var averageFluxcalib: String?
    @Option(name: .customLong("min-stdstars"), help: "Fall back on --average-fluxcalib with fewer usable standards than this.")
    var minStdStars: Int = 1
    @Option(name: .customLong("seeing-fwhm"),
            help: "Seeing FWHM [arcsec] of the fiber-acceptance corrections (default: the frame's SEEING, else PMSEEING, else 1.1).")
    var seeingFWHM: Double?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runStep(keepingFreedArraysInHeap: true) {
            let log = global.makeLogger("fluxcalib")
            // the resolution read from the mapped file fiber by fiber, not converted whole into fresh memory (as sky)
            let stored = try Frame.storedResolution(infile).flatMap(StoredResolution.init)
            let frame = try Frame.readSkySubtracted(infile, fiberflat: fiberflat, sky: sky, skipResolution: stored != nil)
            if let stored { try frame.checkStoredResolution(stored.stored) }
            let stars = try StdStarModels.read(models)
            var options = FluxCalibOptions()
            options.nsigFluxScale = nsigFluxScale
            options.highestThroughputStars = highestThroughput
            options.minStars = minStdStars
            let seeing = ExposureSeeing.fwhm(header: frame.header, explicit: seeingFWHM)
            if let w = seeing.warning { log.warning("\(infile): \(w)") }
            log.info("seeing FWHM \(seeing.fwhm) arcsec (\(seeing.source)) for the fiber acceptance")
            options.seeingFWHM = seeing.fwhm
            let (kept, notes) = try selectCalibrationStars(stars, frameFibermap: frame.fibermap, deltaColorCut: deltaColorCut, color: color)
            for n in notes { log.info("\(n)") }
            var standards: [Int]? = nil
            if !noStdCheck, let fm = frame.fibermap {
                let isStd = StdStarSelection.isStdStar(fm)
                standards = frame.fibers.indices.filter { isStd[$0] }.map { frame.fibers[$0] }
            }
            let keptFibers = Set(kept.map { stars.fibers[$0] })
            standards = (standards ?? stars.fibers).filter { keptFibers.contains($0) }
            let average = try averageFluxcalib.map { try AverageFluxCalibration.read($0) }
            let calib: FluxCalibration
            do {
                calib = try computeFluxCalibration(frame: frame, resolution: stored, modelWave: stars.wave, modelFlux: stars.flux,
                                                   modelFibers: stars.fibers, standardFibers: standards, options: options,
                                                   fallback: average, warn: { log.warning("\($0)") })
            } catch { throw DESIError.failed("\(infile) with \(models): \(error)") }
            if calib.header.bool(fluxCalibFallbackKey) == true {
                let why = calib.header.string("FCFBWHY") ?? "", scale = calib.header.double("FCFBSCAL") ?? 0
                log.warning("\(infile): FALLBACK calibration (\(why)), scale \(scale), FCFALLBK = T")
            }
            try calib.write(outfile, provenance: [DESIProvenance.line(command: "fluxcalib", arguments: ["-i", infile, "--models", models])])
            log.info("wrote \(outfile)")
        }
    }
}
