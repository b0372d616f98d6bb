import ArgumentParser
import DESICore
import FITS
import Foundation
import LinearAlgebra
import QA

/// `desispec plot-spectra FILES...`: spectra of chosen targets from spectra, coadd or frame files, one panel per
/// spectrum, all bands of a target in its panel, with a model overlaid where given (desi_spectra_plot / prospect).
struct PlotSpectraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-spectra",
        abstract: "Plot spectra of chosen targets from spectra, coadd or frame files, with an optional model.",
        discussion: """
        Select with --targetid, --fibers, or --spectype with a redrock file (its REDSHIFTS table: TARGETID, SPECTYPE,
        Z); without a selection the first --max spectra are shown. --model is a file in the same layout (spectra,
        coadd or frame) whose rows are matched by TARGETID.
        Example: desispec plot-spectra coadd-0-1000-thru20230101.fits -t 39627 39628 --rebin 3 -o spectra.png
        """
    )

    @Argument(help: "spectra, coadd, frame, sframe or cframe files.")
    var files: [String]
    @Option(name: [.short, .customLong("targetid")], parsing: .upToNextOption, help: "TARGETIDs to show.")
    var targetIDs: [Int64] = []
    @Option(name: .long, help: "Fibers to show: numbers and ranges a:b, comma-separated.")
    var fibers: String?
    @Option(name: .long, help: "Show the targets of this redrock SPECTYPE (GALAXY, QSO, STAR); needs --redrock.")
    var spectype: String?
    @Option(name: .long, help: "Redrock file (REDSHIFTS table) for --spectype and redshifts in the titles.")
    var redrock: String?
    @Option(name: .long, help: "Model spectra in the same layout, matched by TARGETID.")
    var model: String?
    @Option(name: .long, help: "Average this many wavelength pixels.")
    var rebin = 1
    @Option(name: .long, help: "At most this many spectra.")
    var max = 8
    @Option(name: .shortAndLong, help: "Output PNG.")
    var output = "spectra.png"
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("plot-spectra")
        try runStep {
            guard rebin >= 1 else { throw DESIError.invalidArgument("--rebin must be at least 1, got \(rebin)") }
            guard max >= 1 else { throw DESIError.invalidArgument("--max must be at least 1, got \(max)") }
            if spectype != nil && redrock == nil { throw DESIError.invalidArgument("--spectype needs --redrock FILE") }
            var entries: [SpectrumEntry] = []
            for f in files { entries += try SpectrumEntry.load(f) }
            let redshifts = try redrock.map(RedrockTable.init(path:))
            var selected = entries
            if !targetIDs.isEmpty {
                selected = selected.filter { $0.targetID.map(targetIDs.contains) ?? false }
                let missing = targetIDs.filter { t in !entries.contains { $0.targetID == t } }
                if !missing.isEmpty {
                    throw DESIError.invalidArgument("TARGETID \(missing.map(String.init).joined(separator: ", ")) not found in \(files.joined(separator: ", "))")
                }
            }
            if let text = fibers {
                let wanted = try FiberSelection.parse(text)
                selected = selected.filter { $0.fiber.map(wanted.contains) ?? false }
            }
            if let type = spectype, let rr = redshifts {
                let ids = rr.targets(spectype: type)
                selected = selected.filter { $0.targetID.map(ids.contains) ?? false }
            }
            guard !selected.isEmpty else {
                throw DESIError.invalidArgument("no spectrum in \(files.joined(separator: ", ")) matches the selection")
            }
            if selected.count > max {
                log.warning("\(selected.count) spectra selected: showing the first \(max) (--max)")
                selected = Array(selected.prefix(max))
            }
            let models = try model.map(SpectrumEntry.load) ?? []
            var panels: [(title: String, wave: [Double], flux: [Float], ivar: [Float], model: [Float]?)] = []
            for (i, e) in selected.enumerated() {
                var title = e.label
                if let t = e.targetID, let z = redshifts?.redshift[t] { title += String(format: "  z=%.4f %@", z.z, z.spectype) }
                var m: [Float]?
                if model != nil {
                    let match = e.targetID.flatMap { t in models.first { $0.targetID == t } } ?? (models.count == selected.count ? models[i] : nil)
                    guard let match else { throw DESIError.badFile(path: model!, problem: "no model for \(e.label)") }
                    m = try match.resampled(like: e, path: model!)
                }
                let c = e.concatenated()
                panels.append((title, c.wave, c.flux, c.ivar, m))
            }
            try Figures.spectra(panels, rebinFactor: rebin, path: output)
            log.info("wrote \(output) (\(panels.count) spectra)")
        }
    }
}

/// One spectrum to plot: its bands (b, r, z of a spectra file, or the one band of a frame) and identifiers.
struct SpectrumEntry {
    var label: String
    var targetID: Int64?
    var fiber: Int?
    var bands: [(name: String, wave: [Double], flux: [Float], ivar: [Float])]

    /// Every spectrum of a spectra/coadd file (HDUs *_WAVELENGTH) or of a frame.
    static func load(_ path: String) throws -> [SpectrumEntry] {
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
            return SpectrumEntry(label: "\(base) fiber \(fibers[r])" + (t.map { " TARGETID \($0)" } ?? ""), targetID: t, fiber: fibers[r],
                                 bands: [(band, frame.wave, row.values, row.ivar)])
        }
    }

    /// Bands joined in wavelength order, with a gap point (NaN flux) between bands so lines do not join them.
    func concatenated() -> (wave: [Double], flux: [Float], ivar: [Float]) {
        var w: [Double] = [], f: [Float] = [], iv: [Float] = []
        for (i, b) in bands.sorted(by: { ($0.wave.first ?? 0) < ($1.wave.first ?? 0) }).enumerated() {
            if i > 0, let last = w.last, let first = b.wave.first { w.append(0.5 * (last + first)); f.append(.nan); iv.append(0) }
            w += b.wave; f += b.flux; iv += b.ivar
        }
        return (w, f, iv)
    }

    /// This (model) spectrum on the grid of `data`'s concatenated bands, band by band (linear interpolation).
    func resampled(like data: SpectrumEntry, path: String) throws -> [Float] {
        var out: [Float] = []
        for (i, b) in data.bands.sorted(by: { ($0.wave.first ?? 0) < ($1.wave.first ?? 0) }).enumerated() {
            if i > 0 { out.append(.nan) }
            guard let m = bands.first(where: { $0.name == b.name }) ?? (bands.count == 1 ? bands[0] : nil) else {
                throw DESIError.badFile(path: path, problem: "model has no band \(b.name)")
            }
            out += Interpolation.linear(x: m.wave, y: m.flux.map(Double.init), at: b.wave, left: .nan, right: .nan).map(Float.init)
        }
        return out
    }
}

/// The REDSHIFTS table of a redrock file: TARGETID, Z, SPECTYPE.
struct RedrockTable {
    var redshift: [Int64: (z: Double, spectype: String)] = [:]

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such file") }
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        guard f.hasHDU("REDSHIFTS") || f.hasHDU("ZCATALOG") else {
            throw DESIError.badFile(path: path, problem: "no REDSHIFTS HDU: not a redrock file (HDUs: \(f.hduNames().joined(separator: ",")))")
        }
        let t = try f.readTable(f.hasHDU("REDSHIFTS") ? "REDSHIFTS" : "ZCATALOG")
        guard let ids = t["TARGETID"]?.data.ints, let z = t["Z"]?.data.doubles, case .string(let types)? = t["SPECTYPE"]?.data else {
            throw DESIError.badFile(path: path, problem: "REDSHIFTS needs TARGETID, Z and SPECTYPE columns")
        }
        for i in ids.indices { redshift[Int64(ids[i])] = (z[i], types[i].trimmingCharacters(in: .whitespaces)) }
    }

    func targets(spectype: String) -> Set<Int64> {
        Set(redshift.filter { $0.value.spectype.uppercased() == spectype.uppercased() }.map(\.key))
    }
}
