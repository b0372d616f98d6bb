import ArgumentParser
import DESICore
import FITS
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
                   -o psf-r0-00000001.fits --degxx 2 --degxy 0 --degyx 2 --degyy 0 --spectrum sky.txt
        x shifts come from cross-dispersion profiles, y shifts from cross-correlations of boxcar spectra with their
        median (relative) and, with --spectrum, with an external spectrum (absolute). --continuum: x only (flats).
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
    @Flag(name: .long, help: "Sky exposure: subtract the continuum before the internal cross-correlation.") var sky = false
    @Option(name: .long, help: "ASCII spectrum (vacuum wavelength in A, flux) for the absolute wavelength calibration.")
    var spectrum: String?
    @Option(name: .long, help: "Limit to the first N fibers (debugging).") var nfibers: Int?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("traceshift")
        try runStep {
            let img = try Image.read(image)
            let inPSF = try readPSF(psf)
            let gh = inPSF as? GaussHermitePSF
            let (xt, yt): (TraceSet, TraceSet)
            if let g = gh { (xt, yt) = (g.xTrace, g.yTrace) }
            else if let t = inPSF as? TraceOnlyPSF { (xt, yt) = (t.xTrace, t.yTrace) }
            else { throw DESIError.badFile(path: psf, problem: "PSF type \(type(of: inPSF)) has no Legendre traces") }
            guard img.ny == inPSF.npixY else {
                throw DESIError.mismatch("\(image) has \(img.ny) rows but \(psf) describes \(inPSF.npixY)")
            }
            var o = TraceShiftOptions()
            o.degxx = degxx; o.degxy = degxy; o.degyx = degyx; o.degyy = degyy
            o.width = width; o.ccdRowsRebin = ccdRowsRebin; o.maxError = maxError
            o.continuum = continuum; o.continuumSubtract = sky
            if let s = spectrum { (o.referenceWave, o.referenceFlux) = try readASCIISpectrum(s) }
            let fibers = nfibers.map { Array(0..<min($0, xt.ntrace)) }
            log.info("measuring trace shifts of \(fibers?.count ?? xt.ntrace) fibers on \(image)")
            let r = try computeTraceShifts(image: img, xTrace: xt, yTrace: yt, psf: inPSF, fibers: fibers, options: o)
            log.info("MEANDX = \(String(format: "%+.3f", r.meanDx)) pixel, MEANDY = \(String(format: "%+.3f", r.meanDy)) pixel")
            let keys = [FITSCard("MEANDX", .double(r.meanDx), comment: "mean x shift of the traces (pixel)"),
                        FITSCard("MINDX", .double(r.minDx)), FITSCard("MAXDX", .double(r.maxDx)),
                        FITSCard("MEANDY", .double(r.meanDy), comment: "mean y shift of the traces (pixel)"),
                        FITSCard("MINDY", .double(r.minDy)), FITSCard("MAXDY", .double(r.maxDy)),
                        FITSCard("IN_PSF", .string((psf as NSString).lastPathComponent)),
                        FITSCard("IN_IMAGE", .string((image as NSString).lastPathComponent))]
            let history = ["desispec-swift \(DesispecVersion.string) traceshift -i \(image) --psf \(psf)" +
                           " --degxx \(degxx) --degxy \(degxy) --degyx \(degyx) --degyy \(degyy) --width \(width)" +
                           (continuum ? " --continuum" : "") + (sky ? " --sky" : "") + (spectrum.map { " --spectrum \($0)" } ?? "")]
            guard let g = gh else {
                throw DESIError.badFile(path: psf, problem: "writing shifted traces needs a GAUSS-HERMITE PSF (this one has traces only)")
            }
            try g.withTraces(x: r.xTrace, y: r.yTrace).write(to: outpsf, history: history, extraKeys: keys)
            log.info("wrote \(outpsf)")
            if let path = outoffsets {
                let off = r.offsets
                let t = FITSTable(columns: [
                    FITSColumn("AXIS", .int32(off.map { Int32($0.axis) })),
                    FITSColumn("WAVELENGTH", .double(off.map(\.wavelength))),
                    FITSColumn("FIBER", .int32(off.map { Int32($0.fiber) })),
                    FITSColumn("X", .double(off.map(\.x))), FITSColumn("Y", .double(off.map(\.y))),
                    FITSColumn("DELTA", .double(off.map(\.delta))), FITSColumn("ERROR", .double(off.map(\.error))),
                ])
                var h = FITSHeader(); for l in history { h.addHistory(l) }
                try FITSFile.writeAtomically(path) { f in
                    try f.writeEmptyHDU(header: h)
                    try f.writeTable(t, name: "OFFSETS")
                }
                log.info("wrote \(off.count) offsets in \(path)")
            }
        }
    }

    /// Two columns: wavelength (A), flux; '#' comments.
    private func readASCIISpectrum(_ path: String) throws -> ([Double], [Double]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DESIError.badFile(path: path, problem: "cannot read the reference spectrum")
        }
        var w = [Double](), f = [Double]()
        for line in text.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") { continue }
            let cols = t.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).compactMap { Double($0) }
            guard cols.count >= 2 else { throw DESIError.badFile(path: path, problem: "line '\(t)' is not 'wavelength flux'") }
            w.append(cols[0]); f.append(cols[1])
        }
        guard w.count > 10 else { throw DESIError.badFile(path: path, problem: "fewer than 10 (wavelength, flux) lines") }
        return (w, f)
    }
}
