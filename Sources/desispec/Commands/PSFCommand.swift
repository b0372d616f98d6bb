import ArgumentParser
import DESICore
import FITS
import Foundation
import PSF

/// `desispec psf`: fit the PSF of a camera on a preprocessed arc exposure, starting from a PSF (desi_compute_psf,
/// which runs specex; here the trace and core-width subset of that fit, see Docs/psf.md).
struct PSFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psf",
        abstract: "Fit the traces and core widths of a camera's PSF on a preprocessed arc exposure.",
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
          - the GH-i-j terms, the tail and every other parameter are the
            input PSF's;
          - fibers without usable lines take their bundle's smooth correction
            (in a bundle without lines: the nearest fitted fibers').
        The cycle repeats --iterations times, or until the changes are below
        0.001 pixel. Output: a GAUSS-HERMITE PSFVER 3 file that specter and
        desispec read.

        Lamp lines: --lines FILE (FITS table with VACUUM_WAVE [ELECTRONS], or
        text: vacuum wavelength [intensity]). Default: the list that
        `desispec simulate` draws arcs with:
        DATA_DIR/\(ArcLamps.measuredListPath) if it exists
        (--data-dir, default $DESISPEC_TESTDATA), else the built-in list.
        """
    )

    @Option(name: [.short, .customLong("input-image")], help: "Preprocessed arc image (preproc-CAMERA-EXPID.fits).")
    var image: String
    @Option(name: .customLong("psf"), help: "Input PSF to start from (GAUSS-HERMITE), e.g. the previous night's.")
    var psf: String
    @Option(name: [.short, .customLong("output-psf")], help: "Output PSF file.")
    var output: String
    @Option(name: .long, help: "Threads (default: all cores).") var ncpu: Int?
    @Option(name: .long, help: "Lamp line list (FITS or text); default: see below.") var lines: String?
    @Option(name: .customLong("data-dir"), help: "Folder whose \(ArcLamps.measuredListPath) is the default line list (default: $DESISPEC_TESTDATA).")
    var dataDir: String?
    @Option(name: .customLong("trace-degree"), help: "Legendre degree in wavelength of the trace corrections.")
    var traceDegree = PSFFitOptions().traceDegree
    @Option(name: .customLong("sigma-degree"), help: "Legendre degree in wavelength of the GHSIGX/GHSIGY factors.")
    var sigmaDegree = PSFFitOptions().sigmaDegree
    @Option(name: .customLong("trace-fiber-degree"), help: "Legendre degree across the fibers of a bundle of the smooth trace corrections.")
    var traceFiberDegree = PSFFitOptions().traceFiberDegree ?? 1
    @Flag(name: .customLong("trace-per-fiber"), help: "Fit the trace corrections fiber by fiber (degree --trace-degree) instead of per bundle plus a per-fiber offset.")
    var tracePerFiber = false
    @Option(name: .customLong("sigma-fiber-degree"), help: "Legendre degree across the fibers of a bundle of the GHSIGX/GHSIGY factors.")
    var sigmaFiberDegree = PSFFitOptions().sigmaFiberDegree ?? 0
    @Flag(name: .customLong("sigma-per-fiber"), help: "Fit the GHSIGX/GHSIGY factors fiber by fiber instead of per bundle.")
    var sigmaPerFiber = false
    @Flag(name: .customLong("only-trace-fit"), help: "Fit the traces only; keep GHSIGX/GHSIGY.") var onlyTraceFit = false
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
    }

    func run() throws {
        let log = global.makeLogger("psf")
        try runStep {
            let img = try Image.read(image)
            let inPSF = try readPSF(psf)
            guard let start = inPSF as? GaussHermitePSF else {
                throw DESIError.badFile(path: psf, problem: "the PSF fit starts from a GAUSS-HERMITE PSF (this file has traces only)")
            }
            guard img.ny == start.npixY, img.nx == start.npixX else {
                throw DESIError.mismatch("\(image) is \(img.ny) x \(img.nx) pixels but \(psf) describes a \(start.npixY) x \(start.npixX) CCD")
            }
            let psfCamera = start.camera
            if let a = img.camera?.description.lowercased(), let b = psfCamera, a != b {
                throw DESIError.mismatch("\(image) is camera \(a) but \(psf) is camera \(b)")
            }
            let (lampLines, source): ([ArcLine], String)
            if let l = lines { (lampLines, source) = (try ArcLamps.read(l), l) }
            else { (lampLines, source) = try ArcLamps.simulatorList(dataDirectory: dataDir ?? ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"]) }
            log.info("\(lampLines.count) lamp lines from \(source); fitting \(start.nspec) fibers of \(image)")
            var o = PSFFitOptions()
            o.traceDegree = traceDegree; o.sigmaDegree = sigmaDegree; o.fitSigma = !onlyTraceFit
            o.sigmaFiberDegree = sigmaPerFiber ? nil : sigmaFiberDegree
            o.traceFiberDegree = tracePerFiber ? nil : traceFiberDegree
            o.iterations = iterations; o.minSNR = minSNR; o.sigmaMinSNR = sigmaMinSNR
            if let n = ncpu { o.ncpu = n }
            let r = try fitPSF(image: img, psf: start, lines: lampLines, options: o) { log.info("\($0)") }
            let missing = r.linesPerFiber.enumerated().filter { $0.element < 2 }.map(\.offset)
            if !missing.isEmpty {
                log.warning("\(missing.count) fiber(s) with fewer than 2 usable lines (corrections from their bundle or neighbours): \(missing.prefix(20).map(String.init).joined(separator: ","))")
            }
            let sortedLines = r.linesPerFiber.sorted()
            let medianLines = sortedLines.isEmpty ? 0 : sortedLines[sortedLines.count / 2]
            let summary = String(format: "MEANDX = %+.3f MEANDY = %+.3f pixel, GHSIGX x %.4f GHSIGY x %.4f, median %d lines per fiber",
                                 r.meanDx, r.meanDy, r.meanSigmaXRatio, r.meanSigmaYRatio, medianLines)
            log.info("\(summary)")
            var keys = [FITSCard("MEANDX", .double(r.meanDx), comment: "mean x change of the traces from IN_PSF (pixel)"),
                        FITSCard("MAXDX", .double(r.maxAbsDx), comment: "max |x change| (pixel)"),
                        FITSCard("MEANDY", .double(r.meanDy), comment: "mean y change of the traces from IN_PSF (pixel)"),
                        FITSCard("MAXDY", .double(r.maxAbsDy), comment: "max |y change| (pixel)"),
                        FITSCard("SIGXRAT", .double(r.meanSigmaXRatio), comment: "mean GHSIGX / GHSIGX of IN_PSF"),
                        FITSCard("SIGYRAT", .double(r.meanSigmaYRatio), comment: "mean GHSIGY / GHSIGY of IN_PSF"),
                        FITSCard("NLINES", .int(medianLines), comment: "median number of arc lines fitted per fiber"),
                        FITSCard("NFIBFIT", .int(r.fiberFitted.filter { $0 }.count), comment: "fibers fitted (others interpolated)"),
                        FITSCard("IN_PSF", .string((psf as NSString).lastPathComponent)),
                        FITSCard("IN_IMAGE", .string((image as NSString).lastPathComponent)),
                        FITSCard("LINELIST", .string((source as NSString).lastPathComponent))]
            if let cam = img.camera?.description ?? psfCamera { keys.append(FITSCard("CAMERA", .string(cam))) }
            for k in ["EXPID", "NIGHT"] { if let v = img.header[k] { keys.append(FITSCard(k, v)) } }
            for (b, c) in r.bundleRChi2.enumerated() {
                keys.append(FITSCard(String(format: "B%02dRCHI2", b), .double(c), comment: "reduced chi2 of the line fits of bundle \(b)"))
            }
            let history = ["desispec-swift \(DesispecVersion.string) psf -i \(image) --psf \(psf) -o \(output)"
                           + " --trace-degree \(traceDegree) --sigma-degree \(sigmaDegree) --iterations \(iterations)"
                           + (tracePerFiber ? " --trace-per-fiber" : " --trace-fiber-degree \(traceFiberDegree)")
                           + (sigmaPerFiber ? " --sigma-per-fiber" : " --sigma-fiber-degree \(sigmaFiberDegree)")
                           + (onlyTraceFit ? " --only-trace-fit" : "") + (lines.map { " --lines \($0)" } ?? "")]
            try r.psf.write(to: output, history: history, extraKeys: keys)
            log.info("wrote \(output)")
        }
    }
}
