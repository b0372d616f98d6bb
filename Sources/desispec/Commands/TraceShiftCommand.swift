import ArgumentParser
import DESICore
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
        with desispec (as desi_proc does for science exposures), --spectrum any other. --continuum: x only (flats).
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
    @Option(name: .long, help: """
        ASCII spectrum (vacuum wavelength in A, flux) for the absolute wavelength calibration (instead of the sky \
        lines of --sky).
        """)
    var spectrum: String?
    @Option(name: .long, help: "Limit to the first N fibers (debugging).") var nfibers: Int?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("traceshift")
        try runStep {
            var o = TraceShiftOptions()
            o.degxx = degxx; o.degxy = degxy; o.degyx = degyx; o.degyy = degyy
            o.width = width; o.ccdRowsRebin = ccdRowsRebin; o.maxError = maxError
            o.continuum = continuum; o.continuumSubtract = sky
            let request = TraceShiftRequest(imagePath: image, psfPath: psf, outputPath: outpsf, offsetsPath: outoffsets,
                                            spectrumPath: spectrum, nfibers: nfibers, options: o)
            try shiftTracesFile(request) { log.info("\($0)") }
        }
    }
}
