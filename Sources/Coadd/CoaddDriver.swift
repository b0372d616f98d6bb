import DESICore
import FITS
import Foundation

/// Options of a coadd run (desi_coadd_spectra).
public struct CoaddOptions: Sendable {
    /// Cosmic-ray rejection threshold in sigma; 0 disables it.
    public var cosmicsNsig: Double = 4
    public var onetile = false
    public var coaddCameras = false
    /// Linear step (A) of a spectro-perfect resampling, nil for none.
    public var linearStep: Double? = nil
    public var waveMin: Double? = nil
    public var waveMax: Double? = nil
    /// Restrict to these TARGETIDs (nil: all).
    public var targetIDs: [Int64]? = nil
    public init() {}
}

extension Coaddition {
    /// Reads the inputs of a coadd: spectra files (stacked) or frame files (grouped), not both.
    public static func loadInputs(_ paths: [String]) throws -> Spectra {
        guard !paths.isEmpty else { throw DESIError.invalidArgument("coadd: no input files") }
        var spectraFiles: [String] = [], frameFiles: [String] = []
        for p in paths {
            guard FileManager.default.fileExists(atPath: p) else { throw DESIError.badFile(path: p, problem: "no such file") }
            let names: [String]
            do { let f = try FITSFile.open(p); names = f.hduNames().map { $0.uppercased() }; try f.close() }
            catch { throw DESIError.badFile(path: p, problem: "cannot be opened as FITS: \(error)") }
            if names.contains(where: { $0.hasSuffix("_FLUX") }) { spectraFiles.append(p) }
            else if names.contains("IVAR") && names.contains("WAVELENGTH") { frameFiles.append(p) }
            else { throw DESIError.badFile(path: p, problem: "neither a spectra file nor a frame (HDUs: \(names.joined(separator: ",")))") }
        }
        if !spectraFiles.isEmpty && !frameFiles.isEmpty {
            throw DESIError.invalidArgument("coadd: cannot combine spectra files and frames in one run")
        }
        if !frameFiles.isEmpty { return try SpectraGrouping.group(frameFiles.map { try FrameInput.read($0) }) }
        return try stack(spectraFiles.map { try Spectra.read($0) }, names: spectraFiles)
    }

    /// Rows of several Spectra one after the other (desispec.spectra.stack): same bands and grids required.
    public static func stack(_ list: [Spectra], names: [String]? = nil) throws -> Spectra {
        guard let first = list.first else { throw DESIError.invalidArgument("coadd: nothing to stack") }
        if list.count == 1 { return first }
        let label = { (i: Int) in names?[i] ?? "input \(i)" }
        for (i, s) in list.enumerated().dropFirst() {
            guard s.bands == first.bands else {
                throw DESIError.mismatch("coadd: \(label(i)) has bands \(s.bands), \(label(0)) has \(first.bands)")
            }
            for b in s.bands {
                let w0 = first.data[b]!.wave, w = s.data[b]!.wave
                guard w.count == w0.count, zip(w, w0).allSatisfy({ abs($0 - $1) < 1e-6 }) else {
                    throw DESIError.mismatch("coadd: band \(b) wavelength grids differ between \(label(0)) (\(w0.count) bins) "
                                             + "and \(label(i)) (\(w.count) bins)")
                }
            }
        }
        var data: [String: SpectraBand] = [:]
        for b in first.bands { data[b] = SpectraGrouping.concatenate(list.map { $0.data[b]! }) }
        let exp = list.allSatisfy { $0.expFibermap != nil } ? FITSTable.vstack(list.map { $0.expFibermap! }) : nil
        let scores = list.allSatisfy { $0.scores != nil } ? FITSTable.vstack(list.map { $0.scores! }) : nil
        return try Spectra(bands: first.bands, data: data, fibermap: FITSTable.vstack(list.map(\.fibermap)),
                           expFibermap: exp, scores: scores, header: first.header)
    }

    /// Only the rows of the given targets.
    public static func select(_ s: Spectra, targetIDs: [Int64]) throws -> Spectra {
        let want = Set(targetIDs)
        let rows = s.targetIDRows.indices.filter { want.contains(s.targetIDRows[$0]) }
        guard !rows.isEmpty else {
            throw DESIError.failed("coadd: none of the \(want.count) requested TARGETIDs is in the input")
        }
        var data: [String: SpectraBand] = [:]
        for b in s.bands { data[b] = s.data[b]!.selecting(rows: rows) }
        return try Spectra(bands: s.bands, data: data, fibermap: s.fibermap.selectingRows(rows), expFibermap: s.expFibermap,
                           scores: s.scores.map { $0.rowCount == s.numSpectra ? $0.selectingRows(rows) : $0 }, header: s.header)
    }

    /// The whole coadd step: per-camera coadd, then optionally the camera coadd or a spectro-perfect resampling.
    public static func run(_ input: Spectra, options: CoaddOptions) throws -> Spectra {
        if options.coaddCameras && options.linearStep != nil {
            throw DESIError.invalidArgument("coadd: --coadd-cameras and --lin-step cannot be combined")
        }
        var s = input
        if let t = options.targetIDs { s = try select(s, targetIDs: t) }
        guard s.numSpectra > 0 else { throw DESIError.failed("coadd: the input holds no spectra") }
        var out = try coadd(s, cosmicsNsig: options.cosmicsNsig, onetile: options.onetile)
        if options.coaddCameras { out = try coaddCameras(out) }
        if let step = options.linearStep {
            let wave = try SpectroPerfResample.linearGrid(out, step: step, waveMin: options.waveMin, waveMax: options.waveMax)
            out = try SpectroPerfResample.resample(out, wave: wave)
        }
        return out
    }
}
