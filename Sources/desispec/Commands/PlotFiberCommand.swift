import ArgumentParser
import DESICore
import Foundation
import PSF
import QA

/// `desispec plot-fiber`: a fiber's verification page, one PNG per fiber: the fiber through every stage of one
/// exposure (preproc cut-out with model and residual, extracted electrons, fiber flat, sky, calibration, calibrated
/// spectrum with a model), with its grade.
struct PlotFiberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-fiber",
        abstract: "Verification page of fibers: one PNG per fiber through every stage of an exposure.",
        discussion: """
        By hand: give the frames (or cframes) of one exposure with --frame; the fiber flat, sky, flux calibration,
        PSF, preproc image and standard stars are found by their DESI names next to them, in ../../../calibnight/NIGHT
        and in ../../../preproc/NIGHT/EXPID. In a production: --night with --expid (repeatable; all exposures of the
        night when only TARGETIDs are asked for). Fibers by --fiber (FIBER numbers) or --targetid (one page per
        exposure where the target was observed). Pages: fiber-FIBER-EXPID.png in --outdir (default: the exposure's
        QA folder's fibers/ in a production, else the current folder).
        Example: desispec plot-fiber --prod-root PROD --night 20250101 --expid 3 --fiber 5 --fiber 12
        """
    )

    @Option(name: .long, help: "FIBER to draw (repeatable; comma lists allowed).")
    var fiber: [String] = []
    @Option(name: .long, help: "TARGETID to draw (repeatable).")
    var targetid: [Int64] = []
    @Option(name: .long, help: "A frame or cframe of the exposure, one per camera (by hand; repeatable).")
    var frame: [String] = []
    @Option(name: .customLong("prod-root"), help: "Production folder (default $DESI_SPECTRO_REDUX/$SPECPROD).")
    var prodRoot: String?
    @Option(name: .long, help: "Night (YYYYMMDD) in the production.")
    var night: String?
    @Option(name: .long, help: "Exposure ID in the production (repeatable).")
    var expid: [Int] = []
    @Option(name: .customLong("worth-a-look"),
            help: "Also the fibers worth a look (grade >= 2, else FIBERSTATUS != 0), at most N per exposure; writes fibers-EXPID.json.")
    var worthALook: Int?
    @Option(name: .long, help: "Redrock models in the spectra layout (rows matched by TARGETID), drawn with the calibrated spectrum.")
    var model: String?
    @Option(name: .shortAndLong, help: "Output folder of the pages.")
    var outdir: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("plot-fiber")
        try runStep {
            let fibers = try Self.fiberNumbers(fiber)
            guard !fibers.isEmpty || !targetid.isEmpty || worthALook != nil else {
                throw DESIError.invalidArgument("give --fiber, --targetid or --worth-a-look")
            }
            var prod: String?
            let exposures: [FiberPages.Exposure]
            if !frame.isEmpty {
                exposures = [try FiberPages.Exposure.byHand(frame)]
            } else {
                guard let night else { throw DESIError.invalidArgument("give --frame, or --night (with --expid) in a production") }
                let root = try productionRoot(prodRoot)
                prod = root
                let searchNight = expid.isEmpty && fibers.isEmpty && worthALook == nil
                let ids = searchNight ? try FiberPages.exposures(specprod: root, night: night) : expid
                guard !ids.isEmpty else { throw DESIError.invalidArgument("give --expid with --fiber or --worth-a-look") }
                let spectrographs = targetid.isEmpty && worthALook == nil ? Set(fibers.map { $0 / 500 }) : nil
                exposures = try ids.map {
                    try FiberPages.Exposure.inProduction(specprod: root, night: night, expid: $0, spectrographs: spectrographs)
                }
            }
            let pages = try FiberPages.run(exposures, fibers: fibers, targetIDs: targetid, worthLooking: worthALook, modelPath: model,
                                           traces: FiberTraceReader().traces) { e in
                outdir ?? prod.map { FileLayout.fiberPageDir(exposureQAFolder: FileLayout.qaExposureDir(specprod: $0, night: e.night,
                                                                                                       expid: e.expid)) } ?? "."
            }
            for p in pages { log.info("wrote \(p)") }
        }
    }

    /// FIBER numbers of the --fiber options (each a number or a comma list).
    static func fiberNumbers(_ items: [String]) throws -> [Int] {
        try items.flatMap { item in
            try item.split(separator: ",").map { s in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                    throw DESIError.invalidArgument("--fiber: '\(s)' is not a fiber number")
                }
                return v
            }
        }
    }
}

/// The traces of a PSF file's fibers, row by row (the PSF module's `TraceOnlyPSF`), each PSF file read once.
final class FiberTraceReader {
    private var cache: [String: TraceOnlyPSF] = [:]

    func traces(_ path: String, _ fibers: [Int]) throws -> [FiberTrace] {
        let psf = try cache[path] ?? TraceOnlyPSF.read(path)
        cache[path] = psf
        return fibers.map { f in
            let fi = min(max(f, 0), psf.nspec - 1)
            let y0 = psf.y(fiber: fi, wavelength: psf.wavemin), y1 = psf.y(fiber: fi, wavelength: psf.wavemax)
            let first = max(0, Int(min(y0, y1).rounded(.up))), last = min(psf.npixY - 1, Int(max(y0, y1).rounded(.down)))
            let rows = first <= last ? Array(first...last) : []
            let waves = rows.map { psf.wavelength(fiber: fi, y: Double($0)) }
            return FiberTrace(rows: rows, column: waves.map { psf.x(fiber: fi, wavelength: $0) }, wavelength: waves,
                              sigma: waves.map { psf.xsigma(fiber: fi, wavelength: $0) })
        }
    }
}
