import DESICore
import FITS
import Foundation
import LinearAlgebra
import QA

/// What `desispec view` reads: frame, sframe or cframe files (one per camera), spectra or coadd files, sky and
/// flux-calibration files for the sky overlay, a redrock file for the redshifts, a model file for the model
/// overlay. Each is read with the data model's reader of its kind.
public struct ViewerInputs: Sendable {
    public var files: [String]
    /// Redrock file (REDSHIFTS: TARGETID, Z, SPECTYPE): line markers at each target's redshift.
    public var redrock: String?
    /// Model spectra in the layout of a spectra, coadd or frame file, matched by TARGETID (else by FIBER).
    public var model: String?

    public init(files: [String], redrock: String? = nil, model: String? = nil) {
        self.files = files; self.redrock = redrock; self.model = model
    }

    /// Reads every input and assembles the page's content. Throws DESIError naming the file for anything that is not
    /// a viewable product, for a sky file whose camera has no frame, for a sky overlay on a cframe without the
    /// camera's flux calibration, and when no file holds spectra.
    public func document(title: String, links: [(text: String, href: String)] = []) throws -> ViewerDocument {
        guard !files.isEmpty else { throw DESIError.invalidArgument("view: give at least one frame, spectra or coadd file") }
        var builder = ViewerDocumentBuilder()
        var frames: [(path: String, kind: SpectralFileKind, frame: Frame)] = []
        var skies: [String: (path: String, sky: SkyModel)] = [:]
        var calibs: [String: FluxCalibration] = [:]
        for path in files {
            if try Self.holdsSpectraBands(path) {
                builder.add(spectra: try Spectra.read(path))
                continue
            }
            let file = try SpectralFileReader.read(path)
            let camera = file.product.perFiber.camera?.name ?? ""
            switch file.product {
            case .frame(let f): frames.append((path, file.kind, f))
            case .sky(let s): skies[camera] = (path, s)
            case .fluxcalib(let c): calibs[camera] = c
            case .fiberflat:
                throw DESIError.badFile(path: path, problem: "a fiberflat file: give frames, spectra or coadds (sky and fluxcalib "
                                        + "files are overlays)")
            }
        }
        for (path, kind, frame) in frames {
            let camera = frame.camera?.name ?? ""
            var sky: [Float]?
            if let s = skies[camera] {
                sky = try Self.skyInFrameUnits(s.sky, skyPath: s.path, frame: frame, kind: kind, framePath: path,
                                               calibration: calibs[camera])
            }
            builder.add(frame: frame, skyRows: sky)
        }
        let frameCameras = Set(frames.compactMap { $0.frame.camera?.name })
        if let orphan = skies.first(where: { !frameCameras.contains($0.key) }) {
            throw DESIError.badFile(path: orphan.value.path, problem: "sky of camera \(orphan.key): no frame of that camera given")
        }
        guard !builder.targets.isEmpty else {
            throw DESIError.invalidArgument("view: no spectra in \(files.joined(separator: ", ")) (give frames, spectra or coadds)")
        }
        if let model { try builder.addModel(try SpectrumEntry.load(model), path: model) }
        if let redrock { builder.addRedshifts(try RedrockTable(path: redrock)) }
        return ViewerDocument(title: title, sources: files + [redrock, model].compactMap { $0 },
                              fluxUnit: builder.fluxUnit ?? "", grids: builder.grids, targets: builder.targets, links: links)
    }

    /// True for spectra and coadd files (HDUs B_WAVELENGTH, R_WAVELENGTH ...).
    static func holdsSpectraBands(_ path: String) throws -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such file") }
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        return f.hduNames().contains { $0.uppercased().hasSuffix("_WAVELENGTH") }
    }

    /// The sky model rows in the units of the frame, one per frame row (matched by FIBER): as is for frames and sframes
    /// (electrons, as the sky fit works), divided by the flux calibration for cframes (desispec.scripts.procexp:
    /// cframe = sframe / calibration), NaN where the calibration is zero.
    static func skyInFrameUnits(_ sky: SkyModel, skyPath: String, frame: Frame, kind: SpectralFileKind, framePath: String,
                                calibration: FluxCalibration?) throws -> [Float] {
        // sky files store their wavelengths in float32 (desispec.io.write_sky): equal grids agree to its precision
        guard sky.wave.count == frame.nwave, zip(sky.wave, frame.wave).allSatisfy({ abs($0 - $1) <= 2e-3 }) else {
            throw DESIError.mismatch("\(skyPath): wavelength grid differs from \(framePath)'s")
        }
        if kind == .cframe && calibration == nil {
            throw DESIError.invalidArgument("\(skyPath): a sky overlay on the cframe \(framePath) needs the camera's fluxcalib file")
        }
        let skyRow = Dictionary(sky.fibers.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let calibRow = calibration.map { c in Dictionary(c.fibers.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a }) }
        var out = [Float](repeating: .nan, count: frame.flux.count)
        let n = frame.nwave
        for (r, fiber) in frame.fibers.enumerated() {
            guard let s = skyRow[fiber] else { continue }
            let values = sky.float32Row(s).values
            if let calibration, let calibRow {
                guard let c = calibRow[fiber], calibration.nwave == n else { continue }
                let cal = calibration.float32Row(c).values
                for j in 0..<n where cal[j] != 0 { out[r * n + j] = values[j] / cal[j] }
            } else {
                for j in 0..<n { out[r * n + j] = values[j] }
            }
        }
        return out
    }
}
