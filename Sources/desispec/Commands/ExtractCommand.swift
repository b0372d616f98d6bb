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
    var nsubbundles = 5
    @Option(name: .long, help: "Wavelength steps per divide-and-conquer patch.")
    var nwavestep = 50
    @Option(name: .long, help: "Fractional PSF model error used in chi2pix (default: the PSF file's PSFERR, else 0.01).")
    var psferr: Double?
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
            // Inputs: all read and checked against each other before any work (nothing is written on error):
            // the PSF and the requested fibers and wavelengths first, then the image.
            let spectralPSF = try loadSpectralPSF(path: psf)
            let psfCamera = try readCamera(psf)
            let n = nspec ?? (spectralPSF.nspec - specmin)
            guard specmin >= 0, n > 0, specmin + n <= spectralPSF.nspec else {
                throw DESIError.invalidArgument("spectra \(specmin)..<\(specmin + n) are outside the \(spectralPSF.nspec) fibers of PSF \(psf)")
            }
            let fibers = specmin..<(specmin + n)
            let grid = try parseGrid(psf: spectralPSF)
            let wfirst = grid.wavelength(0), wlast = grid.wavelength(grid.count - 1)
            let tol = 1e-6 * max(1, abs(wlast))
            guard wfirst >= spectralPSF.wavemin - tol && wlast <= spectralPSF.wavemax + tol else {
                let asked = String(format: "%.2f-%.2f", wfirst, wlast)
                let covered = String(format: "%.2f-%.2f", spectralPSF.wavemin, spectralPSF.wavemax)
                throw DESIError.mismatch("wavelengths \(asked) A are not covered by PSF \(psf) (\(covered) A)")
            }
            let image = try Image.read(input)
            let camera = image.camera
            if let c = camera, let pc = psfCamera, pc != c {
                throw DESIError.mismatch("image \(input) is camera \(c) but PSF \(psf) is camera \(pc)")
            }
            guard image.ny == spectralPSF.npixY && image.nx == spectralPSF.npixX else {
                throw DESIError.mismatch("image \(input) is \(image.ny)x\(image.nx) pixels but PSF \(psf) describes a "
                                         + "\(spectralPSF.npixY)x\(spectralPSF.npixX) CCD")
            }
            let fiberOffset = camera?.fiberMin ?? 0
            let fm = try fibermapRows(fibers: fibers, fiberOffset: fiberOffset, camera: camera)
            let tRead = Date()

            log.info("extracting \(n) spectra \(specmin)..<\(specmin + n) of \(input) on \(grid.count) wavelengths \(grid.wavelength(0))-\(grid.wavelength(grid.count - 1)) A (\(boxcar ? "boxcar" : "spectroperfectionism"))")
            let result: ExtractionResult
            if boxcar {
                result = try boxcarExtract(image: image, psf: spectralPSF, fibers: fibers, grid: grid, width: width, threads: ncpu)
            } else {
                let error = psferr ?? (spectralPSF as? GaussHermitePSF)?.psfError ?? 0.01
                let options = ExtractionOptions(bundleSize: bundlesize, nSubBundles: nsubbundles, waveStep: nwavestep,
                                                regularize: regularize, decorrelateFibers: decorrelateFibers, psfError: error,
                                                pixPadFraction: pixpadFrac, wavePadFraction: wavepadFrac, threads: ncpu,
                                                computeModel: model != nil)
                result = try extractSpectra(image: image, psf: spectralPSF, fibers: fibers, grid: grid, options: options)
            }
            let tExtract = Date()

            var header = FITSHeader()
            let structural: Set<String> = ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND", "EXTNAME",
                                           "BZERO", "BSCALE", "PCOUNT", "GCOUNT", "XTENSION", "CHECKSUM", "DATASUM", "BUNIT"]
            for card in image.header.cards where !structural.contains(card.key) && !card.key.hasPrefix("Z") && !card.isCommentary {
                header.append(card)
            }
            header.set("IN_PSF", DESIProvenance.shortenFilename(psf), comment: "Input spectral PSF")
            header.set("IN_IMG", DESIProvenance.shortenFilename(input), comment: "Input image")
            header.addProvenance(command: "extract", inputs: [input, psf],
                                 options: boxcar ? ["--boxcar"] : ["--nsubbundles", "\(nsubbundles)", "--nwavestep", "\(nwavestep)"])
            let frame = result.frame(fibermap: fm, fiberOffset: fiberOffset, header: header)
            try frame.write(to: output)
            if let m = model, let img = result.model {
                try ExtractionIO.writeModel(img, ny: image.ny, nx: image.nx, header: header, to: m)
            }
            let now = Date()
            let times = String(format: "%.1f s (read %.1f s, extract %.1f s, write %.1f s)", now.timeIntervalSince(start),
                               tRead.timeIntervalSince(start), tExtract.timeIntervalSince(tRead), now.timeIntervalSince(tExtract))
            log.info("wrote \(output) in \(times)")
        }
    }

    /// The fibermap rows of the extracted fibers: from -f, else the input's FIBERMAP HDU if it has one.
    func fibermapRows(fibers: Range<Int>, fiberOffset: Int, camera: Camera?) throws -> Fibermap? {
        let path: String
        if let f = fibermap {
            path = f
        } else if (try? FITSFile.open(input).hasHDU("FIBERMAP")) == true {
            path = input
        } else {
            return nil
        }
        let all = try Fibermap.read(path)
        let wanted = Set(fibers.map { fiberOffset + $0 })
        let rows = all.fibers.enumerated().filter { wanted.contains($0.element) }.map(\.offset)
        guard rows.count == fibers.count else {
            let sp = camera.map { "spectrograph \($0.spectrograph)" } ?? "this camera"
            throw DESIError.mismatch("fibermap \(path) has \(rows.count) of the \(fibers.count) fibers "
                                     + "\(fiberOffset + fibers.lowerBound)..<\(fiberOffset + fibers.upperBound) of \(sp)")
        }
        return all.selecting(rows: rows.sorted { all.fibers[$0] < all.fibers[$1] })
    }

    /// The CAMERA keyword of the first HDU of a file that has one (a PSF keeps it in its PSF HDU), nil if none.
    func readCamera(_ path: String) throws -> Camera? {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        for i in 0..<f.hduCount {
            try f.moveTo(index: i)
            if let raw = try f.readHeader().string("CAMERA") {
                let text = raw.trimmingCharacters(in: CharacterSet(charactersIn: "' ").union(.whitespaces))
                guard let c = Camera(text) else { throw DESIError.badFile(path: path, problem: "CAMERA '\(raw)' is not a camera name") }
                return c
            }
        }
        return nil
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
}

/// Reads a PSF file (GAUSS-HERMITE PSFVER 2 or 3, or a trace-only set) into a `SpectralPSF`.
func loadSpectralPSF(path: String) throws -> any SpectralPSF {
    guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such PSF file") }
    return try readPSF(path)
}
