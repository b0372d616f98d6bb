import Foundation
import DESICore
import FITS

// Frame and preproc-image I/O used by `desispec extract`, in desispec's data model
// (desispec.io.frame.write_frame, desispec.io.image.read_image). To be merged with DESICore's readers/writers.

extension ExtractionResult {
    /// The extracted spectra as a desispec Frame: float32 arrays, the fibermap rows of these fibers
    /// (or a minimal FIBER table), header with WAVEMIN/WAVEMAX/WAVESTEP, SPECMIN, NSPEC, FIBERMIN, BUNIT.
    public func frame(fibermap: Fibermap?, fiberOffset: Int, header: FITSHeader) -> Frame {
        var h = header
        h.set("WAVEMIN", grid.wavelength(0), comment: "First wavelength [Angstroms]")
        h.set("WAVEMAX", grid.wavelength(grid.count - 1), comment: "Last wavelength [Angstroms]")
        h.set("WAVESTEP", grid.dw, comment: "Wavelength step size [Angstroms]")
        h.set("SPECMIN", fibers.lowerBound, comment: "First spectrum")
        h.set("SPECMAX", fibers.upperBound - 1, comment: "Last spectrum")
        h.set("NSPEC", fibers.count, comment: "Number of spectra")
        h.set("FIBERMIN", fiberOffset + fibers.lowerBound, comment: "First fiber")
        h.set("BUNIT", "electron/Angstrom", comment: "Flux unit")
        let fm = fibermap ?? Fibermap(table: FITSTable(columns: [
            FITSColumn("FIBER", .int32(fibers.map { Int32(fiberOffset + $0) })),
        ]))
        return Frame(wave: grid.wavelengths, flux: flux.map { Float($0) }, ivar: ivar.map { Float($0) }, mask: mask,
                     resolution: resolution, fibermap: fm, chi2pix: chi2pix.map { Float($0) }, header: h)
    }
}

public enum ExtractionIO {
    /// Writes a frame file (HDUs FLUX, IVAR, MASK, WAVELENGTH, RESOLUTION, FIBERMAP, CHI2PIX) atomically.
    public static func writeFrame(_ frame: Frame, to path: String) throws {
        let nspec = frame.nspec, nwave = frame.nwave
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(frame.flux, shape: [nspec, nwave], name: "FLUX", header: frame.header)
            var hi = FITSHeader(); hi.set("BUNIT", "Angstrom**2/electron**2")
            try f.writeImage(frame.ivar, shape: [nspec, nwave], name: "IVAR", header: hi)
            try f.writeImage(frame.mask, shape: [nspec, nwave], name: "MASK", compression: .gzip)
            var hw = FITSHeader(); hw.set("BUNIT", "Angstrom")
            try f.writeImage(frame.wave, shape: [nwave], name: "WAVELENGTH", header: hw)
            if let r = frame.resolution {
                try f.writeImage(r.data, shape: [r.nspec, r.ndiag, r.nwave], name: "RESOLUTION")
            }
            if let fm = frame.fibermap { try f.writeTable(fm.table, name: "FIBERMAP") }
            if let c = frame.chi2pix { try f.writeImage(c, shape: [nspec, nwave], name: "CHI2PIX") }
        }
    }

    /// Writes a 2D model image (float32) atomically.
    public static func writeModel(_ model: [Float], ny: Int, nx: Int, header: FITSHeader, to path: String) throws {
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(model, shape: [ny, nx], name: "MODEL", header: header)
        }
    }

    /// Reads a preproc file: IMAGE (primary), IVAR, MASK (and READNOISE when present).
    public static func readPreproc(_ path: String) throws -> Image {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: 0)
        var img = try f.readImage(as: Float.self)
        if img.shape.count != 2 {
            // some files keep the image in an extension named IMAGE
            guard f.hasHDU("IMAGE") else { throw DESIError.badFile(path: path, problem: "no 2D image in the primary HDU nor an IMAGE HDU") }
            img = try f.readImage("IMAGE", as: Float.self)
        }
        guard img.shape.count == 2 else { throw DESIError.badFile(path: path, problem: "IMAGE is not 2D (shape \(img.shape))") }
        let ny = img.shape[0], nx = img.shape[1]
        guard f.hasHDU("IVAR") else { throw DESIError.badFile(path: path, problem: "no IVAR HDU (not a preproc file?)") }
        let ivar = try f.readImage("IVAR", as: Float.self)
        guard ivar.shape == img.shape else { throw DESIError.badFile(path: path, problem: "IVAR shape \(ivar.shape) differs from IMAGE \(img.shape)") }
        var mask = [UInt32](repeating: 0, count: ny * nx)
        if f.hasHDU("MASK") {
            let m = try f.readImage("MASK", as: UInt32.self)
            guard m.shape == img.shape else { throw DESIError.badFile(path: path, problem: "MASK shape \(m.shape) differs from IMAGE \(img.shape)") }
            mask = m.data
        }
        var rn = [Float](repeating: 0, count: ny * nx)
        if f.hasHDU("READNOISE") {
            let r = try f.readImage("READNOISE", as: Float.self)
            if r.shape == img.shape { rn = r.data }
        }
        return Image(ny: ny, nx: nx, pix: img.data, ivar: ivar.data, mask: mask, readnoise: rn, header: img.header)
    }
}
