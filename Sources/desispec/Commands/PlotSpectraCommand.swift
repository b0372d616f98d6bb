import ArgumentParser
import DESICore
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
            let selection = SpectrumSelection(targetIDs: targetIDs, fibers: try fibers.map(FiberSelection.parse),
                                              spectype: spectype, redrockPath: redrock, max: max)
            let (selected, titles, matched) = try selection.apply(files: files)
            if matched > max { log.warning("\(matched) spectra selected: showing the first \(max) (--max)") }
            let models = try model.map(SpectrumEntry.load) ?? []
            var panels: [(title: String, wave: [Double], flux: [Float], ivar: [Float], model: [Float]?)] = []
            for (i, e) in selected.enumerated() {
                let c = e.concatenated()
                panels.append((titles[i], c.wave, c.flux, c.ivar, try modelFlux(for: e, index: i, of: selected.count, in: models)))
            }
            try Figures.spectra(panels, rebinFactor: rebin, path: output)
            log.info("wrote \(output) (\(panels.count) spectra)")
        }
    }

    /// The --model spectrum of `entry` on its grid: the model row of its TARGETID, else the model row of the same
    /// rank when the model file has one row per selected spectrum; nil without --model.
    private func modelFlux(for entry: SpectrumEntry, index i: Int, of count: Int, in models: [SpectrumEntry]) throws -> [Float]? {
        guard let path = model else { return nil }
        let match = entry.targetID.flatMap { t in models.first { $0.targetID == t } } ?? (models.count == count ? models[i] : nil)
        guard let match else { throw DESIError.badFile(path: path, problem: "no model for \(entry.label)") }
        return try match.resampled(like: entry, path: path)
    }
}

extension SpectrumEntry {
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
