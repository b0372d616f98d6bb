import DESICore
import FITS
import Foundation

/// Writes and reads preproc files in DESI's layout (desispec.io.image.write_image / read_image): IMAGE (float32,
/// primary HDU, with the header), IVAR (float32), MASK (int16, RICE-compressed), READNOISE (float32), and an optional
/// FIBERMAP table.
public enum PreprocFile {
    /// Writes `image` to `path` atomically. `provenance` becomes a HISTORY card (e.g. "desispec-swift 0.1 preproc ...").
    public static func write(_ image: Image, to path: String, fibermap: FITSTable? = nil, provenance: String? = nil) throws {
        var h = image.header
        for k in ["EXTNAME", "BZERO", "BSCALE", "CHECKSUM", "DATASUM", "ZIMAGE", "ZCMPTYPE"] { h.remove(k) }
        if h["CAMERA"] == nil, let c = image.camera { h.set("CAMERA", c.name, comment: "Spectrograph Camera") }
        if let p = provenance { h.addHistory(p) }
        if let bad = image.mask.firstIndex(where: { $0 > UInt32(Int16.max) }) {
            throw DESIError.failed("mask value \(image.mask[bad]) at pixel \(bad) does not fit the int16 MASK HDU")
        }
        let shape = [image.ny, image.nx]
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(image.pix, shape: shape, name: "IMAGE", header: h)
            try f.writeImage(image.ivar, shape: shape, name: "IVAR")
            try f.writeImage(image.mask.map { Int16(truncatingIfNeeded: $0) }, shape: shape, name: "MASK", compression: .rice)
            try f.writeImage(image.readnoise, shape: shape, name: "READNOISE")
            if let fm = fibermap { try f.writeTable(fm, name: "FIBERMAP") }
        }
    }

    /// Reads a preproc file written by desispec or by `write`.
    public static func read(_ path: String) throws -> Image {
        let f = try FITSFile.open(path)
        let pix = try f.readImage("IMAGE", as: Float.self)
        guard pix.shape.count == 2 else { throw DESIError.badFile(path: path, problem: "IMAGE is not 2-D") }
        let ivar = try f.readImage("IVAR", as: Float.self)
        let mask = try f.readImage("MASK", as: Int32.self)
        let rn: [Float]
        if f.hasHDU("READNOISE") { rn = try f.readImage("READNOISE", as: Float.self).data }
        else { rn = [Float](repeating: Float(pix.header.double("RDNOISE") ?? 0), count: pix.count) }
        guard ivar.shape == pix.shape, mask.shape == pix.shape, rn.count == pix.count else {
            throw DESIError.badFile(path: path, problem: "IMAGE, IVAR, MASK and READNOISE shapes differ")
        }
        return Image(ny: pix.shape[0], nx: pix.shape[1], pix: pix.data, ivar: ivar.data,
                     mask: mask.data.map { UInt32(UInt16(truncatingIfNeeded: $0)) }, readnoise: rn, header: pix.header)
    }
}
