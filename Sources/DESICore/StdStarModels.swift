import FITS
import Foundation

/// Normalised models of the standard stars of one spectrograph (desispec stdstars file): flux [nstar, nwave]
/// in 1e-17 erg/s/cm2/A on the template wavelength grid, fibers, fit metadata, template coefficients,
/// the stars' fibermap rows and the input frames.
public struct StdStarModels: Sendable {
    public var wave: [Double]
    public var flux: [Double]
    public var fibers: [Int]
    /// Metadata columns (TARGETID, FIBER, LOGG, TEFF, FEH, CHI2DOF, REDSHIFT, DATA_<color>, MODEL_<color>,
    /// BLUE_SNR, RED_SNR, NIR_SNR) as a table.
    public var metadata: FITSTable
    /// Template coefficients [nstar, ntemplate].
    public var coefficients: [Double]
    public var ntemplates: Int
    public var fibermap: Fibermap?
    /// NIGHT, EXPID, CAMERA of the input frames.
    public var inputFrames: FITSTable
    public var header: FITSHeader

    public init(wave: [Double], flux: [Double], fibers: [Int], metadata: FITSTable, coefficients: [Double], ntemplates: Int,
                fibermap: Fibermap?, inputFrames: FITSTable, header: FITSHeader = FITSHeader()) {
        self.wave = wave; self.flux = flux; self.fibers = fibers; self.metadata = metadata
        self.coefficients = coefficients; self.ntemplates = ntemplates; self.fibermap = fibermap
        self.inputFrames = inputFrames; self.header = header
    }

    public var count: Int { fibers.count }
    public func model(_ i: Int) -> [Double] { Array(flux[(i * wave.count)..<((i + 1) * wave.count)]) }

    /// Writes the file as desispec.io.write_stdstar_models (HDUs FLUX, WAVELENGTH, FIBERS, METADATA, COEFF,
    /// FIBERMAP, INPUT_FRAMES), atomically.
    public func write(_ path: String) throws {
        try FITSFile.writeAtomically(path) { f in
            var h = header
            h.set("BUNIT", "10**-17 erg/(s cm2 Angstrom)", comment: "Flux units")
            try f.writeImage(flux.map { Float($0) }, shape: [count, wave.count], name: "FLUX", header: h)
            var hw = FITSHeader(); hw.set("BUNIT", "Angstrom", comment: "Wavelength units")
            try f.writeImage(wave.map { Float($0) }, shape: [wave.count], name: "WAVELENGTH", header: hw)
            try f.writeImage(fibers.map { Int64($0) }, shape: [count], name: "FIBERS")
            try f.writeTable(metadata, name: "METADATA")
            try f.writeImage(coefficients, shape: [count, ntemplates], name: "COEFF")
            if let fm = fibermap { try f.writeTable(fm.table, name: "FIBERMAP") }
            try f.writeTable(inputFrames, name: "INPUT_FRAMES")
        }
    }

    /// Reads a stdstars file (ours or desispec's): FLUX [nstar, nwave], WAVELENGTH, FIBERS and METADATA (one per
    /// star), and COEFF [nstar, ntemplate], FIBERMAP (one row per star) and INPUT_FRAMES when present.
    public static func read(_ path: String) throws -> StdStarModels {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try ProductFileChecks.uniqueHDUNames(f, path: path)
        try ProductFileChecks.requireHDUs(["FLUX", "WAVELENGTH", "FIBERS", "METADATA"], in: f, path: path, product: "stdstars")
        let fl = try f.readImage("FLUX", as: Double.self)
        guard fl.shape.count == 2 else {
            throw DESIError.badFile(path: path, problem: "FLUX HDU has shape \(fl.shape), expected [nstar, nwave]")
        }
        let nstar = fl.shape[0]
        let wave = try f.readImage("WAVELENGTH", as: Double.self).data
        try ProductFileChecks.wavelengths(wave, count: fl.shape[1], as: "FLUX", path: path)
        let fibers = try f.readImage("FIBERS", as: Int64.self).data.map { Int($0) }
        try ProductFileChecks.count(fibers.count, of: "FIBERS", is: nstar, what: "one per row of FLUX", path: path)
        let meta = try f.readTable("METADATA")
        try ProductFileChecks.rows(meta, of: "METADATA", is: nstar, what: "one per row of FLUX", path: path)
        var coef: [Double] = [], nt = 0
        if f.hasHDU("COEFF") {
            let c = try f.readImage("COEFF", as: Double.self)
            nt = c.shape.last ?? 0
            try ProductFileChecks.shape(c.shape, of: "COEFF", is: [nstar, nt], as: "FLUX (one row per star)", path: path)
            coef = c.data
        }
        var fm: Fibermap?
        if f.hasHDU("FIBERMAP") {
            fm = try ProductFileChecks.fibermap(try f.readTable("FIBERMAP"), rows: nstar, what: "one per row of FLUX", path: path)
        }
        let inp = f.hasHDU("INPUT_FRAMES") ? try f.readTable("INPUT_FRAMES") : FITSTable()
        return StdStarModels(wave: wave, flux: fl.data, fibers: fibers, metadata: meta, coefficients: coef, ntemplates: nt,
                             fibermap: fm, inputFrames: inp, header: fl.header)
    }
}
