import FITS

extension FiberFlat {
    /// Reads a fiber flat file in DESI's layout (desispec.io.read_fiberflat): HDU0 FIBERFLAT, IVAR, MASK,
    /// MEANSPEC, WAVELENGTH, optional FIBERMAP.
    public static func read(_ path: String) throws -> FiberFlat {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        let img = try ProductFileChecks.perFiberImage(f, name: "FIBERFLAT", path: path, as: Double.self)
        let nspec = img.shape[0], nwave = img.shape[1]
        try ProductFileChecks.requireHDUs(["IVAR", "MASK", "MEANSPEC", "WAVELENGTH"], in: f, path: path, product: "fiber flat")
        let ivar = try f.readImage("IVAR", as: Double.self)
        try ProductFileChecks.shape(ivar.shape, of: "IVAR", is: img.shape, as: "FIBERFLAT", path: path)
        let mask = try f.readImage("MASK", as: UInt32.self)
        try ProductFileChecks.shape(mask.shape, of: "MASK", is: img.shape, as: "FIBERFLAT", path: path)
        let meanspec = try f.readImage("MEANSPEC", as: Double.self)
        try ProductFileChecks.count(meanspec.count, of: "MEANSPEC", is: nwave, what: "one per column of FIBERFLAT", path: path)
        let wave = try f.readImage("WAVELENGTH", as: Double.self)
        try ProductFileChecks.wavelengths(wave.data, count: nwave, as: "FIBERFLAT", path: path)
        var fibermap: Fibermap?
        if f.hasHDU("FIBERMAP") {
            fibermap = try ProductFileChecks.fibermap(try f.readTable("FIBERMAP"), rows: nspec, what: "one per spectrum of FIBERFLAT",
                                                      path: path)
        }
        let chi2 = img.header.double("CHI2PDF")
        do {
            return try FiberFlat(wave: wave.data, flat: img.data, ivar: ivar.data, mask: mask.data, meanspec: meanspec.data,
                                 chi2pdf: chi2, header: img.header, fibermap: fibermap)
        } catch let e as DESIError {
            throw DESIError.badFile(path: path, problem: e.description)
        }
    }

    /// Writes the fiber flat in DESI's layout (desispec.io.write_fiberflat), atomically. `history` lines go
    /// to HISTORY cards of HDU0 (provenance: software version, inputs, options).
    public func write(to path: String, history: [String] = []) throws {
        var hdr = FITSHeader()
        for card in header.cards where !FITSHeader.isStructural(card.key) && card.key != "EXTNAME" && card.key != "BUNIT" {
            hdr.append(card)
        }
        if let chi2pdf { hdr.set("CHI2PDF", chi2pdf, comment: "reduced chi2 of the mean spectrum fit") }
        hdr.set("BUNIT", "", comment: "adimensional quantity to divide to flatfield a frame")
        for h in history { hdr.addHistory(h) }
        let shape = [nspec, nwave]
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(flat.map { Float($0) }, shape: shape, name: "FIBERFLAT", header: hdr)
            var ih = FITSHeader(); ih.set("BUNIT", "", comment: "inverse variance, adimensional")
            try f.writeImage(ivar.map { Float($0) }, shape: shape, name: "IVAR", header: ih)
            try f.writeImage(mask, shape: shape, name: "MASK")
            var mh = FITSHeader(); mh.set("BUNIT", "electron/Angstrom")
            try f.writeImage(meanspec.map { Float($0) }, shape: [nwave], name: "MEANSPEC", header: mh)
            var wh = FITSHeader(); wh.set("BUNIT", "Angstrom")
            try f.writeImage(wave.map { Float($0) }, shape: [nwave], name: "WAVELENGTH", header: wh)
            if let fibermap { try f.writeTable(fibermap.table, name: "FIBERMAP") }
        }
    }
}
