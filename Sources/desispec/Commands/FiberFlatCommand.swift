import ArgumentParser
import DESICore
import FITS
import FiberFlatFit
import Foundation

/// `desispec fiberflat`: the fiber flat of a continuum-lamp frame (desi_compute_fiberflat).
struct FiberFlatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fiberflat",
        abstract: "Compute the fiber flat of a flat-lamp frame.",
        discussion: """
        Example: desispec fiberflat -i frame-r0-00000002.fits -o fiberflat-r0-00000002.fits
        The flat is the ratio of each fiber's spectrum to the deconvolved mean spectrum seen through that
        fiber's resolution, normalized to a median of 1 at each wavelength; divide frames by it.
        """
    )

    @Option(name: [.short, .customLong("infile")], help: "Input flat-lamp frame file.")
    var input: String
    @Option(name: [.short, .customLong("outfile")], help: "Output fiber flat file.")
    var output: String
    @Option(name: .long, help: "Sigma clipping of outlier pixels.")
    var nsig = 10.0
    @Option(name: .long, help: "Required accuracy of the flat (end of the iterations).")
    var acc = 5e-4
    @Option(name: .customLong("smoothing-resolution"), help: "Spacing of the spline nodes smoothing the flat, in Angstrom.")
    var smoothingResolution = 5.0
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("fiberflat")
        try runStep(keepingFreedArraysInHeap: true) {
            let frame = try Frame.read(input)
            var o = FiberFlatOptions()
            o.nsigClipping = nsig; o.accuracy = acc; o.smoothingResolution = smoothingResolution
            log.info("computing the fiber flat of \(frame.nspec) fibers x \(frame.nwave) wavelengths from \(input)")
            var ff = try computeFiberFlat(frame: frame, options: o, log: { log.debug("\($0)") })
            let bad = ff.mask.filter { $0 != 0 }.count
            log.info("chi2pdf=\(ff.chi2pdf ?? 0), \(bad) masked pixels")
            ff.header.addProvenance(command: "fiberflat", inputs: [input],
                                    options: ["--nsig", "\(nsig)", "--acc", "\(acc)", "--smoothing-resolution", "\(smoothingResolution)"])
            try ff.write(to: output)
            log.info("wrote \(output)")
        }
    }
}

/// `desispec fiberflatnight`: average of the fiber flats of a night (desi_average_fiberflat / fiberflatnight).
struct FiberFlatNightCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fiberflatnight",
        abstract: "Average fiber flats of one camera (weighted mean of two, masked median of more).",
        discussion: "Example: desispec fiberflatnight -i fiberflat-r0-0000001[0-2].fits -o fiberflatnight-r0-20201214.fits"
    )

    @Option(name: [.short, .customLong("infile")], parsing: .upToNextOption, help: "Input fiber flat files.")
    var inputs: [String]
    @Option(name: [.short, .customLong("outfile")], help: "Output fiber flat file.")
    var output: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("fiberflatnight")
        try runStep {
            guard !inputs.isEmpty else { throw DESIError.invalidArgument("no input fiber flats (-i FILES...)") }
            let flats = try inputs.map { try FiberFlat.read($0) }
            var avg: FiberFlat
            do { avg = try averageFiberFlats(flats) } catch let e as DESIError {
                throw DESIError.mismatch("\(inputs.joined(separator: ", ")): \(e)")
            }
            avg.header.addProvenance(command: "fiberflatnight", inputs: inputs)
            try avg.write(to: output)
            log.info("averaged \(flats.count) fiber flats into \(output)")
        }
    }
}
