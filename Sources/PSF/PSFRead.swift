import DESICore
import FITS
import Foundation

/// Reads any PSF file desispec uses: GAUSS-HERMITE (PSFVER 3: XTRACE, YTRACE, PSF table; PSFVER < 3: one
/// table with X and Y among the parameters), GAUSS-HERMITE2, or a trace-only file (XTRACE/XCOEF(F),
/// YTRACE/YCOEF(F), optional XSIG/YSIG/XSIGMA/WSIGMA, or PSFTYPE bootcalib) (specter.psf.load_psf,
/// desispec.io.xytraceset.read_xytraceset).
public func readPSF(_ path: String) throws -> any SpectralPSF {
    try isGaussHermitePSF(path) ? GaussHermitePSF.read(path) : TraceOnlyPSF.read(path)
}

/// Whether the PSF file at `path` is GAUSS-HERMITE or GAUSS-HERMITE2 (PSFTYPE of its primary header); else it is read
/// as a trace-only PSF.
func isGaussHermitePSF(_ path: String) throws -> Bool {
    guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such PSF file") }
    let f = try FITSFile.open(path)
    defer { try? f.close() }
    let type = (try f.readHeader().string("PSFTYPE") ?? "").trimmingCharacters(in: .whitespaces)
    return type == "GAUSS-HERMITE" || type == "GAUSS-HERMITE2"
}

/// A header value that may be written as a number or as a string ('3').
func headerNumber(_ h: FITSHeader, _ key: String) -> Double? {
    if let d = h.double(key) { return d }
    if let s = h.string(key) { return Double(s.trimmingCharacters(in: .whitespaces)) }
    return nil
}

/// An integer keyword of a PSF file that sizes arrays (a degree, a half size, a CCD size, a fiber number): a finite
/// whole number in `range`, else the file is damaged (never a trap on NaN, infinity or an absurd value).
func headerCount(_ value: Double?, _ key: String, in range: ClosedRange<Int>, hdu: String, path: String) throws -> Int {
    guard let value else { throw DESIError.badFile(path: path, problem: "HDU \(hdu) lacks \(key)") }
    guard let n = Int(exactly: value), range.contains(n) else {
        throw DESIError.badFile(path: path, problem: "HDU \(hdu): \(key) = \(value) is not a whole number in \(range)")
    }
    return n
}

/// Largest CCD side, fiber number and Gauss-Hermite degree a PSF file may declare (DESI: 4128 rows, 5000 fibers,
/// degrees up to 8): far above any real file, low enough that the arrays they size fit in memory.
enum PSFLimits {
    static let ccdSide = 100_000
    static let fiber = 100_000
    static let ghDegree = 50
    static let halfSize = 1000
}

/// A domain WAVEMIN..WAVEMAX of a trace set: finite and not empty.
func checkDomain(_ lo: Double, _ hi: Double, what: String, path: String) throws {
    guard lo.isFinite, hi.isFinite, hi > lo else {
        throw DESIError.badFile(path: path, problem: "\(what): WAVEMIN..WAVEMAX = \(lo)..\(hi) is not a wavelength range")
    }
}

/// Headers without structural cards or EXTNAME.
func keptHeader(_ h: FITSHeader) -> FITSHeader {
    var out = FITSHeader(h.cards.filter { !FITSHeader.isStructural($0.key) })
    out.remove("EXTNAME")
    return out
}

/// The Legendre coefficient image of an HDU: [ntrace, ncoef] with its WAVEMIN / WAVEMAX.
func readTraceImage(_ f: FITSFile, _ name: String, path: String) throws -> TraceSet {
    let img = try f.readImage(name, as: Double.self)
    guard let lo = img.header.double("WAVEMIN"), let hi = img.header.double("WAVEMAX") else {
        throw DESIError.badFile(path: path, problem: "HDU \(name) has no WAVEMIN/WAVEMAX keywords")
    }
    let (nt, nc) = img.shape.count == 2 ? (img.shape[0], img.shape[1]) : (img.shape.count == 1 ? (img.shape[0], 1) : (0, 0))
    guard nt > 0, nc > 0 else {
        throw DESIError.badFile(path: path, problem: "HDU \(name) of shape \(img.shape) is not a coefficient image")
    }
    try checkDomain(lo, hi, what: "HDU \(name)", path: path)
    return TraceSet(coefficients: img.data, ntrace: nt, ncoef: nc, domainMin: lo, domainMax: hi)
}

extension GaussHermitePSF {
    /// Reads a GAUSS-HERMITE (PSFVER 1-3) or GAUSS-HERMITE2 PSF file.
    public static func read(_ path: String) throws -> GaussHermitePSF {
        let c = try readContents(path)
        do {
            return try GaussHermitePSF(xTrace: c.xTrace, yTrace: c.yTrace, parameters: c.parameters, ghDegX: c.ghDegX,
                                       ghDegY: c.ghDegY, halfSizeX: c.halfSizeX, halfSizeY: c.halfSizeY, npixX: c.npixX,
                                       npixY: c.npixY, fiberMin: c.fiberMin, psfType: c.psfType, psfError: c.psfError,
                                       headers: c.headers, secondCoreDegrees: c.secondCoreDegrees)
        } catch let e as DESIError {
            throw DESIError.badFile(path: path, problem: e.description)
        }
    }

    /// What a GAUSS-HERMITE file holds, read and checked, before the PSF is built from it (`read`; `PSFTraces.read`
    /// takes only the traces).
    struct FileContents {
        var xTrace: TraceSet, yTrace: TraceSet
        /// The parameters other than X and Y, in file order.
        var parameters: [PSFParameter]
        var ghDegX: Int, ghDegY: Int, halfSizeX: Int, halfSizeY: Int, npixX: Int, npixY: Int, fiberMin: Int
        var psfType: String, psfError: Double, headers: PSFHeaders, secondCoreDegrees: (Int, Int)?
    }

    static func readContents(_ path: String) throws -> FileContents {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: 0)
        let primary = try f.readHeader()
        guard let type = primary.string("PSFTYPE")?.trimmingCharacters(in: .whitespaces),
              type == "GAUSS-HERMITE" || type == "GAUSS-HERMITE2" else {
            throw DESIError.badFile(path: path, problem: "PSFTYPE is \(primary.string("PSFTYPE") ?? "missing"), not GAUSS-HERMITE")
        }
        let version = headerNumber(primary, "PSFVER") ?? (type == "GAUSS-HERMITE2" ? 2 : 0)
        guard version >= 1 else { throw DESIError.badFile(path: path, problem: "PSFVER missing or < 1: this PSF version is not supported") }
        let newLayout = version >= 3 && f.hasHDU("PSF") && f.hasHDU("XTRACE") && f.hasHDU("YTRACE")
        let table: FITSTable
        if f.hasHDU("PSF") { table = try f.readTable("PSF") }
        else { try f.moveTo(index: 1); table = try f.readTable() }
        let th = table.header
        func key(_ k: String, _ range: ClosedRange<Int> = 0...PSFLimits.ccdSide) throws -> Int {
            try headerCount(headerNumber(th, k), k, in: range, hdu: "PSF", path: path)
        }
        guard let names = table["PARAM"]?.data, case .string(let params) = names,
              let coeffCol = table["COEFF"], let coeffs = coeffCol.data.doubles else {
            throw DESIError.badFile(path: path, problem: "PSF table lacks PARAM or COEFF columns")
        }
        let nrow = params.count
        let perRow = coeffCol.valuesPerRow
        let fiberMin = try key("FIBERMIN", 0...PSFLimits.fiber), fiberMax = try key("FIBERMAX", 0...PSFLimits.fiber)
        let nspec = fiberMax - fiberMin + 1
        let cell = coeffCol.cellShape
        let ncoef = cell.count == 2 ? cell[1] : perRow / max(nspec, 1)
        guard nspec > 0, ncoef > 0, nspec.multipliedReportingOverflow(by: ncoef) == (perRow, false) else {
            throw DESIError.badFile(path: path, problem: "COEFF cells of \(perRow) values (shape \(cell)) do not fit \(nspec) fibers")
        }
        let rowMin = table["WAVEMIN"]?.data.doubles, rowMax = table["WAVEMAX"]?.data.doubles
        let legX = table["LEGDEGX"]?.data.ints, legW = table["LEGDEGW"]?.data.ints
        for (name, column) in [("WAVEMIN", rowMin?.count), ("WAVEMAX", rowMax?.count), ("LEGDEGX", legX?.count),
                               ("LEGDEGW", legW?.count)] where column != nil && column != nrow {
            throw DESIError.badFile(path: path, problem: "PSF table column \(name) has \(column ?? 0) values for \(nrow) parameters")
        }
        var all: [PSFParameter] = []
        for r in 0..<nrow {
            let lo: Double, hi: Double
            if let a = rowMin, let b = rowMax { lo = a[r]; hi = b[r] }
            else if let a = th.double("WAVEMIN"), let b = th.double("WAVEMAX") { lo = a; hi = b }
            else { throw DESIError.badFile(path: path, problem: "no WAVEMIN/WAVEMAX for PSF parameter \(params[r])") }
            try checkDomain(lo, hi, what: "PSF parameter \(params[r])", path: path)
            for (name, degree) in [("LEGDEGX", legX?[r]), ("LEGDEGW", legW?[r])] {
                guard let degree, !(0...PSFLimits.fiber).contains(degree) else { continue }
                throw DESIError.badFile(path: path, problem: "PSF parameter \(params[r]): \(name) = \(degree) is not a degree")
            }
            let ts = TraceSet(coefficients: Array(coeffs[(r * perRow)..<((r + 1) * perRow)]), ntrace: nspec, ncoef: ncoef,
                              domainMin: lo, domainMax: hi)
            all.append(PSFParameter(name: params[r].trimmingCharacters(in: .whitespaces), traces: ts,
                                    legDegX: legX?[r] ?? 0, legDegW: legW?[r] ?? (ncoef - 1)))
        }
        var xTrace: TraceSet, yTrace: TraceSet
        var headers = PSFHeaders(table: keptHeader(th))
        if newLayout {
            xTrace = try readTraceImage(f, "XTRACE", path: path)
            headers.primary = keptHeader(try f.readHeader())
            yTrace = try readTraceImage(f, "YTRACE", path: path)
            headers.ytrace = keptHeader(try f.readHeader())
        } else {
            guard let xp = all.first(where: { $0.name == "X" }), let yp = all.first(where: { $0.name == "Y" }) else {
                throw DESIError.badFile(path: path, problem: "PSFVER \(version) table has no X and Y parameters")
            }
            xTrace = xp.traces; yTrace = yp.traces
            headers.primary = keptHeader(primary)
        }
        guard xTrace.ntrace == nspec, yTrace.ntrace == nspec else {
            let problem = "traces have \(xTrace.ntrace)/\(yTrace.ntrace) fibers, FIBERMIN..FIBERMAX \(nspec)"
            throw DESIError.badFile(path: path, problem: problem)
        }
        let rest = all.filter { $0.name != "X" && $0.name != "Y" }
        var second: (Int, Int)? = nil
        if headerNumber(th, "GHDEGX2") != nil, headerNumber(th, "GHDEGY2") != nil, rest.contains(where: { $0.name == "GH2-0-0" }) {
            second = (try key("GHDEGX2", 0...PSFLimits.ghDegree), try key("GHDEGY2", 0...PSFLimits.ghDegree))
        }
        let psfErr = th.double("PSFERR") ?? 0.01
        return FileContents(xTrace: xTrace, yTrace: yTrace, parameters: rest, ghDegX: try key("GHDEGX", 0...PSFLimits.ghDegree),
                            ghDegY: try key("GHDEGY", 0...PSFLimits.ghDegree), halfSizeX: try key("HSIZEX", 0...PSFLimits.halfSize),
                            halfSizeY: try key("HSIZEY", 0...PSFLimits.halfSize), npixX: try key("NPIX_X", 1...PSFLimits.ccdSide),
                            npixY: try key("NPIX_Y", 1...PSFLimits.ccdSide), fiberMin: fiberMin, psfType: type, psfError: psfErr,
                            headers: headers, secondCoreDegrees: second)
    }
}

/// The traces of a PSF file without the rest of the PSF: x and y of each fiber and, where the file has it, the
/// cross-dispersion sigma (GHSIGX; XSIG of a trace-only file). Building a whole PSF also inverts its y traces into
/// wavelength(y) (`TraceSet.inverted`: a Legendre fit per fiber, 2 % of a --model-variance preprocessing), which
/// readers of the traces alone do not need.
public struct PSFTraces: Sendable {
    public let x: TraceSet, y: TraceSet
    public let xsigma: TraceSet?

    public static func read(_ path: String) throws -> PSFTraces {
        if try isGaussHermitePSF(path) {
            let c = try GaussHermitePSF.readContents(path)
            guard let sigma = c.parameters.first(where: { $0.name == "GHSIGX" }), sigma.traces.ntrace == c.xTrace.ntrace else {
                throw DESIError.badFile(path: path, problem: "PSF parameter GHSIGX is missing or not of \(c.xTrace.ntrace) fibers")
            }
            return PSFTraces(x: c.xTrace, y: c.yTrace, xsigma: sigma.traces)
        }
        let t = try TraceOnlyPSF.read(path)
        return PSFTraces(x: t.xTrace, y: t.yTrace, xsigma: t.xSigma)
    }
}
