import ArgumentParser
import Coadd
import DESICore
import FITS
import Foundation
import LinearAlgebra

/// `desispec coadd`: coadd the exposures of each target (desi_coadd_spectra).
struct CoaddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coadd",
        abstract: "Coadd all spectra of each target, per camera, optionally across cameras or resampled spectro-perfectly.",
        discussion: """
        Examples:
          desispec coadd -i spectra-0-1000-20201214.fits -o coadd-0-1000-20201214.fits
          desispec coadd -i spectra-*.fits -o coadd-brz.fits --coadd-cameras
          desispec coadd -i spectra-0-1000-20201214.fits -o coadd-lin.fits --lin-step 0.8
        """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("i"), .long], parsing: .upToNextOption, help: "Input spectra files (or cframes).")
    var infile: [String]
    @Option(name: .shortAndLong, help: "Output coadd file.")
    var outfile: String
    @Option(name: .long, help: "Cosmic-ray rejection threshold in sigma (0: none).")
    var nsig: Double = 4
    @Flag(name: .long, help: "Inputs are from a single tile (keep FIBER, LOCATION, ... in FIBERMAP).")
    var onetile = false
    @Flag(name: .long, help: "Coadd across cameras onto one wavelength grid (band brz).")
    var coaddCameras = false
    @Option(name: .long, help: "Resample spectro-perfectly onto a linear grid with this step (A).")
    var linStep: Double?
    @Option(name: .long, help: "Minimum wavelength of the resampled grid.")
    var waveMin: Double?
    @Option(name: .long, help: "Maximum wavelength of the resampled grid.")
    var waveMax: Double?
    @Option(name: .long, parsing: .upToNextOption, help: "Coadd only these TARGETIDs.")
    var targetids: [Int64] = []

    func validate() throws {
        if nsig < 0 { throw ValidationError("--nsig must be >= 0") }
        if coaddCameras && linStep != nil { throw ValidationError("--coadd-cameras and --lin-step cannot be combined") }
    }

    func run() throws {
        let log = global.makeLogger("coadd")
        try runStep {
            BLASThreads.set(1)
            let input = try Coaddition.loadInputs(infile)
            log.info("read \(input.numSpectra) spectra of \(input.targetIDs.count) targets, bands \(input.bands.joined(separator: ","))")
            var opts = CoaddOptions()
            opts.cosmicsNsig = nsig; opts.onetile = onetile; opts.coaddCameras = coaddCameras
            opts.linearStep = linStep; opts.waveMin = waveMin; opts.waveMax = waveMax
            opts.targetIDs = targetids.isEmpty ? nil : targetids
            var out = try Coaddition.run(input, options: opts)
            for i in 0..<1000 {
                let key = "INFIL\(String(format: "%03d", i))"
                if out.header[key] != nil { out.header.remove(key) }
            }
            for (i, f) in infile.enumerated() { out.header.set("INFIL\(String(format: "%03d", i))", (f as NSString).lastPathComponent) }
            var arguments = ["--nsig", "\(nsig)"]
            if onetile { arguments.append("--onetile") }
            if coaddCameras { arguments.append("--coadd-cameras") }
            if let linStep { arguments += ["--lin-step", "\(linStep)"] }
            try out.write(outfile, history: [DESIProvenance.line(command: "coadd", arguments: arguments)])
            log.info("wrote \(outfile): \(out.numSpectra) targets, bands \(out.bands.joined(separator: ","))")
        }
    }
}
