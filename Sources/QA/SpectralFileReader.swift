import DESICore
import FITS
import Foundation

/// What a per-camera spectral file is, from its HDU 0 name and its file name (DESI names: frame-, sframe-,
/// cframe-, fframe-, sky-, fiberflat-, fluxcalib-).
public enum SpectralFileKind: String, Sendable {
    case frame, fframe, sframe, cframe, sky, fiberflat, fluxcalib

    /// Sky-subtracted flux (sframe, cframe).
    public var isSkySubtracted: Bool { self == .sframe || self == .cframe }
}

/// Reads the per-camera spectral files QA needs as `Frame`s: frames of every kind and, for plots, sky, fiber-flat
/// and flux-calibration files (same layout: an [nspec, nwave] image in HDU 0, IVAR, MASK, WAVELENGTH, FIBERMAP).
/// desispec.io.read_frame layout (inventory §18.2).
public enum SpectralFileReader {

    /// The file's kind, or an error naming the file when it is not one of the per-camera spectral files.
    public static func kind(of path: String, hdu0Name: String, header: FITSHeader) throws -> SpectralFileKind {
        let base = (path as NSString).lastPathComponent.lowercased()
        switch hdu0Name.uppercased() {
        case "SKY": return .sky
        case "FIBERFLAT": return .fiberflat
        case "FLUXCALIB": return .fluxcalib
        case "FLUX", "":
            for k in [SpectralFileKind.sframe, .cframe, .fframe, .frame] where base.hasPrefix(k.rawValue + "-") { return k }
            // Not a DESI name: the flux unit tells calibrated frames from the rest.
            if let unit = header.string("BUNIT")?.lowercased(), unit.contains("erg") { return .cframe }
            if header.bool("SKYSUB") == true { return .sframe }
            return .frame
        case "IMAGE":
            throw DESIError.badFile(path: path, problem: "a CCD image (HDU 0 is IMAGE), not extracted spectra; give a frame, sframe or cframe")
        default:
            throw DESIError.badFile(path: path, problem: "HDU 0 is '\(hdu0Name)': not a frame, sky, fiberflat or fluxcalib file")
        }
    }

    /// Reads flux (HDU 0), IVAR, MASK (zeros when absent), WAVELENGTH, FIBERMAP (when present), and the
    /// HDU 0 header. Throws DESIError.badFile naming the file and what is missing.
    public static func read(_ path: String) throws -> (frame: Frame, kind: SpectralFileKind) {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such file") }
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        let names = f.hduNames()
        try f.moveTo(index: 0)
        let (_, shape0) = try f.imageShape()
        if shape0.isEmpty || shape0.reduce(1, *) == 0 || f.currentHDUType != .image {
            if names.contains(where: { $0.hasSuffix("_FLUX") }) {
                throw DESIError.badFile(path: path, problem: "a spectra/coadd file (\(names.filter { $0.hasSuffix("_FLUX") }.joined(separator: ","))), not a per-camera frame")
            }
            throw DESIError.badFile(path: path, problem: "HDU 0 holds no image: not a frame (HDUs: \(names.joined(separator: ",")))")
        }
        let kind = try kind(of: path, hdu0Name: names.first ?? "", header: try f.readHeader())
        if [.frame, .fframe, .sframe, .cframe].contains(kind) {
            return (try Frame.read(path, skipResolution: true), kind)
        }
        // Sky, fiber flat, flux calibration: the same HDUs, another name for HDU 0.
        let img = try f.readImage(as: Float.self)
        guard img.shape.count == 2 else {
            throw DESIError.badFile(path: path, problem: "HDU 0 has shape \(img.shape), expected [nspec, nwave]")
        }
        for name in ["IVAR", "WAVELENGTH"] where !names.contains(name) {
            throw DESIError.badFile(path: path, problem: "no \(name) HDU (HDUs: \(names.joined(separator: ",")))")
        }
        let ivar = try f.readImage("IVAR", as: Float.self)
        let mask = names.contains("MASK") ? try f.readImage("MASK", as: UInt32.self).data : [UInt32](repeating: 0, count: img.count)
        let wave = try f.readImage("WAVELENGTH", as: Double.self)
        guard wave.count == img.shape[1], ivar.count == img.count, mask.count == img.count else {
            throw DESIError.badFile(path: path, problem: "HDU sizes disagree: HDU 0 \(img.shape), IVAR \(ivar.shape), MASK \(mask.count) values, WAVELENGTH \(wave.shape)")
        }
        var fibermap: Fibermap?
        if names.contains("FIBERMAP") {
            let fm = Fibermap(table: try f.readTable("FIBERMAP"))
            if fm.count != img.shape[0] {
                throw DESIError.badFile(path: path, problem: "FIBERMAP has \(fm.count) rows for \(img.shape[0]) spectra")
            }
            fibermap = fm
        }
        let frame = Frame(wave: wave.data, flux: img.data, ivar: ivar.data, mask: mask, fibermap: fibermap, header: img.header)
        return (frame, kind)
    }
}
