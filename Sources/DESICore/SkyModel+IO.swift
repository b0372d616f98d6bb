import FITS

extension SkyModel {
    /// Reads a sky file in DESI's layout (desispec.io.read_sky): HDU0 SKY, IVAR, MASK, WAVELENGTH, optional
    /// STATIVAR, THRPUTCORR, THRPUTCORR_MOD, SKYTARGETID. A file without MASK (hand-made) reads as all pixels
    /// good, as `Frame.read` does.
    public static func read(_ path: String) throws -> SkyModel {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: 0)
        let sky = try f.readImage(as: Double.self)
        guard sky.shape.count == 2 else {
            throw DESIError.badFile(path: path, problem: "HDU 0 (SKY) has shape \(sky.shape), expected [nspec, nwave]")
        }
        for name in ["IVAR", "WAVELENGTH"] where !f.hasHDU(name) {
            throw DESIError.badFile(path: path, problem: "no \(name) HDU: not a sky file")
        }
        let ivar = try f.readImage("IVAR", as: Double.self)
        let mask = f.hasHDU("MASK") ? try f.readImage("MASK", as: UInt32.self)
            : FITSImage(shape: sky.shape, data: [UInt32](repeating: 0, count: sky.count))
        let wave = try f.readImage("WAVELENGTH", as: Double.self)
        guard ivar.shape == sky.shape, mask.shape == sky.shape, wave.count == sky.shape[1] else {
            let shapes = "SKY \(sky.shape), IVAR \(ivar.shape), MASK \(mask.shape), WAVELENGTH \(wave.shape)"
            throw DESIError.badFile(path: path, problem: "HDU shapes disagree: \(shapes)")
        }
        let stat = f.hasHDU("STATIVAR") ? try f.readImage("STATIVAR", as: Double.self).data : nil
        let tc = f.hasHDU("THRPUTCORR") ? try f.readImage("THRPUTCORR", as: Double.self).data : nil
        let tcm = f.hasHDU("THRPUTCORR_MOD") ? try f.readImage("THRPUTCORR_MOD", as: Double.self).data : nil
        let tid = f.hasHDU("SKYTARGETID") ? try f.readImage("SKYTARGETID", as: Int64.self).data : nil
        do {
            return try SkyModel(wave: wave.data, flux: sky.data, ivar: ivar.data, mask: mask.data, statIvar: stat,
                                throughputCorrections: tc, throughputCorrectionsModel: tcm, skyTargetIDs: tid,
                                nrej: sky.header.int("NREJ") ?? 0, header: sky.header)
        } catch let e as DESIError {
            throw DESIError.badFile(path: path, problem: e.description)
        }
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
            if let t = skyTargetIDs, !t.isEmpty { try f.writeImage(t, shape: [t.count], name: "SKYTARGETID") }
        }
    }
}
