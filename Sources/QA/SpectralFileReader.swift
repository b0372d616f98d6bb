import DESICore
import FITS
import Foundation

/// What a per-camera spectral file is, from its HDU 0 name and its file name (DESI names: frame-, sframe-,
/// cframe-, fframe-, sky-, fiberflat-, fluxcalib-).
public enum SpectralFileKind: String, Sendable {
    case frame, fframe, sframe, cframe, sky, fiberflat, fluxcalib

    /// Sky-subtracted flux (sframe, cframe).
    public var isSkySubtracted: Bool { self == .sframe || self == .cframe }
    /// Extracted spectra of some calibration stage (frame, fframe, sframe, cframe), read as a `Frame`.
    public var isFrame: Bool { [.frame, .fframe, .sframe, .cframe].contains(self) }
}

/// A per-camera product, read with the data-model reader of its kind.
public enum SpectralProduct: Sendable {
    case frame(Frame)
    case sky(SkyModel)
    case fiberflat(FiberFlat)
    case fluxcalib(FluxCalibration)

    /// The product as rows of fibers (what figures show).
    public var perFiber: any PerFiberProduct {
        switch self {
        case .frame(let p): p
        case .sky(let p): p
        case .fiberflat(let p): p
        case .fluxcalib(let p): p
        }
    }
}

/// A per-camera spectral file: its kind and its product.
public struct SpectralFile: Sendable {
    public var kind: SpectralFileKind
    public var product: SpectralProduct

    /// The frame, for the frame kinds (frame, fframe, sframe, cframe).
    public var frame: Frame? {
        if case .frame(let f) = product { return f }
        return nil
    }
}

/// Tells the kind of a per-camera spectral file and reads it with its own reader (desispec.io.read_frame,
/// read_sky, read_fiberflat, read_flux_calibration): what QA and the plots read.
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
            let problem = "a CCD image (HDU 0 is IMAGE), not extracted spectra; give a frame, sframe or cframe"
            throw DESIError.badFile(path: path, problem: problem)
        default:
            throw DESIError.badFile(path: path, problem: "HDU 0 is '\(hdu0Name)': not a frame, sky, fiberflat or fluxcalib file")
        }
    }

    /// The kind of the file at `path`, from its HDUs; throws DESIError.badFile naming the file when it does not
    /// exist or its HDU 0 holds no [nspec, nwave] image (a spectra/coadd file, a table).
    public static func kind(of path: String) throws -> SpectralFileKind {
        guard FileManager.default.fileExists(atPath: path) else { throw DESIError.badFile(path: path, problem: "no such file") }
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        let names = f.hduNames()
        try f.moveTo(index: 0)
        let (_, shape0) = try f.imageShape()
        if shape0.isEmpty || shape0.reduce(1, *) == 0 || f.currentHDUType != .image {
            let fluxHDUs = names.filter { $0.hasSuffix("_FLUX") }
            if !fluxHDUs.isEmpty {
                let problem = "a spectra/coadd file (\(fluxHDUs.joined(separator: ","))), not a per-camera frame"
                throw DESIError.badFile(path: path, problem: problem)
            }
            throw DESIError.badFile(path: path, problem: "HDU 0 holds no image: not a frame (HDUs: \(names.joined(separator: ",")))")
        }
        return try kind(of: path, hdu0Name: names.first ?? "", header: try f.readHeader())
    }

    /// Reads the file with the reader of its kind (frames without their resolution data).
    public static func read(_ path: String) throws -> SpectralFile {
        let kind = try kind(of: path)
        switch kind {
        case .frame, .fframe, .sframe, .cframe:
            return SpectralFile(kind: kind, product: .frame(try Frame.read(path, skipResolution: true)))
        case .sky: return SpectralFile(kind: kind, product: .sky(try SkyModel.read(path)))
        case .fiberflat: return SpectralFile(kind: kind, product: .fiberflat(try FiberFlat.read(path)))
        case .fluxcalib: return SpectralFile(kind: kind, product: .fluxcalib(try FluxCalibration.read(path)))
        }
    }

    /// Reads a frame of any calibration stage; a sky, fiber-flat or flux-calibration file is refused by name.
    public static func readFrame(_ path: String) throws -> (frame: Frame, kind: SpectralFileKind) {
        let kind = try kind(of: path)
        guard kind.isFrame else {
            throw DESIError.badFile(path: path, problem: "a \(kind.rawValue) file, not a frame; give a frame, sframe or cframe")
        }
        return (try Frame.read(path, skipResolution: true), kind)
    }
}
