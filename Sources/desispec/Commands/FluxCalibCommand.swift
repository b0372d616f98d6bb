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
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runStep {
            let log = global.makeLogger("fluxcalib")
            let frame = try Frame.readSkySubtracted(infile, fiberflat: fiberflat, sky: sky)
            let stars = try StdStarModels.read(models)
            var options = FluxCalibOptions()
            options.nsigFluxScale = nsigFluxScale
            options.highestThroughputStars = highestThroughput
            var standards: [Int]? = nil
            if !noStdCheck, let fm = frame.fibermap {
                let isStd = StdStarSelection.isStdStar(fm)
                standards = frame.fibers.indices.filter { isStd[$0] }.map { frame.fibers[$0] }
            }
            let calib: FluxCalibration
            do {
                calib = try computeFluxCalibration(frame: frame, modelWave: stars.wave, modelFlux: stars.flux,
                                                   modelFibers: stars.fibers, standardFibers: standards, options: options)
            } catch { throw DESIError.failed("\(infile) with \(models): \(error)") }
            try calib.write(outfile, provenance: [DESIProvenance.line(command: "fluxcalib", arguments: ["-i", infile, "--models", models])])
            log.info("wrote \(outfile)")
        }
    }
}
