import FITS

extension SkyModel {
    /// Reads a sky file in DESI's layout (desispec.io.read_sky): HDU0 SKY, IVAR, MASK, WAVELENGTH, optional
    /// STATIVAR, THRPUTCORR, THRPUTCORR_MOD, SKYTARGETID. A file without MASK (hand-made) reads as all pixels
    /// good, as `Frame.read` does.
    public static func read(_ path: String) throws -> SkyModel {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        let sky = try ProductFileChecks.perFiberImage(f, name: "SKY", path: path, as: Double.self)
        let nspec = sky.shape[0], nwave = sky.shape[1]
        try ProductFileChecks.requireHDUs(["IVAR", "WAVELENGTH"], in: f, path: path, product: "sky")
        let ivar = try f.readImage("IVAR", as: Double.self)
        try ProductFileChecks.shape(ivar.shape, of: "IVAR", is: sky.shape, as: "SKY", path: path)
        let mask = f.hasHDU("MASK") ? try f.readImage("MASK", as: UInt32.self)
            : FITSImage(shape: sky.shape, data: [UInt32](repeating: 0, count: sky.count))
        try ProductFileChecks.shape(mask.shape, of: "MASK", is: sky.shape, as: "SKY", path: path)
        let wave = try f.readImage("WAVELENGTH", as: Double.self)
        try ProductFileChecks.wavelengths(wave.data, count: nwave, as: "SKY", path: path)
        let optional = try readOptionalHDUs(f, nspec: nspec, shape: sky.shape, path: path)
        do {
            var model = try SkyModel(wave: wave.data, flux: sky.data, ivar: ivar.data, mask: mask.data, statIvar: optional.stat,
                                throughputCorrections: optional.tc, throughputCorrectionsModel: optional.tcm,
                                skyTargetIDs: optional.tid, nrej: sky.header.int("NREJ") ?? 0, header: sky.header)
            model.dwaveCoefficients = try readVector(f, "DWAVECOEFF")
            model.dlsfCoefficients = try readVector(f, "DLSFCOEFF")
            model.skyGradientCoefficients = try readVector(f, "SKYGRADPCACOEFF")
            return model
        } catch let e as DESIError {
            throw DESIError.badFile(path: path, problem: e.description)
        }
    }

    /// A 1-D HDU of coefficients (possibly empty, NAXIS1 = 0), or nil where the file has none.
    private static func readVector(_ f: FITSFile, _ name: String) throws -> [Double]? {
        guard f.hasHDU(name) else { return nil }
        try f.moveTo(name: name)
        let shape = try f.imageShape().shape
        if shape.isEmpty || shape.contains(0) { return [] }
        return try f.readImage(name, as: Double.self).data
    }

    /// STATIVAR [nspec, nwave], THRPUTCORR and THRPUTCORR_MOD (one per fiber) and SKYTARGETID (the TARGETIDs of
    /// the sky fibers used: at most one per fiber), as desispec.io.read_sky has them, where present.
    private static func readOptionalHDUs(_ f: FITSFile, nspec: Int, shape: [Int], path: String) throws
        -> (stat: [Double]?, tc: [Double]?, tcm: [Double]?, tid: [Int64]?) {
        func perFiber(_ name: String) throws -> [Double]? {
            guard f.hasHDU(name) else { return nil }
            let values = try f.readImage(name, as: Double.self).data
            try ProductFileChecks.count(values.count, of: name, is: nspec, what: "one per spectrum of SKY", path: path)
            return values
        }
        var stat: [Double]?, tid: [Int64]?
        if f.hasHDU("STATIVAR") {
            let s = try f.readImage("STATIVAR", as: Double.self)
            try ProductFileChecks.shape(s.shape, of: "STATIVAR", is: shape, as: "SKY", path: path)
            stat = s.data
        }
        if f.hasHDU("SKYTARGETID") {
            let t = try f.readImage("SKYTARGETID", as: Int64.self)
            guard t.shape.count == 1, t.count <= nspec else {
                throw DESIError.badFile(path: path, problem: "SKYTARGETID HDU has shape \(t.shape), expected at most "
                                        + "\(nspec) values (one per sky fiber of SKY)")
            }
            tid = t.data
        }
        return (stat, try perFiber("THRPUTCORR"), try perFiber("THRPUTCORR_MOD"), tid)
    }

    /// Writes the sky model in DESI's layout (desispec.io.write_sky), atomically; `history` lines become
    /// HISTORY cards of HDU0.
    public func write(to path: String, history: [String] = []) throws {
        var hdr = FITSHeader()
        for card in header.cards where !FITSHeader.isStructural(card.key) && card.key != "EXTNAME" { hdr.append(card) }
        hdr.set("NREJ", nrej, comment: "pixels rejected while fitting the sky")
        for h in history { hdr.addHistory(h) }
        let shape = [nspec, nwave]
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(flux.map { Float($0) }, shape: shape, name: "SKY", header: hdr)
            try f.writeImage(ivar.map { Float($0) }, shape: shape, name: "IVAR")
            try f.writeImage(mask, shape: shape, name: "MASK")
            var wh = FITSHeader(); wh.set("BUNIT", "Angstrom")
            try f.writeImage(wave.map { Float($0) }, shape: [nwave], name: "WAVELENGTH", header: wh)
            if let statIvar { try f.writeImage(statIvar.map { Float($0) }, shape: shape, name: "STATIVAR") }
            if let t = throughputCorrections { try f.writeImage(t.map { Float($0) }, shape: [t.count], name: "THRPUTCORR") }
            if let t = throughputCorrectionsModel { try f.writeImage(t.map { Float($0) }, shape: [t.count], name: "THRPUTCORR_MOD") }
            // desispec.io.write_sky's order: DWAVECOEFF, DLSFCOEFF, SKYGRADPCACOEFF, then SKYTARGETID
            for (name, c) in [("DWAVECOEFF", dwaveCoefficients), ("DLSFCOEFF", dlsfCoefficients),
                              ("SKYGRADPCACOEFF", skyGradientCoefficients)] {
                if let c { try f.writeImage(c.map { Float($0) }, shape: [c.count], name: name) }
            }
            if let t = skyTargetIDs, !t.isEmpty { try f.writeImage(t, shape: [t.count], name: "SKYTARGETID") }
        }
    }
}
