import ArgumentParser
import DESICore
import FITS
import Foundation
import PSF

/// `desispec traceshift`: measure trace shifts on a preproc image and write the PSF with shifted traces
/// (desi_compute_trace_shifts, cross-correlation method).
struct TraceShiftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traceshift",
        abstract: "Measure the shifts of the spectral traces on a preprocessed image and write the shifted PSF.",
        discussion: """
        Example (science exposure): desispec traceshift -i preproc-r0-00000001.fits --psf psfnight-r0-20201214.fits \\
                   -o psf-r0-00000001.fits --degxx 2 --degxy 0 --degyx 2 --degyy 0 --sky
        x shifts come from cross-dispersion profiles, y shifts from cross-correlations of boxcar spectra with their
        median (relative) and with an external spectrum (absolute): --sky uses the night-sky line spectrum shipped
        with desispec (as desi_proc does for science exposures), --arc-lamps its arc lamp spectrum (desi_proc, before
        the PSF fit of an arc: --degxx 0 --degxy 0 --degyx 0 --degyy 0 --arc-lamps), --spectrum any other.
        --continuum: x only (flats). --auto chooses from the image's FLAVOR (flat: --continuum, arc: --arc-lamps,
        other: --sky).
        """
    )

    @Option(name: [.short, .customLong("image")], help: "Preproc image file.")
    var image: String
    @Option(name: .customLong("psf"), help: "Input PSF file.")
    var psf: String
    @Option(name: [.short, .customLong("outpsf")], help: "Output PSF file with shifted traces.")
    var outpsf: String
    @Option(name: .customLong("outoffsets"), help: "Output table of the measured offsets (FITS).")
    var outoffsets: String?
    @Option(name: .long, help: "Polynomial degree of x shifts along x.") var degxx = 2
    @Option(name: .long, help: "Polynomial degree of x shifts along y.") var degxy = 2
    @Option(name: .long, help: "Polynomial degree of y shifts along x.") var degyx = 2
    @Option(name: .long, help: "Polynomial degree of y shifts along y.") var degyy = 2
    @Option(name: .long, help: "Width of the cross-dispersion profile / boxcar, pixels.") var width = 7
    @Option(name: .customLong("ccd-rows-rebin"), help: "Rebinning of CCD rows for the x profiles.") var ccdRowsRebin = 4
    @Option(name: .customLong("max-error"), help: "Max edge error (pixels) before lowering the polynomial degrees.") var maxError = 0.05
    @Flag(name: .long, help: "Continuum or LED image: fit only x shifts.") var continuum = false
    @Flag(name: .long, help: """
        Sky exposure: subtract the continuum before the cross-correlations and calibrate the wavelengths against the \
        shipped sky line spectrum (unless --spectrum).
        """) var sky = false
    @Flag(name: .customLong("arc-lamps"), help: """
        Arc exposure: calibrate the wavelengths against the shipped arc lamp spectrum (desispec's spec-arc-lamps.dat).
        """) var arcLamps = false
    @Option(name: .long, help: """
        ASCII spectrum (vacuum wavelength in A, flux) for the absolute wavelength calibration (instead of the sky \
        lines of --sky or the lamps of --arc-lamps).
        """)
    var spectrum: String?
    @Flag(name: .long, help: "Choose --continuum, --arc-lamps or --sky from the FLAVOR of the image (flat, arc, other).")
    var auto = false
    @Flag(name: .customLong("no-large-shift-scan"), help: """
        Skip the first, coarse correction of arcs (spots matched over +-25 fibers) and continuum images (profiles \
        over +-50 pixels) before the x passes (desi_proc skips it for flats).
        """) var noLargeShiftScan = false
    @Option(name: .long, help: "Limit to the first N fibers (debugging).") var nfibers: Int?
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if sky && arcLamps { throw ValidationError("--sky and --arc-lamps name two reference spectra: give one") }
    }

    func run() throws {
        let log = global.makeLogger("traceshift")
        try runStep {
            var o = TraceShiftOptions()
            o.degxx = degxx; o.degxy = degxy; o.degyx = degyx; o.degyy = degyy
            o.width = width; o.ccdRowsRebin = ccdRowsRebin; o.maxError = maxError
            o.continuum = continuum; o.continuumSubtract = sky; o.largeShiftScan = !noLargeShiftScan
            var shipped: ShippedReferenceSpectrum? = arcLamps ? .arcLamps : nil
            if auto {
                // desi_compute_trace_shifts --auto: the FLAVOR keyword of the image's primary header
                let flavor = try imageFlavor(image)
                switch flavor {
                case "flat": o.continuum = true
                case "arc": shipped = .arcLamps
                default: o.continuumSubtract = true
                }
                let chosen = o.continuum ? "x shifts only (--continuum)" : shipped == .arcLamps ? "--arc-lamps" : "--sky"
                log.info("--auto: FLAVOR '\(flavor)' of \(image): \(chosen)")
            }
            let request = TraceShiftRequest(imagePath: image, psfPath: psf, outputPath: outpsf, offsetsPath: outoffsets,
                                            spectrumPath: spectrum, shippedSpectrum: shipped, nfibers: nfibers, options: o)
            try shiftTracesFile(request, info: { log.info("\($0)") }, warning: { log.warning("\($0)") })
        }
    }
}

/// FLAVOR of a preprocessed image's primary header, lower case (desispec's --auto); an error naming the file
/// when it has none.
private func imageFlavor(_ path: String) throws -> String {
    let f = try FITSFile.open(path)
    defer { try? f.close() }
    try f.moveTo(index: 0)
    guard let flavor = try f.readHeader().string("FLAVOR")?.trimmingCharacters(in: .whitespaces).lowercased(),
          !flavor.isEmpty else {
        throw DESIError.badFile(path: path, problem: "no FLAVOR keyword in the primary header: --auto cannot choose")
    }
    return flavor
}
