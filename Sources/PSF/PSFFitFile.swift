import DESICore
import FITS
import Foundation

/// The files and settings of one PSF fit from files (desi_compute_psf's arguments).
public struct PSFFitRequest: Sendable {
    /// Preprocessed arc image.
    public var imagePath: String
    /// PSF to start from (GAUSS-HERMITE or a trace set, see StartingPSF).
    public var psfPath: String
    /// Output PSF file.
    public var outputPath: String
    /// Lamp line list: a shipped list's name or a file (FITS or text); nil: the shipped measured list
    /// (`ArcLamps.resolve`).
    public var linesPath: String?
    public var options: PSFFitOptions

    public init(imagePath: String, psfPath: String, outputPath: String, linesPath: String? = nil,
                options: PSFFitOptions = PSFFitOptions()) {
        self.imagePath = imagePath; self.psfPath = psfPath; self.outputPath = outputPath
        self.linesPath = linesPath; self.options = options
    }

    /// The HISTORY line of the output: the command line of the fit's settings.
    var history: String {
        let o = options
        return DESIProvenance.line(command: "psf", arguments: ["-i", imagePath, "--psf", psfPath, "-o", outputPath])
            + " --trace-degree \(o.traceDegree) --sigma-degree \(o.sigmaDegree) --iterations \(o.iterations)"
            + (o.traceFiberDegree.map { " --trace-fiber-degree \($0)" } ?? " --trace-per-fiber")
            + (o.sigmaFiberDegree.map { " --sigma-fiber-degree \($0)" } ?? " --sigma-per-fiber")
            + (o.fitSigma ? "" : " --only-trace-fit") + (linesPath.map { " --lines \($0)" } ?? "")
            + (o.coarseScan.map { " --scan-max-dx \($0.maxShiftX) --scan-max-dy \($0.maxShiftY)" } ?? " --no-coarse-scan")
            + (o.fitSigma && !o.fitShape ? " --no-shape-fit" : "") + (o.fitShape && o.fitTails ? " --fit-tails" : "")
            + (o.fitContinuum.map { $0 ? " --fit-continuum" : " --no-fit-continuum" } ?? "")
    }
}

/// Fits a camera's PSF (traces, core widths, Gauss-Hermite shape) on a preprocessed arc image (`fitPSF`), from files, and
/// writes the fitted PSF with the fit's summary in its header (MEANDX, MAXDX, MEANDY, MAXDY, SIGXRAT, SIGYRAT,
/// NLINES, NFIBFIT, IN_PSF, IN_IMAGE, LINELIST, CAMERA, EXPID, NIGHT, BnnRCHI2; after a shape fit PSFFIT and
/// BnnNDATA, BnnNPAR, BnnNSPOT, BnnNFIB), as desi_compute_psf writes
/// specex's. The image and the PSF are checked against each other (size, camera) before the fit.
/// `info` and `warning` receive the progress and the fibers left with too few lines.
public func fitPSFFile(_ request: PSFFitRequest, info: @escaping (String) -> Void,
                       warning: (String) -> Void) throws {
    let image = try Image.read(request.imagePath)
    let loaded = try StartingPSF.load(request.psfPath, image: image, imagePath: request.imagePath)
    let start = loaded.psf
    info("starting PSF \(request.psfPath): \(loaded.kind)")
    let (lampLines, source) = try ArcLamps.resolve(request.linesPath)
    info("\(lampLines.count) lamp lines from \(source); fitting \(start.nspec) fibers of \(request.imagePath)")
    let r: PSFFitResult
    do {
        r = try fitPSF(image: image, psf: start, lines: lampLines, options: request.options, log: info)
    } catch DESIError.failed(let problem) {
        // A fit that cannot be made on this image from this start (no line pattern, start too far off): name both.
        throw DESIError.badFile(path: request.imagePath, problem: "\(problem) (start: \(request.psfPath))")
    }
    let missing = r.linesPerFiber.enumerated().filter { $0.element < 2 }.map(\.offset)
    if !missing.isEmpty {
        warning("\(missing.count) fiber(s) with fewer than 2 usable lines (corrections from their bundle or neighbours): "
                + missing.prefix(20).map(String.init).joined(separator: ","))
    }
    let summary = String(format: "MEANDX = %+.3f MEANDY = %+.3f pixel, GHSIGX x %.4f GHSIGY x %.4f, median %d lines per fiber",
                         r.meanDx, r.meanDy, r.meanSigmaXRatio, r.meanSigmaYRatio, r.medianLinesPerFiber)
    info(summary)
    let status = r.fiberStatus, notFound = r.linesNotFound(lampLines)
    let flagged = status.enumerated().filter { $0.element != .fitted }
    if !flagged.isEmpty {
        warning("\(flagged.count) fiber(s) flagged in STATUS (1: bundle's smooth solution, 2: nearest fibers'): "
                + flagged.prefix(20).map { "\($0.offset):\($0.element.rawValue)" }.joined(separator: ","))
    }
    if !notFound.isEmpty {
        // Faint lines and lines at the CCD's ends are never measured: information; a missing lamp shows here too.
        info("\(notFound.count) line(s) of the list in the PSF's range found in no fiber: "
                + notFound.prefix(12).map { String(format: "%.2f", $0) }.joined(separator: ",") + (notFound.count > 12 ? ",..." : ""))
    }
    let keys = r.headerCards(request, lineList: source, image: image, startCamera: start.camera)
        + [FITSCard("NFIBFLAG", .int(flagged.count), comment: "fibers with STATUS != 0 (not fitted on their own lines)"),
           FITSCard("LINEMISS", .int(notFound.count), comment: "lines of LINELIST in range found in no fiber")]
    try r.psf.withoutInputFitFigures().withFiberStatus(status).write(to: request.outputPath, history: [request.history],
                                                                      extraKeys: keys)
}

extension GaussHermitePSF {
    /// The PSF with its input's own fit figures of merit removed from its headers (BnnRCHI2, BnnNDATA, BnnNPAR,
    /// BnnNSPOT, BnnNFIB, PSFFIT, CONTFIT: a specex input's 20 bundles would otherwise stay beside this fit's).
    func withoutInputFitFigures() -> GaussHermitePSF {
        let isFigure = { (key: String) -> Bool in
            if key == "PSFFIT" || key == "CONTFIT" { return true }
            let c = Array(key)
            guard c.count > 3, c[0] == "B", c[1].isNumber, c[2].isNumber else { return false }
            return ["RCHI2", "NDATA", "NPAR", "NSPOT", "NFIB"].contains(String(c[3...]))
        }
        var out = self
        for k in out.headers.primary.cards.map(\.key) where isFigure(k) { out.headers.primary.remove(k) }
        for k in out.headers.table.cards.map(\.key) where isFigure(k) { out.headers.table.remove(k) }
        return out
    }
}

extension PSFFitResult {
    /// The median number of arc lines fitted per fiber (the upper median), 0 without fibers.
    var medianLinesPerFiber: Int {
        let sorted = linesPerFiber.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    /// The summary cards of the fit written in the output PSF's header (CAMERA: the image's, else the starting PSF's).
    func headerCards(_ request: PSFFitRequest, lineList: String, image: Image, startCamera: String?) -> [FITSCard] {
        var keys = [FITSCard("MEANDX", .double(meanDx), comment: "mean x change of the traces from IN_PSF (pixel)"),
                    FITSCard("MAXDX", .double(maxAbsDx), comment: "max |x change| (pixel)"),
                    FITSCard("MEANDY", .double(meanDy), comment: "mean y change of the traces from IN_PSF (pixel)"),
                    FITSCard("MAXDY", .double(maxAbsDy), comment: "max |y change| (pixel)"),
                    FITSCard("SIGXRAT", .double(meanSigmaXRatio), comment: "mean GHSIGX / GHSIGX of IN_PSF"),
                    FITSCard("SIGYRAT", .double(meanSigmaYRatio), comment: "mean GHSIGY / GHSIGY of IN_PSF"),
                    FITSCard("NLINES", .int(medianLinesPerFiber), comment: "median number of arc lines fitted per fiber"),
                    FITSCard("NFIBFIT", .int(fiberFitted.filter { $0 }.count), comment: "fibers fitted (others interpolated)"),
                    FITSCard("IN_PSF", .string((request.psfPath as NSString).lastPathComponent)),
                    FITSCard("IN_IMAGE", .string((request.imagePath as NSString).lastPathComponent)),
                    FITSCard("LINELIST", .string((lineList as NSString).lastPathComponent))]
        if let cam = image.camera?.description ?? startCamera { keys.append(FITSCard("CAMERA", .string(cam))) }
        for k in ["EXPID", "NIGHT"] { if let v = image.header[k] { keys.append(FITSCard(k, v)) } }
        if !continuumBundles.isEmpty {
            keys.append(FITSCard("CONTFIT", .bool(true), comment: "arc continuum CONT fitted (specex --fit-continuum)"))
        }
        if shapeBundles.isEmpty {
            for (b, c) in bundleRChi2.enumerated() {
                keys.append(FITSCard(String(format: "B%02dRCHI2", b), .double(c), comment: "reduced chi2 of the line fits of bundle \(b)"))
            }
        } else {
            keys += shapeFitCards
        }
        return keys
    }

    /// specex's per-bundle figures of merit of the shape fit (BnnRCHI2, BnnNDATA, BnnNPAR) with the lines and
    /// fibers that entered it (BnnNSPOT, BnnNFIB), bundles numbered as DESI's.
    var shapeFitCards: [FITSCard] {
        var keys = [FITSCard("PSFFIT", .string("FULL"), comment: "traces, GHSIGX/Y, GH-i-j fitted (desispec psf)")]
        for s in shapeBundles {
            let b = String(format: "B%02d", s.bundle)
            keys += [FITSCard(b + "RCHI2", .double(s.rchi2), comment: "best fit chi2/ndf for fiber bundle \(s.bundle)"),
                     FITSCard(b + "NDATA", .int(s.ndata), comment: "number of pixels in fit for fiber bundle \(s.bundle)"),
                     FITSCard(b + "NPAR", .int(s.npar), comment: "number of parameters in fit for fiber bundle \(s.bundle)"),
                     FITSCard(b + "NSPOT", .int(s.nspots), comment: "arc lines (spots) in the shape fit of bundle \(s.bundle)"),
                     FITSCard(b + "NFIB", .int(s.nfibers), comment: "fibers with lines in the shape fit of bundle \(s.bundle)")]
        }
        return keys
    }
}
