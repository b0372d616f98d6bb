import DESICore
import FITS
import Foundation

/// One spectrum to plot: its bands (b, r, z of a spectra file, or the one band of a frame) and identifiers.
public struct SpectrumEntry: Sendable {
    public var label: String
    public var targetID: Int64?
    public var fiber: Int?
    public var bands: [(name: String, wave: [Double], flux: [Float], ivar: [Float])]

    public init(label: String, targetID: Int64?, fiber: Int?, bands: [(name: String, wave: [Double], flux: [Float], ivar: [Float])]) {
        self.label = label; self.targetID = targetID; self.fiber = fiber; self.bands = bands
    }

    /// Every spectrum of a spectra/coadd file (HDUs *_WAVELENGTH, read with `Spectra.read`) or of a per-camera
    /// frame (read with `SpectralFileReader`).
    public static func load(_ path: String) throws -> [SpectrumEntry] {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such file") }
        let names = try { () throws -> [String] in let f = try FITSFile.open(path); defer { try? f.close() }; return f.hduNames() }()
        let base = (path as NSString).lastPathComponent
        if names.contains(where: { $0.uppercased().hasSuffix("_WAVELENGTH") }) {
            let s = try Spectra.read(path)
            let tids = s.targetIDRows
            let fib = s.fibermap["FIBER"]?.data.ints
            return (0..<s.numSpectra).map { r in
                let bands = s.bands.map { b -> (String, [Double], [Float], [Float]) in
                    let d = s.data[b]!
                    let n = d.nwave
                    return (b, d.wave, Array(d.flux[(r * n)..<((r + 1) * n)]), Array(d.ivar[(r * n)..<((r + 1) * n)]))
                }
                let t = r < tids.count ? tids[r] : nil
                return SpectrumEntry(label: "\(base) TARGETID \(t.map(String.init) ?? "?")", targetID: t,
                                     fiber: fib.map { $0[r] }, bands: bands)
            }
        }
        let frame = try SpectralFileReader.read(path).product.perFiber
        let tids = frame.rowFibermap?.targetIDs ?? []
        let fibers = frame.fibers
        let band = frame.camera.map { $0.arm.rawValue } ?? "x"
        return (0..<frame.nspec).map { r in
            let row = frame.float32Row(r)
            let t = r < tids.count ? tids[r] : nil
            return SpectrumEntry(label: "\(base) fiber \(fibers[r])" + (t.map { " TARGETID \($0)" } ?? ""), targetID: t,
                                 fiber: fibers[r], bands: [(band, frame.wave, row.values, row.ivar)])
        }
    }

    /// Bands joined in wavelength order, with a gap point (NaN flux) between bands so lines do not join them.
    public func concatenated() -> (wave: [Double], flux: [Float], ivar: [Float]) {
        var w: [Double] = [], f: [Float] = [], iv: [Float] = []
        for (i, b) in bands.sorted(by: { ($0.wave.first ?? 0) < ($1.wave.first ?? 0) }).enumerated() {
            if i > 0, let last = w.last, let first = b.wave.first { w.append(0.5 * (last + first)); f.append(.nan); iv.append(0) }
            w += b.wave; f += b.flux; iv += b.ivar
        }
        return (w, f, iv)
    }
}

/// The REDSHIFTS table of a redrock file: TARGETID, Z, SPECTYPE.
public struct RedrockTable: Sendable {
    public var redshift: [Int64: (z: Double, spectype: String)] = [:]

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such file") }
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        guard f.hasHDU("REDSHIFTS") || f.hasHDU("ZCATALOG") else {
            let hdus = f.hduNames().joined(separator: ",")
            throw DESIError.badFile(path: path, problem: "no REDSHIFTS HDU: not a redrock file (HDUs: \(hdus))")
        }
        let t = try f.readTable(f.hasHDU("REDSHIFTS") ? "REDSHIFTS" : "ZCATALOG")
        guard let ids = t["TARGETID"]?.data.ints, let z = t["Z"]?.data.doubles, case .string(let types)? = t["SPECTYPE"]?.data else {
            throw DESIError.badFile(path: path, problem: "REDSHIFTS needs TARGETID, Z and SPECTYPE columns")
        }
        for i in ids.indices { redshift[Int64(ids[i])] = (z[i], types[i].trimmingCharacters(in: .whitespaces)) }
    }

    /// The TARGETIDs of a SPECTYPE (case-insensitive).
    public func targets(spectype: String) -> Set<Int64> {
        Set(redshift.filter { $0.value.spectype.uppercased() == spectype.uppercased() }.map(\.key))
    }
}

/// Which spectra of some files to plot (desi_spectra_plot's selection): by TARGETID, by fiber, by redrock
/// SPECTYPE; at most `max`, in file order.
public struct SpectrumSelection: Sendable {
    public var targetIDs: [Int64] = []
    public var fibers: Set<Int>?
    /// SPECTYPE of the redrock file's targets (needs `redrockPath`).
    public var spectype: String?
    /// Redrock file (REDSHIFTS table) for `spectype` and the redshifts in the titles.
    public var redrockPath: String?
    public var max: Int

    public init(targetIDs: [Int64] = [], fibers: Set<Int>? = nil, spectype: String? = nil, redrockPath: String? = nil,
                max: Int) {
        self.targetIDs = targetIDs; self.fibers = fibers; self.spectype = spectype; self.redrockPath = redrockPath
        self.max = max
    }

    /// The selected spectra of the files (the first `max`), each titled with its label and, when the redrock
    /// table has it, its redshift and SPECTYPE; `matched` counts every spectrum that matched. Throws when a
    /// requested TARGETID is in no file or nothing matches.
    public func apply(files: [String]) throws -> (entries: [SpectrumEntry], titles: [String], matched: Int) {
        var entries: [SpectrumEntry] = []
        for f in files { entries += try SpectrumEntry.load(f) }
        let redrock = try redrockPath.map(RedrockTable.init(path:))
        var selected = entries
        if !targetIDs.isEmpty {
            selected = selected.filter { $0.targetID.map(targetIDs.contains) ?? false }
            let missing = targetIDs.filter { t in !entries.contains { $0.targetID == t } }
            if !missing.isEmpty {
                let ids = missing.map(String.init).joined(separator: ", ")
                throw DESIError.invalidArgument("TARGETID \(ids) not found in \(files.joined(separator: ", "))")
            }
        }
        if let wanted = fibers { selected = selected.filter { $0.fiber.map(wanted.contains) ?? false } }
        if let type = spectype, let rr = redrock {
            let ids = rr.targets(spectype: type)
            selected = selected.filter { $0.targetID.map(ids.contains) ?? false }
        }
        guard !selected.isEmpty else {
            throw DESIError.invalidArgument("no spectrum in \(files.joined(separator: ", ")) matches the selection")
        }
        let shown = Array(selected.prefix(max))
        let titles = shown.map { e in
            guard let t = e.targetID, let z = redrock?.redshift[t] else { return e.label }
            return e.label + String(format: "  z=%.4f %@", z.z, z.spectype)
        }
        return (shown, titles, selected.count)
    }
}
