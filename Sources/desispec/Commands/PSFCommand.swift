import ArgumentParser
import DESICore
import Foundation
import PSF

/// `desispec psf`: fit the PSF of a camera on a preprocessed arc exposure, starting from a PSF (desi_compute_psf,
/// which runs specex: traces, core widths and the Gauss-Hermite shape, see Docs/psf.md).
struct PSFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psf",
        abstract: "Fit a camera's PSF (traces, core widths, Gauss-Hermite shape) on a preprocessed arc exposure.",
        discussion: """
        Example:
          desispec psf -i preproc-r0-00000001.fits \\
                       --psf psfnight-r0-20241231.fits -o psf-r0-00000001.fits

        What is fitted (a documented subset of specex's Gauss-Hermite fit,
        see Docs/psf.md):
          - every lamp line in a fiber's range is fitted on a small window of
            the image with the input PSF's spot shape: flux per line,
            background, centre; lines whose windows overlap are fitted
            together;
          - the x and y offsets of the lines are fitted per bundle of 25
            fibers by Legendre polynomials (degree --trace-fiber-degree across
            the fibers, --trace-degree in wavelength) plus a constant offset
            per fiber (--trace-per-fiber: fiber by fiber), and added to
            XTRACE / YTRACE, each refitted on its own Legendre degree;
          - the core widths of isolated bright lines give factors on GHSIGX /
            GHSIGY, per bundle (degrees --sigma-fiber-degree, --sigma-degree;
            --sigma-per-fiber: fiber by fiber);
          - with --no-shape-fit the GH-i-j terms, the tail and every other
            parameter are the input PSF's (else see "Full fit" below);
          - fibers without usable lines take their bundle's smooth correction
            (in a bundle without lines: the nearest fitted fibers').
        The cycle repeats --iterations times, or until the changes are below
        0.001 pixel. Output: a GAUSS-HERMITE PSFVER 3 file that specter and
        desispec read.

        Full fit (the default, as specex; --no-shape-fit: traces and widths
        only): after traces and widths, every GH-i-j but GH-0-0 is fitted
        bundle by bundle (Legendre polynomials of the fiber in the bundle and
        of wavelength, the input table's degrees), fluxes free; then traces
        and widths again; --shape-cycles shape fits. --fit-tails: TAILAMP too.

        Starting PSF (--psf): a GAUSS-HERMITE PSF (previous night, another
        epoch, or a generic Gaussian-core one), or a trace set (XTRACE,
        YTRACE, XSIGMA/WSIGMA, as ql-psf files) turned into a Gaussian core.
        A coarse scan first finds traces off by up to --scan-max-dy pixels
        along the dispersion and --scan-max-dx across (--no-coarse-scan).

        Lamp lines: --lines NAME or FILE: a shipped list (measured: DESI's
        measured arc lines, the default, the simulator's arcs; specex:
        desispec's specex_linelist.txt) or a FITS table with VACUUM_WAVE
        [ELECTRONS] or a text file (vacuum wavelength [intensity]).
        """
    )

    @Option(name: [.short, .customLong("input-image")], help: "Preprocessed arc image (preproc-CAMERA-EXPID.fits).")
    var image: String
    @Option(name: .customLong("psf"), help: "PSF to start from (GAUSS-HERMITE, or a trace set), e.g. the previous night's.")
    var psf: String
    @Option(name: [.short, .customLong("output-psf")], help: "Output PSF file.")
    var output: String
    @Option(name: .long, help: "Threads (default: all cores).") var ncpu: Int?
    @Option(name: .long, help: "Lamp line list: 'measured' (default), 'specex', or a FITS or text file.") var lines: String?
    @Flag(name: .customLong("no-coarse-scan"), help: "Skip the coarse scan of the trace offsets.") var noCoarseScan = false
    @Option(name: .customLong("scan-max-dx"), help: "Largest trace offset across the dispersion of the coarse scan (pixels).")
    var scanMaxDx = CoarseScanOptions().maxShiftX
    @Option(name: .customLong("scan-max-dy"), help: "Largest trace offset along the dispersion of the coarse scan (pixels).")
    var scanMaxDy = CoarseScanOptions().maxShiftY
    @Option(name: .customLong("trace-degree"), help: "Legendre degree in wavelength of the trace corrections.")
    var traceDegree = PSFFitOptions().traceDegree
    @Option(name: .customLong("sigma-degree"), help: "Legendre degree in wavelength of the GHSIGX/GHSIGY factors.")
    var sigmaDegree = PSFFitOptions().sigmaDegree
    @Option(name: .customLong("trace-fiber-degree"), help: "Legendre degree across the fibers of a bundle of the smooth trace corrections.")
    var traceFiberDegree = PSFFitOptions().traceFiberDegree ?? 1
    @Flag(name: .customLong("trace-per-fiber"), help: """
        Fit the trace corrections fiber by fiber (degree --trace-degree) instead of per bundle plus a per-fiber offset.
        """)
    var tracePerFiber = false
    @Option(name: .customLong("sigma-fiber-degree"), help: "Legendre degree across the fibers of a bundle of the GHSIGX/GHSIGY factors.")
    var sigmaFiberDegree = PSFFitOptions().sigmaFiberDegree ?? 0
    @Flag(name: .customLong("sigma-per-fiber"), help: "Fit the GHSIGX/GHSIGY factors fiber by fiber instead of per bundle.")
    var sigmaPerFiber = false
    @Flag(name: .customLong("only-trace-fit"), help: "Fit the traces only; keep GHSIGX/GHSIGY.") var onlyTraceFit = false
    @OptionGroup var shape: PSFShapeOptions
    @Option(name: .long, help: "Measure/update cycles.") var iterations = 3
    @Option(name: .customLong("min-snr"), help: "Minimum S/N of a line (group) used for the traces.") var minSNR = 10.0
    @Option(name: .customLong("sigma-min-snr"), help: "Minimum S/N of an isolated line used for the widths.") var sigmaMinSNR = 40.0
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let n = ncpu, n < 1 { throw ValidationError("--ncpu must be at least 1, got \(n)") }
        guard traceDegree >= 0, sigmaDegree >= 0, sigmaFiberDegree >= 0, traceFiberDegree >= 0 else {
            throw ValidationError("--trace-degree, --trace-fiber-degree, --sigma-degree and --sigma-fiber-degree must be >= 0")
        }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard scanMaxDx >= 0, scanMaxDy >= 0, scanMaxDx <= 50, scanMaxDy <= 100 else {
            throw ValidationError("--scan-max-dx must be in 0-50 and --scan-max-dy in 0-100 pixels")
        }
    }

    func run() throws {
        let log = global.makeLogger("psf")
        try runStep {
            var o = PSFFitOptions()
            o.traceDegree = traceDegree; o.sigmaDegree = sigmaDegree; o.fitSigma = !onlyTraceFit
            o.sigmaFiberDegree = sigmaPerFiber ? nil : sigmaFiberDegree
            o.traceFiberDegree = tracePerFiber ? nil : traceFiberDegree
            o.iterations = iterations; o.minSNR = minSNR; o.sigmaMinSNR = sigmaMinSNR
            if let n = ncpu { o.ncpu = n }
            o.coarseScan = noCoarseScan ? nil : CoarseScanOptions(maxShiftX: scanMaxDx, maxShiftY: scanMaxDy)
            shape.apply(to: &o)
            let request = PSFFitRequest(imagePath: image, psfPath: psf, outputPath: output, linesPath: lines, options: o)
            try fitPSFFile(request, info: { log.info("\($0)") }, warning: { log.warning("\($0)") })
            log.info("wrote \(output)")
        }
    }
}
