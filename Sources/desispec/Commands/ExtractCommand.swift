import ArgumentParser
import DESICore
import Extraction
import Foundation

/// `desispec extract`: spectra from a preproc image and a PSF (desi_extract_spectra).
struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract spectra from a preprocessed image (spectroperfectionism, or boxcar with --boxcar).",
        discussion: """
        Example: desispec extract -i preproc-r0-00000001.fits -p psf-r0-00000001.fits \\
                   -o frame-r0-00000001.fits -w 5760,7620,0.8 -f fibermap-00000001.fits
        Fibers are extracted in bundles of --bundlesize, each split into --nsubbundles overlapping parts and
        patches of --nwavestep wavelengths, in parallel over --ncpu threads.
        """
    )

    @Option(name: [.short, .customLong("input")], help: "Preproc image file.")
    var input: String
    @Option(name: [.short, .customLong("psf")], help: "PSF file.")
    var psf: String
    @Option(name: [.short, .customLong("output")], help: "Output frame file.")
    var output: String
    @Option(name: [.short, .customLong("fibermap")], help: "Fibermap file (default: the FIBERMAP HDU of the input, if any).")
    var fibermap: String?
    @Option(name: [.short, .customLong("model")], help: "Output 2D pixel model file.")
    var model: String?
    @Option(name: [.short, .customLong("wavelength")], help: """
        wmin,wmax,dw in Angstrom (default as desispec: the range every fiber sees, rounded inwards to whole \
        Angstroms, dw 0.7).
        """)
    var wavelength: String?
    @Option(name: [.short, .customLong("specmin")], help: "First spectrum to extract.")
    var specmin = 0
    @Option(name: [.short, .customLong("nspec")], help: "Number of spectra (default: all from specmin).")
    var nspec: Int?
    @Option(name: [.short, .customLong("regularize")], help: "Regularisation amount.")
    var regularize = 0.0
    @Option(name: .long, help: "Spectra per bundle.")
    var bundlesize = 25
    @Option(name: .long, help: "Overlapping sub-bundles per bundle.")
    var nsubbundles = 5
    @Option(name: .long, help: "Wavelength steps per divide-and-conquer patch.")
    var nwavestep = 50
    @Option(name: .long, help: """
        Fractional PSF model error used in chi2pix and so BAD2DFIT (default as desispec: the PSF file's PSFERR, \
        else 0.01; desi_proc passes 0.04 for b cameras, 0.01 for r and z).
        """)
    var psferr: Double?
    @Option(name: .customLong("bad2dfit-threshold"), help: """
        Set BAD2DFIT where chi2pix exceeds this value (desispec up to 0.70 used 100); default: desispec's current \
        rule, chi2pix above 5 times its median over the fibers at that wavelength and over that fiber's wavelengths.
        """)
    var bad2dfitThreshold: Double?
    @Flag(name: .customLong("no-scores"), help: "Do not add the SCORES HDU (desispec's --no-scores).")
    var noScores = false
    @Option(name: .customLong("pixpad-frac"), help: "Fraction of a PSF spot padded in pixels around each patch.")
    var pixpadFrac = 0.8
    @Option(name: .customLong("wavepad-frac"), help: "Fraction of a PSF spot padded in wavelength around each patch.")
    var wavepadFrac = 0.2
    @Flag(name: .customLong("decorrelate-fibers"), help: "Decorrelate the noise between fibers (not recommended).")
    var decorrelateFibers = false
    @Flag(name: .long, help: "Boxcar extraction (qproc style) instead of spectroperfectionism.")
    var boxcar = false
    @Option(name: .long, help: "Boxcar width in pixels.")
    var width = 7
    @Flag(name: .customLong("barycentric-correction"),
          help: "Output wavelengths in the barycentric frame (HELIOCOR from the header's pointing and mid-time).")
    var barycentricCorrection = false
    @Option(name: .long, help: "Threads (default: all cores).")
    var ncpu: Int?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("extract")
        try runStep {
            let options = ExtractionOptions(bundleSize: bundlesize, nSubBundles: nsubbundles, waveStep: nwavestep,
                                            regularize: regularize, decorrelateFibers: decorrelateFibers,
                                            pixPadFraction: pixpadFrac, wavePadFraction: wavepadFrac, threads: ncpu,
                                            bad2DFitRule: bad2dfitThreshold.map { .threshold($0) } ?? .desispec)
            let request = FrameExtractionRequest(imagePath: input, psfPath: psf, outputPath: output, fibermapPath: fibermap,
                                                 modelPath: model, wavelengthSpec: wavelength, specmin: specmin, nspec: nspec,
                                                 boxcarWidth: boxcar ? width : nil, options: options, psfError: psferr,
                                                 barycentricCorrection: barycentricCorrection, computeScores: !noScores)
            let times = try extractFrame(request) { log.info("\($0)") }
            log.info("wrote \(output) in \(times.summary)")
        }
    }
}
