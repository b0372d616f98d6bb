import ArgumentParser
import DESICore
import FITS
import Foundation
import Sky

/// `desispec sky`: the sky model of a science frame (desi_compute_sky), optionally the sky-subtracted sframe.
struct SkyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sky",
        abstract: "Compute the sky model of a frame from its SKY fibers (and optionally write the sframe).",
        discussion: """
        Example: desispec sky -i frame-r0-00000003.fits --fiberflat fiberflatnight-r0-20201214.fits \\
                   -o sky-r0-00000003.fits --sframe sframe-r0-00000003.fits
        The frame is divided by the fiber flat; the deconvolved sky is fitted to the SKY fibers with sigma clipping,
        sky fibers whose residuals share a smooth excess are left out, and each fiber's model is the sky seen
        through its resolution. --angular-variation-deg N lets the sky vary as a polynomial of degree N in x, y.
        """
    )

    @Option(name: [.short, .customLong("infile")], help: "Input frame file.")
    var input: String
    @Option(name: .long, help: "Fiber flat file.")
    var fiberflat: String
    @Option(name: [.short, .customLong("outfile")], help: "Output sky model file.")
    var output: String
    @Option(name: .long, help: "Also write the flat-fielded, sky-subtracted frame here.")
    var sframe: String?
    @Option(name: .long, help: "Sigma clipping of the sky fibers' pixels.")
    var nsig = 4.0
    @Option(name: .customLong("angular-variation-deg"), help: "Degree of the sky's polynomial variation in focal-plane x, y.")
    var angularVariationDeg = 0
    @Flag(name: .customLong("no-extra-variance"), help: "Do not add the model variance measured on sky lines.")
    var noExtraVariance = false
    @Flag(name: .customLong("no-broad-rejection"), help: "Do not leave out sky fibers with smooth residuals unlike the others.")
    var noBroadRejection = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("sky")
        try runStep {
            var frame = try Frame.read(input)
            frame.appendScores(suffix: "RAW")   // the sframe's SCORES, as desi_process_exposure adds them
            let ff = try FiberFlat.read(fiberflat)
            do { try applyFiberFlat(&frame, ff) } catch let e as DESIError {
                throw DESIError.mismatch("\(input) and \(fiberflat): \(e)")
            }
            frame.appendScores(suffix: "FFLAT")
            var o = SkyOptions()
            o.nsigClipping = nsig; o.addVariance = !noExtraVariance
            o.angularVariationDegree = angularVariationDeg; o.broadRejection = !noBroadRejection
            var sky: SkyModel
            do { sky = try computeSky(frame: frame, options: o, log: { log.debug("\($0)") }) } catch let e as DESIError {
                throw DESIError.failed("\(input): \(e)")
            }
            let options = ["--nsig", "\(nsig)", "--angular-variation-deg", "\(angularVariationDeg)"]
                + (noExtraVariance ? ["--no-extra-variance"] : []) + (noBroadRejection ? ["--no-broad-rejection"] : [])
            sky.header.addProvenance(command: "sky", inputs: [input, fiberflat], options: options)
            try sky.write(to: output)
            log.info("wrote \(output) (\(sky.nrej) pixels rejected)")
            if let sframe {
                try subtractSky(&frame, sky)
                frame.appendScores(suffix: "SKYSUB")
                frame.header.addProvenance(command: "sky --sframe", inputs: [input, fiberflat], options: options)
                try frame.write(to: sframe)
                log.info("wrote \(sframe)")
            }
        }
    }
}
