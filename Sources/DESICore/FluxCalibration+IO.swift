import FITS

extension FluxCalibration {
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
    public static func read(_ path: String) throws -> FluxCalibration {
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
        return FluxCalibration(wave: w, calib: c.data, ivar: iv.data, mask: m.data, fiberCorr: fc, stdstarFibermap: fm, header: c.header)
    }
}
