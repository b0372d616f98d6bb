import DESICore
import FITS
import Foundation

/// The files and settings of one trace-shift measurement from files (desi_compute_trace_shifts' arguments).
public struct TraceShiftRequest: Sendable {
    /// Preprocessed image.
    public var imagePath: String
    /// Input PSF (GAUSS-HERMITE to write shifted traces).
    public var psfPath: String
    /// Output PSF with the shifted traces.
    public var outputPath: String
    /// Output FITS table of the measured offsets (OFFSETS HDU), if wanted.
    public var offsetsPath: String?
    /// Two-column text spectrum (vacuum wavelength in A, flux) for the absolute wavelength calibration; when none is
    /// given, `shippedSpectrum`, and with `options.continuumSubtract` (--sky) and neither, the shipped sky lines.
    public var spectrumPath: String?
    /// A reference shipped with the project (`--arc-lamps`: .arcLamps), used when `spectrumPath` is nil.
    public var shippedSpectrum: ShippedReferenceSpectrum?
    /// Measure only the first N fibers (debugging).
    public var nfibers: Int?
    /// The measurement's settings; the reference spectrum is read from `spectrumPath`.
    public var options: TraceShiftOptions

    public init(imagePath: String, psfPath: String, outputPath: String, offsetsPath: String? = nil,
                spectrumPath: String? = nil, shippedSpectrum: ShippedReferenceSpectrum? = nil, nfibers: Int? = nil,
                options: TraceShiftOptions = TraceShiftOptions()) {
        self.imagePath = imagePath; self.psfPath = psfPath; self.outputPath = outputPath; self.offsetsPath = offsetsPath
        self.spectrumPath = spectrumPath; self.shippedSpectrum = shippedSpectrum; self.nfibers = nfibers
        self.options = options
    }

    /// The reference of the absolute calibration: the file given, else the shipped one asked for, else the sky lines
    /// under --sky (desi_compute_trace_shifts: --spectrum, --arc-lamps, --sky), else none.
    var reference: (path: String, description: String)? {
        get throws {
            if let p = spectrumPath { return (p, p) }
            guard let shipped = shippedSpectrum ?? (options.continuumSubtract ? .sky : nil) else { return nil }
            return (try shipped.path(), shipped.description)
        }
    }

    /// The HISTORY line of the outputs: the command line of the measurement's settings.
    var history: String {
        let o = options
        return DESIProvenance.line(command: "traceshift", arguments: ["-i", imagePath, "--psf", psfPath])
            + " --degxx \(o.degxx) --degxy \(o.degxy) --degyx \(o.degyx) --degyy \(o.degyy) --width \(o.width)"
            + (o.continuum ? " --continuum" : "") + (o.continuumSubtract ? " --sky" : "")
            + (o.largeShiftScan ? "" : " --no-large-shift-scan")
            + (shippedSpectrum == .arcLamps ? " --arc-lamps" : "") + (spectrumPath.map { " --spectrum \($0)" } ?? "")
    }
}

/// Measures the shifts of a PSF's traces on a preprocessed image (`computeTraceShifts`), from files, and writes
/// the PSF with the shifted traces (summary MEANDX, MINDX, MAXDX, MEANDY, MINDY, MAXDY, IN_PSF, IN_IMAGE in its
/// header) and, when asked, the table of the measured offsets, as desi_compute_trace_shifts does.
/// `info` receives the progress and the files written, `warning` what was not done.
public func shiftTracesFile(_ request: TraceShiftRequest, info: (String) -> Void,
                            warning: (String) -> Void = { _ in }) throws {
    try withFreedArraysKeptInHeap { try shiftTracesFileInHeap(request, info: info, warning: warning) }
}

private func shiftTracesFileInHeap(_ request: TraceShiftRequest, info: (String) -> Void, warning: (String) -> Void) throws {
    // the trace shifts never use the read noise, and use the mask only as ivar 0
    let image = try Image.read(request.imagePath, readNoise: false, maskIntoIvar: true)
    let psf = try readPSF(request.psfPath)
    let gaussHermite = psf as? GaussHermitePSF
    let (xt, yt): (TraceSet, TraceSet)
    if let g = gaussHermite {
        (xt, yt) = (g.xTrace, g.yTrace)
    } else if let t = psf as? TraceOnlyPSF {
        (xt, yt) = (t.xTrace, t.yTrace)
    } else {
        throw DESIError.badFile(path: request.psfPath, problem: "PSF type \(type(of: psf)) has no Legendre traces")
    }
    guard image.ny == psf.npixY else {
        throw DESIError.mismatch("\(request.imagePath) has \(image.ny) rows but \(request.psfPath) describes \(psf.npixY)")
    }
    var o = request.options
    o.arcLamps = request.spectrumPath == nil && request.shippedSpectrum == .arcLamps
    if let reference = try request.reference {
        (o.referenceWave, o.referenceFlux) = try readReferenceSpectrum(reference.path)
        info("absolute wavelength calibration against \(reference.description)")
    }
    let fibers = request.nfibers.map { Array(0..<min($0, xt.ntrace)) }
    info("measuring trace shifts of \(fibers?.count ?? xt.ntrace) fibers on \(request.imagePath)")
    let r = try computeTraceShifts(image: image, xTrace: xt, yTrace: yt, psf: psf, fibers: fibers, options: o)
    r.warnings.forEach(warning)
    if let s = r.largeShift {
        info("large shift scan: traces moved by dx = \(String(format: "%+.2f", s.dx))"
             + (s.dy.map { String(format: ", dy = %+.2f", $0) } ?? "") + " pixel (\(s.summary))")
    }
    info("MEANDX = \(String(format: "%+.3f", r.meanDx)) pixel, MEANDY = \(String(format: "%+.3f", r.meanDy)) pixel "
         + "(\(r.xPasses) x pass\(r.xPasses == 1 ? "" : "es"), \(r.yPasses) relative y pass\(r.yPasses == 1 ? "" : "es"))")
    guard let g = gaussHermite else {
        throw DESIError.badFile(path: request.psfPath,
                                problem: "writing shifted traces needs a GAUSS-HERMITE PSF (this one has traces only)")
    }
    let history = [request.history]
    try g.withTraces(x: r.xTrace, y: r.yTrace).write(to: request.outputPath, history: history,
                                                      extraKeys: r.headerCards(request), extraTables: r.offsetTables)
    info("wrote \(request.outputPath)")
    if let path = request.offsetsPath {
        var h = FITSHeader()
        for l in history { h.addHistory(l) }
        try FITSFile.writeAtomically(path) { f in
            try f.writeEmptyHDU(header: h)
            try f.writeTable(r.offsetsTable, name: "OFFSETS")
        }
        info("wrote \(r.offsets.count) offsets in \(path)")
    }
}

extension TraceShiftResult {
    /// The summary cards written in the shifted PSF's header.
    func headerCards(_ request: TraceShiftRequest) -> [FITSCard] {
        [FITSCard("MEANDX", .double(meanDx), comment: "mean x shift of the traces (pixel)"),
         FITSCard("MINDX", .double(minDx)), FITSCard("MAXDX", .double(maxDx)),
         FITSCard("MEANDY", .double(meanDy), comment: "mean y shift of the traces (pixel)"),
         FITSCard("MINDY", .double(minDy)), FITSCard("MAXDY", .double(maxDy)),
         FITSCard("IN_PSF", .string((request.psfPath as NSString).lastPathComponent)),
         FITSCard("IN_IMAGE", .string((request.imagePath as NSString).lastPathComponent))]
    }

    /// The wavelength offsets desispec's write_traces_in_psf appends to the shifted PSF: INTOFF (FIBER, WAVE, DWAVE,
    /// DWAVE_ERR: each fiber's offset from the median spectrum per wavelength bin, Angstrom, float32) when a
    /// relative-calibration pass moved the traces, EXTOFF (WAVE, DWAVE, DWAVE_ERR: the median spectrum's offset from
    /// the external spectrum) when the absolute calibration ran.
    var offsetTables: [(name: String, table: FITSTable)] {
        var tables: [(name: String, table: FITSTable)] = []
        if let o = internalOffsets {
            tables.append(("INTOFF", FITSTable(columns: [
                FITSColumn("FIBER", .int32(o.map { Int32($0.fiber) })),
                FITSColumn("WAVE", .float(o.map { Float($0.wavelength) })),
                FITSColumn("DWAVE", .float(o.map { Float($0.dwave) })),
                FITSColumn("DWAVE_ERR", .float(o.map { Float($0.dwaveError) })),
            ])))
        }
        if let o = externalOffsets {
            tables.append(("EXTOFF", FITSTable(columns: [
                FITSColumn("WAVE", .float(o.map { Float($0.wavelength) })),
                FITSColumn("DWAVE", .float(o.map { Float($0.dwave) })),
                FITSColumn("DWAVE_ERR", .float(o.map { Float($0.dwaveError) })),
            ])))
        }
        return tables
    }

    /// The measured offsets as a table: AXIS (0 x, 1 y), WAVELENGTH, FIBER, X, Y, DELTA, ERROR.
    public var offsetsTable: FITSTable {
        FITSTable(columns: [
            FITSColumn("AXIS", .int32(offsets.map { Int32($0.axis) })),
            FITSColumn("WAVELENGTH", .double(offsets.map(\.wavelength))),
            FITSColumn("FIBER", .int32(offsets.map { Int32($0.fiber) })),
            FITSColumn("X", .double(offsets.map(\.x))), FITSColumn("Y", .double(offsets.map(\.y))),
            FITSColumn("DELTA", .double(offsets.map(\.delta))), FITSColumn("ERROR", .double(offsets.map(\.error))),
        ])
    }
}
