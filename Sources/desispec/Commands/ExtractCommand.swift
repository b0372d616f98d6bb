import ArgumentParser
import DESICore
import Extraction
import FITS
import Foundation
import PSF

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
    @Option(name: [.short, .customLong("wavelength")], help: "wmin,wmax,dw in Angstrom (default: PSF range, dw 0.8).")
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
    var nsubbundles = 6
    @Option(name: .long, help: "Wavelength steps per divide-and-conquer patch.")
    var nwavestep = 50
    @Option(name: .long, help: "Fractional PSF model error used in chi2pix.")
    var psferr = 0.01
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
    @Option(name: .long, help: "Threads (default: all cores).")
    var ncpu: Int?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("extract")
        try runStep {
            let start = Date()
            let image = try ExtractionIO.readPreproc(input)
            let spectralPSF = try loadSpectralPSF(path: psf)
            let psfHeader = try readPrimaryHeader(psf)

            // Camera consistency between the image, the PSF and the fibermap.
            let camera = image.camera
            if let c = camera, let pc = psfHeader.string("CAMERA").flatMap({ Camera($0.trimmingCharacters(in: .whitespaces)) }), pc != c {
                throw DESIError.mismatch("image \(input) is camera \(c) but PSF \(psf) is camera \(pc)")
            }
            let fiberOffset = camera?.fiberMin ?? 0

            let n = nspec ?? (spectralPSF.nspec - specmin)
            guard specmin >= 0, n > 0, specmin + n <= spectralPSF.nspec else {
                throw DESIError.invalidArgument("spectra \(specmin)..<\(specmin + n) are outside the PSF's \(spectralPSF.nspec) fibers")
            }
            let fibers = specmin..<(specmin + n)
            let grid = try parseGrid(psf: spectralPSF)

            // Fibermap rows of these fibers.
            var fm: Fibermap? = nil
            if let path = fibermap ?? (try? FITSFile.open(input).hasHDU("FIBERMAP")).flatMap({ $0 ? input : nil }) {
                let f = try FITSFile.open(path)
                defer { try? f.close() }
                guard f.hasHDU("FIBERMAP") else { throw DESIError.badFile(path: path, problem: "no FIBERMAP HDU") }
                let all = Fibermap(table: try f.readTable("FIBERMAP"))
                let wanted = Set(fibers.map { fiberOffset + $0 })
                let rows = all.fibers.enumerated().filter { wanted.contains($0.element) }.map(\.offset)
                guard rows.count == n else {
                    let sp = camera.map { "spectrograph \($0.spectrograph)" } ?? "this camera"
                    throw DESIError.mismatch("fibermap \(path) has \(rows.count) of the \(n) fibers \(fiberOffset + specmin)..<\(fiberOffset + specmin + n) of \(sp)")
                }
                fm = all.selecting(rows: rows.sorted { all.fibers[$0] < all.fibers[$1] })
            }

            log.info("extracting \(n) spectra \(specmin)..<\(specmin + n) of \(input) on \(grid.count) wavelengths \(grid.wavelength(0))-\(grid.wavelength(grid.count - 1)) A (\(boxcar ? "boxcar" : "spectroperfectionism"))")
            let result: ExtractionResult
            if boxcar {
                result = try boxcarExtract(image: image, psf: spectralPSF, fibers: fibers, grid: grid, width: width, threads: ncpu)
            } else {
                let options = ExtractionOptions(bundleSize: bundlesize, nSubBundles: nsubbundles, waveStep: nwavestep,
                                                regularize: regularize, decorrelateFibers: decorrelateFibers, psfError: psferr,
                                                pixPadFraction: pixpadFrac, wavePadFraction: wavepadFrac, threads: ncpu,
                                                computeModel: model != nil)
                result = try extractSpectra(image: image, psf: spectralPSF, fibers: fibers, grid: grid, options: options)
            }

            var header = FITSHeader()
            let structural: Set<String> = ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND", "EXTNAME",
                                           "BZERO", "BSCALE", "PCOUNT", "GCOUNT", "XTENSION", "CHECKSUM", "DATASUM", "BUNIT"]
            for card in image.header.cards where !structural.contains(card.key) && !card.key.hasPrefix("Z") && !card.isCommentary {
                header.append(card)
            }
            header.set("IN_PSF", shortened(psf), comment: "Input spectral PSF")
            header.set("IN_IMG", shortened(input), comment: "Input image")
            header.set("DEPNAM00", "desispec-swift")
            header.set("DEPVER00", DesispecVersion.string)
            header.addHistory("desispec-swift \(DesispecVersion.string) extract -i \(shortened(input)) -p \(shortened(psf))"
                              + (boxcar ? " --boxcar" : " --nsubbundles \(nsubbundles) --nwavestep \(nwavestep)"))
            let frame = result.frame(fibermap: fm, fiberOffset: fiberOffset, header: header)
            try ExtractionIO.writeFrame(frame, to: output)
            if let m = model, let img = result.model {
                try ExtractionIO.writeModel(img, ny: image.ny, nx: image.nx, header: header, to: m)
            }
            log.info("wrote \(output) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        }
    }

    /// The output grid: -w wmin,wmax,dw, else the PSF's range at 0.8 A (desispec.scripts.extract).
    func parseGrid(psf: any SpectralPSF) throws -> WaveGrid {
        guard let w = wavelength else {
            return WaveGrid(wmin: psf.wavemin, wmax: psf.wavemax, dw: 0.8)
        }
        let parts = w.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let d = parts[2], d > 0, b > a else {
            throw DESIError.invalidArgument("-w/--wavelength must be wmin,wmax,dw with wmin < wmax and dw > 0, got '\(w)'")
        }
        return WaveGrid(wmin: a, wmax: b, dw: d)
    }

    func readPrimaryHeader(_ path: String) throws -> FITSHeader {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: 0)
        return try f.readHeader()
    }

    /// Keeps header values short (desispec.io.shorten_filename keeps the end of long paths).
    func shortened(_ path: String) -> String {
        path.count > 60 ? "..." + path.suffix(57) : path
    }
}

/// Reads a PSF file into a `SpectralPSF`. The PSF module's file readers (GAUSS-HERMITE PSFVER 2/3) plug in here;
/// until that module provides one, the command says so and writes nothing.
func loadSpectralPSF(path: String) throws -> any SpectralPSF {
    guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such PSF file") }
    throw DESIError.badFile(path: path, problem: "this build of desispec cannot read PSF files yet (no GaussHermitePSF reader in the PSF module)")
}
