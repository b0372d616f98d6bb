import DESICore
import FITS
import Foundation

/// One camera of a raw exposure: the pixel values (ADU, any raw layout) and the headers preproc needs.
public struct RawImage: Sendable {
    public var ny: Int
    public var nx: Int
    /// Raw pixel values in ADU, row-major [ny, nx] (float32 holds the 16-bit ADC values exactly).
    public var data: [Float]
    /// Camera-HDU header, extended (without overwriting) with the primary header's keywords, as desispec.io.read_raw.
    public var header: FITSHeader
    /// Primary header (the first HDU with EXPTIME).
    public var primaryHeader: FITSHeader
    /// File it came from (for messages).
    public var path: String

    public init(ny: Int, nx: Int, data: [Float], header: FITSHeader, primaryHeader: FITSHeader, path: String = "<memory>") {
        self.ny = ny; self.nx = nx; self.data = data; self.header = header; self.primaryHeader = primaryHeader; self.path = path
    }

    /// Reads camera `camera` (e.g. "r0"; the HDU is "R0") of a raw exposure file, as desispec.io.raw.read_raw:
    /// the primary header is the first HDU holding EXPTIME; NIGHT of camera and primary headers must agree.
    public static func read(path: String, camera: String) throws -> RawImage {
        let f: FITSFile
        do { f = try FITSFile.open(path) } catch {
            throw DESIError.badFile(path: path, problem: "cannot open raw exposure: \(error)")
        }
        let hdu = camera.uppercased()
        guard f.hasHDU(hdu) else {
            let names = f.hduNames().filter { !$0.isEmpty }.joined(separator: ", ")
            throw DESIError.badFile(path: path, problem: "camera \(camera) not in file (HDUs: \(names))")
        }
        var primary: FITSHeader?
        for i in 0..<f.hduCount {
            try f.moveTo(index: i)
            let h = try f.readHeader()
            if h["EXPTIME"] != nil { primary = h; break }
        }
        guard var primaryHeader = primary else {
            throw DESIError.badFile(path: path, problem: "no EXPTIME keyword in any HDU")
        }
        try f.moveTo(name: hdu)
        // tile decompression in parallel row bands (one cfitsio handle each)
        let img: FITSImage<Float>
        do { img = try FITSFile.readImageConcurrently(path: path, hdu: hdu, as: Float.self) } catch {
            throw DESIError.badFile(path: path, problem: "cannot read camera \(hdu) pixels: \(error)")
        }
        guard img.shape.count == 2 else {
            throw DESIError.badFile(path: path, problem: "camera \(hdu) is not a 2-D image (shape \(img.shape))")
        }
        var header = img.header
        if let hcam = header.string("CAMERA")?.trimmingCharacters(in: .whitespaces), hcam.lowercased() != camera.lowercased() {
            throw DESIError.badFile(path: path, problem: "HDU \(hdu) has CAMERA='\(hcam)', expected \(camera.lowercased())")
        }
        if let pn = primaryHeader["NIGHT"]?.intValue, let cn = header["NIGHT"]?.intValue, pn != cn {
            throw DESIError.badFile(path: path, problem: "primary header NIGHT=\(pn) != camera header NIGHT=\(cn)")
        }
        if primaryHeader["NIGHT"]?.intValue == nil, let n = CalibrationConfig.nightOf([primaryHeader, header]) {
            primaryHeader.set("NIGHT", n, comment: "Observing night")
        }
        header.merge(primaryHeader.filteringStructural())
        if header["NIGHT"]?.intValue == nil, let n = primaryHeader["NIGHT"] { header.set("NIGHT", n, comment: "Observing night") }
        return RawImage(ny: img.shape[0], nx: img.shape[1], data: img.data, header: header, primaryHeader: primaryHeader, path: path)
    }
}

extension FITSHeader {
    /// This header without structural keywords, EXTNAME and commentary cards.
    func filteringStructural() -> FITSHeader {
        FITSHeader(cards.filter { !$0.isCommentary && !FITSHeader.isStructural($0.key) && $0.key != "EXTNAME" })
    }
}
