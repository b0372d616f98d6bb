import DESICore
import FITS
import Foundation
import PSF

/// The files and settings of one extraction from files to a frame (desispec.scripts.extract.main's arguments).
public struct FrameExtractionRequest: Sendable {
    /// Preproc image.
    public var imagePath: String
    /// PSF file (GAUSS-HERMITE or trace-only).
    public var psfPath: String
    /// Output frame file.
    public var outputPath: String
    /// Fibermap file; nil: the FIBERMAP HDU of the image, if it has one.
    public var fibermapPath: String?
    /// Output 2D pixel model file (spectroperfectionism only).
    public var modelPath: String?
    /// "wmin,wmax,dw" in Angstrom; nil: desispec's default grid (`ExtractionWavelengths.defaultGrid`).
    public var wavelengthSpec: String?
    /// First spectrum (PSF index) to extract.
    public var specmin: Int
    /// Number of spectra; nil: all from `specmin`.
    public var nspec: Int?
    /// Boxcar extraction of this width in pixels instead of spectroperfectionism.
    public var boxcarWidth: Int?
    /// Spectroperfectionism settings (their `threads` also serve the boxcar extraction). `psfError` and
    /// `computeModel` are set here from `psfError` and `modelPath`.
    public var options: ExtractionOptions
    /// Fractional PSF model error for chi2pix; nil: the PSF file's PSFERR, else 0.01.
    public var psfError: Double?
    /// Output wavelengths in the barycentric frame (desispec's --barycentric-correction): the spectra are
    /// extracted at the output wavelengths divided by the factor 1 + v/c of the exposure's pointing and
    /// mid-time, and the factor is written as HELIOCOR.
    public var barycentricCorrection: Bool
    /// Add the frame's SCORES (suffix RAW) as desispec's extraction does (compute_and_append_frame_scores);
    /// false: desispec's --no-scores.
    public var computeScores: Bool

    public init(imagePath: String, psfPath: String, outputPath: String, fibermapPath: String? = nil,
                modelPath: String? = nil, wavelengthSpec: String? = nil, specmin: Int = 0, nspec: Int? = nil,
                boxcarWidth: Int? = nil, options: ExtractionOptions = ExtractionOptions(), psfError: Double? = nil,
                barycentricCorrection: Bool = false, computeScores: Bool = true) {
        self.imagePath = imagePath; self.psfPath = psfPath; self.outputPath = outputPath
        self.fibermapPath = fibermapPath; self.modelPath = modelPath; self.wavelengthSpec = wavelengthSpec
        self.specmin = specmin; self.nspec = nspec; self.boxcarWidth = boxcarWidth
        self.options = options; self.psfError = psfError; self.barycentricCorrection = barycentricCorrection
        self.computeScores = computeScores
    }
}

/// Wall-clock seconds of the steps of `extractFrame`.
public struct FrameExtractionTimes: Sendable {
    public var read: Double
    public var extract: Double
    public var write: Double
    public var total: Double { read + extract + write }

    /// "T s (read R s, extract E s, write W s)".
    public var summary: String {
        String(format: "%.1f s (read %.1f s, extract %.1f s, write %.1f s)", total, read, extract, write)
    }
}

/// Extracts the spectra of a preproc image with a PSF file and writes the frame (and the 2D model when asked),
/// as desi_extract_spectra does (desispec.scripts.extract.main). Every input is read and checked against the
/// others before any work, so nothing is written on error: the PSF and the requested fibers and wavelengths
/// first, then the image (camera, size) and the fibermap rows. The frame header is the image's, without its
/// structural, compression and unit keywords, plus IN_PSF, IN_IMG and the provenance. With the barycentric
/// correction the requested grid is checked against the PSF and written out, the grid divided by the factor is
/// extracted (it moves by under 1 A, within desispec's 5 A allowance), and HELIOCOR is set as desispec does
/// (when the factor is not 1). The frame gets its RAW SCORES (unless `computeScores` is false) as desispec's
/// extraction adds them. `log` receives progress.
public func extractFrame(_ request: FrameExtractionRequest, log: (String) -> Void) throws -> FrameExtractionTimes {
    let start = Date()
    let psfPath = request.psfPath, imagePath = request.imagePath
    guard FileManager.default.fileExists(atPath: psfPath) else {
        throw DESIError.badFile(path: psfPath, problem: "no such PSF file")
    }
    if let e = request.psfError, !(e.isFinite && e >= 0) {
        throw DESIError.invalidArgument("--psferr \(e): the fractional PSF model error must be a number >= 0")
    }
    let psf = try readPSF(psfPath)
    let psfCamera = try firstCamera(in: psfPath)
    let n = request.nspec ?? (psf.nspec - request.specmin)
    try ExtractionInputCheck.fibers(first: request.specmin, count: n, psf: psf, psfName: psfPath)
    let fibers = request.specmin..<(request.specmin + n)
    let grid = try ExtractionWavelengths.requestedGrid(request.wavelengthSpec, psf: psf)
    try ExtractionInputCheck.wavelengths(grid, psf: psf, psfName: psfPath)
    let image = try Image.read(imagePath, readNoise: false)   // extraction never uses it
    let camera = image.camera
    if let c = camera, let pc = psfCamera, pc != c {
        throw DESIError.mismatch("image \(imagePath) is camera \(c) but PSF \(psfPath) is camera \(pc)")
    }
    try ExtractionInputCheck.imageSize(image, psf: psf, imageName: imagePath, psfName: psfPath)
    let fiberOffset = camera?.fiberMin ?? 0
    let fibermap = try fibermapRows(request, fibers: fibers, fiberOffset: fiberOffset, camera: camera)
    let heliocor = !request.barycentricCorrection ? 1 : try ExtractionWavelengths.barycentricFactor(
        image: image, imagePath: imagePath, fibermapPath: request.fibermapPath)
    let observed = ExtractionWavelengths.observedGrid(grid, barycentricFactor: heliocor)
    let tRead = Date()

    let method = request.boxcarWidth == nil ? "spectroperfectionism" : "boxcar"
    log("extracting \(n) spectra \(fibers.lowerBound)..<\(fibers.upperBound) of \(imagePath) on \(grid.count) wavelengths "
        + "\(grid.wavelength(0))-\(grid.wavelength(grid.count - 1)) A (\(method))")
    if heliocor != 1 { log("barycentric correction factor \(heliocor)") }
    var result: ExtractionResult
    if let width = request.boxcarWidth {
        result = try boxcarExtract(image: image, psf: psf, fibers: fibers, grid: observed, width: width,
                                   threads: request.options.threads)
    } else {
        var options = request.options
        options.psfError = request.psfError ?? (psf as? GaussHermitePSF)?.psfError ?? 0.01
        options.computeModel = request.modelPath != nil
        result = try extractSpectra(image: image, psf: psf, fibers: fibers, grid: observed, options: options)
    }
    result.grid = grid
    let tExtract = Date()

    var header = frameHeader(request, image: image)
    if heliocor != 1 { header.set("HELIOCOR", heliocor) }
    var frame = result.frame(fibermap: fibermap, fiberOffset: fiberOffset, header: header)
    // The quality grade of each spectrum from what the extraction knows (QUALITY_GRADE / QUALITY_REASONS).
    frame.addQuality(QualityGrading.extraction(frame))
    if request.computeScores && !frame.appendScores(suffix: "RAW") {
        log("no SCORES: the wavelengths miss the \(FrameScores.band(of: grid.wavelengths)) camera's scores window")
    }
    try frame.write(to: request.outputPath)
    if let path = request.modelPath, let model = result.model {
        try ExtractionIO.writeModel(model, ny: image.ny, nx: image.nx, header: header, to: path)
    }
    return FrameExtractionTimes(read: tRead.timeIntervalSince(start), extract: tExtract.timeIntervalSince(tRead),
                                write: Date().timeIntervalSince(tExtract))
}

/// The image's header without the keywords cfitsio manages, EXTNAME, BUNIT, compression (Z...) and commentary
/// cards, plus the inputs and the provenance of the extraction.
private func frameHeader(_ request: FrameExtractionRequest, image: Image) -> FITSHeader {
    var header = FITSHeader()
    for card in image.header.cards where !card.isCommentary && !FITSHeader.isStructural(card.key)
        && card.key != "EXTNAME" && card.key != "BUNIT" && !card.key.hasPrefix("Z") {
        header.append(card)
    }
    header.set("IN_PSF", DESIProvenance.shortenFilename(request.psfPath), comment: "Input spectral PSF")
    header.set("IN_IMG", DESIProvenance.shortenFilename(request.imagePath), comment: "Input image")
    var settings = request.boxcarWidth != nil ? ["--boxcar"]
        : ["--nsubbundles", "\(request.options.nSubBundles)", "--nwavestep", "\(request.options.waveStep)"]
    if request.boxcarWidth == nil {
        if let e = request.psfError { settings += ["--psferr", "\(e)"] }
        if case .threshold(let t) = request.options.bad2DFitRule { settings += ["--bad2dfit-threshold", "\(t)"] }
    }
    if request.barycentricCorrection { settings.append("--barycentric-correction") }
    if !request.computeScores { settings.append("--no-scores") }
    header.addProvenance(command: "extract", inputs: [request.imagePath, request.psfPath], options: settings)
    return header
}

/// The fibermap rows of the extracted fibers: from the request's fibermap file, else the image's FIBERMAP HDU
/// if it has one, else nil.
private func fibermapRows(_ request: FrameExtractionRequest, fibers: Range<Int>, fiberOffset: Int,
                          camera: Camera?) throws -> Fibermap? {
    let path: String
    if let f = request.fibermapPath {
        path = f
    } else if (try? FITSFile.open(request.imagePath).hasHDU("FIBERMAP")) == true {
        path = request.imagePath
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

/// The CAMERA keyword of the first HDU of a file that has a non-empty one (a PSF keeps it in its PSF HDU), nil if none.
private func firstCamera(in path: String) throws -> Camera? {
    let f = try FITSFile.open(path)
    defer { try? f.close() }
    for i in 0..<f.hduCount {
        try f.moveTo(index: i)
        if let raw = try f.readHeader().string("CAMERA") {
            let text = raw.trimmingCharacters(in: CharacterSet(charactersIn: "' ").union(.whitespaces))
            if text.isEmpty { continue }     // CAMERA = '' (older specex PSFs, e.g. PSFVER 2): as if absent
            guard let c = Camera(text) else {
                throw DESIError.badFile(path: path, problem: "CAMERA '\(raw)' is not a camera name")
            }
            return c
        }
    }
    return nil
}
