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

    /// Reads a fluxcalib file (ours or desispec's): FLUXCALIB [nspec, nwave], IVAR and MASK of its shape,
    /// WAVELENGTH, and FIBERCORR (one row per spectrum) and STDSTAR_FIBERMAP (one row per star) when present.
    public static func read(_ path: String) throws -> FluxCalibration {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        let c = try ProductFileChecks.perFiberImage(f, name: "FLUXCALIB", path: path, as: Float.self)
        let nspec = c.shape[0], nwave = c.shape[1]
        try ProductFileChecks.requireHDUs(["IVAR", "MASK", "WAVELENGTH"], in: f, path: path, product: "flux calibration")
        let iv = try f.readImage("IVAR", as: Float.self)
        try ProductFileChecks.shape(iv.shape, of: "IVAR", is: c.shape, as: "FLUXCALIB", path: path)
        let m = try f.readImage("MASK", as: UInt32.self)
        try ProductFileChecks.shape(m.shape, of: "MASK", is: c.shape, as: "FLUXCALIB", path: path)
        let w = try f.readImage("WAVELENGTH", as: Double.self).data
        try ProductFileChecks.wavelengths(w, count: nwave, as: "FLUXCALIB", path: path)
        var fc: FITSTable?
        if f.hasHDU("FIBERCORR") {
            let t = try f.readTable("FIBERCORR")
            try ProductFileChecks.rows(t, of: "FIBERCORR", is: nspec, what: "one per spectrum of FLUXCALIB", path: path)
            fc = t
        }
        var fm: Fibermap?
        if f.hasHDU("STDSTAR_FIBERMAP") {
            fm = try ProductFileChecks.fibermap(try f.readTable("STDSTAR_FIBERMAP"), of: "STDSTAR_FIBERMAP", rows: nil,
                                                what: "one per standard star", path: path)
        }
        return FluxCalibration(wave: w, calib: c.data, ivar: iv.data, mask: m.data, fiberCorr: fc, stdstarFibermap: fm, header: c.header)
    }
}
