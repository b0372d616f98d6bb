import ArgumentParser
import Coadd
import DESICore
import FITS
import Foundation

/// `desispec spectra`: regroup cframes into spectra files by tile or by healpix (desi_group_spectra).
struct SpectraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectra",
        abstract: "Group cframes into spectra files (per tile and spectrograph, or per healpix pixel).",
        discussion: """
        Examples:
          desispec spectra --inframes cframe-*-00001234.fits -o spectra-0-1000-20201214.fits
          desispec spectra --inframes cframe-*.fits --healpix 16469 --nside 64 -o spectra-main-dark-16469.fits
          desispec spectra --inframes cframe-*.fits --outdir out --group tile      (spectra-SP-TILE-NIGHT.fits)
          desispec spectra --inframes cframe-*.fits --outdir out --group healpix --survey main --program dark
        """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, parsing: .upToNextOption, help: "Input cframe files.")
    var inframes: [String]
    @Option(name: .shortAndLong, help: "Output spectra file (one group).")
    var output: String?
    @Option(name: .long, help: "Keep only the targets in this nested healpix pixel.")
    var healpix: Int?
    @Option(name: .long, help: "HEALPix nside (nested).")
    var nside: Int = 64
    @Option(name: .long, help: "Write every group into this folder, with DESI file names.")
    var outdir: String?
    @Option(name: .long, help: "Grouping with --outdir: tile or healpix.")
    var group: String = "tile"
    @Option(name: .long, help: "Survey for healpix file names (default: SURVEY header keyword).")
    var survey: String?
    @Option(name: .long, help: "Program for healpix file names (default: PROGRAM/FAPRGRM header keyword).")
    var program: String?

    func validate() throws {
        if (output == nil) == (outdir == nil) { throw ValidationError("give exactly one of -o/--output and --outdir") }
        if !["tile", "healpix"].contains(group) { throw ValidationError("--group must be tile or healpix") }
        if nside <= 0 || nside & (nside - 1) != 0 { throw ValidationError("--nside must be a power of 2") }
    }

    func run() throws {
        let log = global.makeLogger("spectra")
        try runStep {
            let frames = try inframes.map { try FrameInput.read($0) }
            log.info("read \(frames.count) frames")
            let names = inframes.map { ($0 as NSString).lastPathComponent }
            let history = DESIProvenance.line(command: "spectra", arguments: ["--inframes"] + names)
            if let output {
                let s = try SpectraGrouping.group(frames, healpix: healpix, nside: nside)
                try s.write(output, history: [history])
                log.info("wrote \(output): \(s.numSpectra) spectra, bands \(s.bands.joined())")
                return
            }
            let dir = outdir!
            if group == "tile" {
                for g in try SpectraGrouping.tileGroups(frames) {
                    let s = try SpectraGrouping.group(g.frames)
                    let name = SpectraGrouping.tileFileName(spectrograph: g.spectrograph, tile: g.tile, night: g.night)
                    let path = (dir as NSString).appendingPathComponent(name)
                    try s.write(path, history: [history])
                    log.info("wrote \(path): \(s.numSpectra) spectra")
                }
            } else {
                let h = frames[0].frame.header
                guard let sv = survey ?? h.string("SURVEY"), let pg = program ?? h.string("PROGRAM") ?? h.string("FAPRGRM") else {
                    throw DESIError.invalidArgument("spectra: no SURVEY/PROGRAM in the frame headers; give --survey and --program")
                }
                for pix in try SpectraGrouping.healpixelsCovered(frames, nside: nside) {
                    let s = try SpectraGrouping.group(frames, healpix: pix, nside: nside)
                    let name = SpectraGrouping.healpixFileName(survey: sv, program: pg, pixel: pix)
                    let path = (dir as NSString).appendingPathComponent(name)
                    try s.write(path, history: [history])
                    log.info("wrote \(path): \(s.numSpectra) spectra")
                }
            }
        }
    }
}
