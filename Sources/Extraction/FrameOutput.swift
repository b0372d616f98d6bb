import DESICore
import FITS
import Foundation

// The outputs of `desispec extract` in desispec's data model: the frame (written by DESICore's Frame.write, as
// desispec.io.write_frame) and the optional 2D model image.

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
    /// Writes a 2D model image (float32, primary HDU named MODEL) atomically.
    public static func writeModel(_ model: [Float], ny: Int, nx: Int, header: FITSHeader, to path: String) throws {
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(model, shape: [ny, nx], name: "MODEL", header: header)
        }
    }
}
