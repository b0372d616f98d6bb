import ArgumentParser
import DESICore
import FITS
import Foundation
import PSF

/// `desispec psfnight`: the PSF of a night for one camera from several arc PSFs (desi_compute_psf_night, which
/// calls desispec.scripts.specex.mean_psf).
struct PSFNightCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psfnight",
        abstract: "Average the arc PSFs of a camera into the night's PSF.",
        discussion: """
        Example:
          desispec psfnight -i psf-r0-00000001.fits psf-r0-00000002.fits \\
                   psf-r0-00000003.fits -o psfnight-r0-20250101.fits

        As desispec's mean_psf: per bundle, the inputs whose reduced chi2
        (BnnRCHI2) is below the median of all inputs and bundles + 1 (the
        best one if none is); per fiber, those of them with STATUS 0 (fitted
        on the fiber's own lines) when there are any. Fiber by fiber, the
        Legendre coefficients of XTRACE, YTRACE and every PSF parameter are
        averaged over the inputs kept. With 3 inputs or more, an
        input whose traces or core widths are outliers for a fiber (more than
        --nsigma robust deviations and more than --min-offset pixel, or 1 % in
        width, from the median of the inputs) is left out for that fiber, all
        its coefficients together. The inputs must share camera, fibers, CCD,
        parameters, Legendre degrees and wavelength range; otherwise the
        command fails and writes nothing.
        """
    )

    @Option(name: [.short, .customLong("input")], parsing: .upToNextOption, help: "Input PSF files (at least 2).")
    var inputs: [String]
    @Option(name: [.short, .customLong("output")], help: "Output PSF file.")
    var output: String
    @Option(name: .long, help: "Outlier threshold in robust deviations (3 inputs or more).") var nsigma = 5.0
    @Option(name: .customLong("min-offset"), help: "Trace differences below this (pixel) are never outliers.") var minOffset = 0.05
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard inputs.count >= 2 else { throw ValidationError("psfnight needs at least 2 input PSFs, got \(inputs.count)") }
        guard nsigma > 0, minOffset >= 0 else { throw ValidationError("--nsigma must be > 0 and --min-offset >= 0") }
    }

    func run() throws {
        let log = global.makeLogger("psfnight")
        try runStep {
            var psfs = [GaussHermitePSF]()
            for path in inputs {
                let p = try readPSF(path)
                guard let g = p as? GaussHermitePSF else {
                    throw DESIError.badFile(path: path, problem: "not a GAUSS-HERMITE PSF (traces only): cannot be averaged")
                }
                psfs.append(g)
            }
            let r = try combinePSFs(psfs, names: inputs, nsigma: nsigma, minOffset: minOffset)
            if r.rejected > 0 { log.warning("\(r.rejected) (input, fiber) pair(s) left out as outliers") }
            log.info("averaged \(inputs.count) PSFs of \(r.psf.nspec) fibers")
            var out = r.psf
            // Keys that describe one exposure's fit, not the average.
            for k in ["MEANDX", "MAXDX", "MINDX", "MEANDY", "MAXDY", "MINDY", "SIGXRAT", "SIGYRAT", "NLINES", "NFIBFIT",
                      "IN_PSF", "IN_IMAGE", "NIGHT", "NFIBFLAG", "LINEMISS"] + (0..<100).map({ String(format: "B%02dRCHI2", $0) }) {
                out.headers.primary.remove(k); out.headers.table.remove(k)
            }
            for line in inputs.map({ "inc \($0)" }) { out.headers.primary.addComment(line); out.headers.table.addComment(line) }
            if let t = r.chi2Threshold {
                log.info("\(String(format: "bundle chi2 threshold %.3f: %d (input, bundle) pair(s) left out", t, r.chi2Rejected))")
            } else {
                log.warning("not every input has its bundles' reduced chi2 (BnnRCHI2): no chi2 selection")
            }
            let flagged = out.fiberStatusValues.filter { $0 != 0 }.count
            var keys = [FITSCard("NPSFIN", .int(inputs.count), comment: "number of PSFs averaged"),
                        FITSCard("NREJECT", .int(r.rejected), comment: "(input, fiber) pairs left out as outliers"),
                        FITSCard("NCHI2REJ", .int(r.chi2Rejected), comment: "(input, bundle) pairs left out: rchi2 > median + 1"),
                        FITSCard("NSTATREJ", .int(r.statusRejected), comment: "(input, fiber) pairs left out: STATUS != 0"),
                        FITSCard("NFIBFLAG", .int(flagged), comment: "fibers with STATUS != 0 in every input used"),
                        FITSCard("EXPID", .int(0), comment: "a mix of exposures (see the inc comments)")]
            for (b, c) in r.bundleRChi2.sorted(by: { $0.key < $1.key }) {
                keys.append(FITSCard(String(format: "B%02dRCHI2", b), .double(c), comment: "mean rchi2 of the inputs kept for bundle \(b)"))
            }
            let history = [DESIProvenance.line(command: "psfnight", arguments: ["-i"] + inputs + ["-o", output])]
            try out.write(to: output, history: history, extraKeys: keys)
            log.info("wrote \(output)")
        }
    }
}
