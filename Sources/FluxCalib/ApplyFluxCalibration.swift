import Foundation
import DESICore
import FITS

/// Applies a flux calibration to a frame (desispec.fluxcalibration.apply_flux_calibration): flux /= calib and
/// ivar' = C^4 ivar ivarC / (C^2 ivarC + F^2 ivar) where calib, its ivar and the frame ivar are positive, else 0.
/// The flux unit becomes 1e-17 erg/s/cm2/A. Throws when the wavelength grids or sizes differ.
public func applyFluxCalibration(_ frame: inout Frame, _ calib: FluxCalib) throws {
    guard frame.nwave == calib.nwave, frame.nspec == calib.nspec else {
        throw DESIError.mismatch("flux calibration is [\(calib.nspec), \(calib.nwave)], frame is [\(frame.nspec), \(frame.nwave)]")
    }
    let maxdiff = zip(frame.wave, calib.wave).map { abs($0 - $1) }.max() ?? 0
    guard maxdiff <= 0.001 else {
        throw DESIError.mismatch("flux calibration and frame have different wavelength grids (max difference \(maxdiff) A)")
    }
    for p in 0..<frame.flux.count {
        let c = Double(calib.calib[p]), ic = Double(calib.ivar[p]), iv = Double(frame.ivar[p]), f = Double(frame.flux[p])
        if ic > 0 && c > 0 && iv > 0 {
            frame.ivar[p] = Float(c * c * c * c * iv * ic / (c * c * ic + f * f * iv))
        } else {
            frame.ivar[p] = 0
        }
        frame.flux[p] = c > 0 ? Float(f / c) : 0
    }
    frame.header.set("BUNIT", "10**-17 erg/(s cm2 Angstrom)", comment: "Flux units")
}

extension FluxCalib {
    /// Writes the file as desispec.io.write_flux_calibration (FLUXCALIB, IVAR, MASK, WAVELENGTH, FIBERCORR,
    /// STDSTAR_FIBERMAP), atomically. `provenance` lines become HISTORY cards.
    public func write(_ path: String, provenance: [String] = []) throws {
        try FITSFile.writeAtomically(path) { f in
            var h = FITSHeader()
            for c in header.cards where !FITSHeader.isStructural(c.key) && c.key != "EXTNAME" && c.key != "BUNIT" { h.append(c) }
            h.set("BUNIT", "10**+17 cm2 count s / erg", comment: "i.e. (elec/A) / (1e-17 erg/s/cm2/A)")
            for p in provenance { h.addHistory(p) }
            try f.writeImage(calib, shape: [nspec, nwave], name: "FLUXCALIB", header: h)
            try f.writeImage(ivar, shape: [nspec, nwave], name: "IVAR")
            try f.writeImage(mask, shape: [nspec, nwave], name: "MASK")
            var hw = FITSHeader(); hw.set("BUNIT", "Angstrom")
            try f.writeImage(wave.map { Float($0) }, shape: [nwave], name: "WAVELENGTH", header: hw)
            if var fc = fiberCorr {
                fc.header = FITSHeader()
                try f.writeTable(fc, name: "FIBERCORR")
            }
            if let fm = stdstarFibermap { try f.writeTable(fm.table, name: "STDSTAR_FIBERMAP") }
        }
    }

    /// Reads a fluxcalib file (ours or desispec's).
    public static func read(_ path: String) throws -> FluxCalib {
        let f = try FITSFile.open(path)
        try f.moveTo(index: 0)
        let c = try f.readImage(as: Float.self)
        guard c.shape.count == 2 else { throw DESIError.badFile(path: path, problem: "FLUXCALIB should be 2-D, got shape \(c.shape)") }
        let iv = try f.readImage("IVAR", as: Float.self)
        let m = try f.readImage("MASK", as: UInt32.self)
        let w = try f.readImage("WAVELENGTH", as: Double.self).data
        guard w.count == c.shape[1], iv.data.count == c.data.count, m.data.count == c.data.count else {
            throw DESIError.badFile(path: path, problem: "IVAR/MASK/WAVELENGTH do not match FLUXCALIB shape \(c.shape)")
        }
        let fc = f.hasHDU("FIBERCORR") ? try f.readTable("FIBERCORR") : nil
        let fm = f.hasHDU("STDSTAR_FIBERMAP") ? Fibermap(table: try f.readTable("STDSTAR_FIBERMAP")) : nil
        return FluxCalib(wave: w, calib: c.data, ivar: iv.data, mask: m.data, fiberCorr: fc, stdstarFibermap: fm, header: c.header)
    }
}
