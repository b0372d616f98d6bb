import FITS
import Foundation

/// Reading and writing `Spectra` in DESI's layout (desispec.io.spectra.write_spectra / read_spectra):
/// HDU0 empty with the metadata, FIBERMAP, optional EXP_FIBERMAP, per band {B}_WAVELENGTH (f8, Angstrom),
/// {B}_FLUX, {B}_IVAR (f4), {B}_MASK (int32), {B}_RESOLUTION (f4 [nspec, ndiag, nwave]), then SCORES.
extension Spectra {
    public static let fluxUnit = "10**-17 erg/(s cm2 Angstrom)"
    public static let ivarUnit = "10**+34 (s2 cm4 Angstrom2) / erg2"

    /// Reads a spectra or coadd file.
    public static func read(_ path: String) throws -> Spectra {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DESIError.badFile(path: path, problem: "no such file")
        }
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try ProductFileChecks.uniqueHDUNames(f, path: path)
        let names = f.hduNames().map { $0.uppercased() }
        try f.moveTo(index: 0)
        let header = try f.readHeader()
        guard names.contains("FIBERMAP") else {
            throw DESIError.badFile(path: path, problem: "no FIBERMAP HDU: not a spectra file (HDUs: \(names.joined(separator: ",")))")
        }
        let fibermap = try f.readTable("FIBERMAP")
        try Fibermap(table: fibermap).checkColumns(path: path)
        let expFibermap = names.contains("EXP_FIBERMAP") ? try f.readTable("EXP_FIBERMAP") : nil
        let scores = names.contains("SCORES") ? try f.readTable("SCORES") : nil
        var bands: [String] = []
        var data: [String: SpectraBand] = [:]
        for name in names where name.hasSuffix("_WAVELENGTH") {
            let B = String(name.dropLast("_WAVELENGTH".count))
            let band = B.lowercased()
            let wave = try f.readImage("\(B)_WAVELENGTH", as: Double.self)
            let flux = try f.readImage("\(B)_FLUX", as: Float.self)
            let ivar = try f.readImage("\(B)_IVAR", as: Float.self)
            let nwave = wave.count
            guard flux.shape.last == nwave, ivar.shape == flux.shape else {
                let problem = "\(B)_FLUX \(flux.shape) / \(B)_IVAR \(ivar.shape) do not match \(nwave) wavelengths"
                throw DESIError.badFile(path: path, problem: problem)
            }
            let nspec = flux.count / nwave
            var mask: [UInt32]? = nil
            if names.contains("\(B)_MASK") {
                let m = try f.readImage("\(B)_MASK", as: Int32.self)
                guard m.count == flux.count else {
                    throw DESIError.badFile(path: path, problem: "\(B)_MASK has shape \(m.shape), flux \(flux.shape)")
                }
                mask = m.data.map { UInt32(bitPattern: $0) }
            }
            var res: ResolutionData? = nil
            if names.contains("\(B)_RESOLUTION") {
                let r = try f.readImage("\(B)_RESOLUTION", as: Float.self)
                guard r.shape.count == 3, r.shape[0] == nspec, r.shape[2] == nwave, r.shape[1] % 2 == 1 else {
                    let expected = "[\(nspec), odd ndiag, \(nwave)]"
                    throw DESIError.badFile(path: path, problem: "\(B)_RESOLUTION has shape \(r.shape), expected \(expected)")
                }
                res = ResolutionData(nspec: nspec, ndiag: r.shape[1], nwave: nwave, data: r.data)
            }
            bands.append(band)
            data[band] = SpectraBand(wave: wave.data, flux: flux.data, ivar: ivar.data, mask: mask, resolution: res)
        }
        guard !bands.isEmpty else { throw DESIError.badFile(path: path, problem: "no *_WAVELENGTH HDU: no spectra in this file") }
        do {
            return try Spectra(bands: bands, data: data, fibermap: fibermap, expFibermap: expFibermap, scores: scores, header: header)
        } catch let e as DESIError {
            throw DESIError.badFile(path: path, problem: e.description)
        }
    }

    /// Writes the spectra atomically (temporary file then rename). `history` goes in HISTORY cards of the primary HDU.
    public func write(_ path: String, history: [String] = [], fluxUnit: String? = nil) throws {
        func clean(_ h: FITSHeader) -> FITSHeader {
            var h = h
            for k in ["EXTNAME", "BUNIT", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS"] { h.remove(k) }
            return h
        }
        try FITSFile.writeAtomically(path) { f in
            var h = clean(header)
            h.set("LONGSTRN", "OGIP 1.0")
            for line in history { h.addHistory(line) }
            try f.writeEmptyHDU(header: h)
            var fm = fibermap
            fm.header = clean(fm.header)
            try f.writeTable(fm, name: "FIBERMAP")
            if var e = expFibermap {
                e.header = clean(e.header)
                try f.writeTable(e, name: "EXP_FIBERMAP")
            }
            for b in bands {
                guard let d = data[b] else { continue }
                let B = b.uppercased()
                let shape = [d.nspec, d.nwave]
                var hw = FITSHeader(); hw.set("BUNIT", "Angstrom")
                try f.writeImage(d.wave, shape: [d.nwave], name: "\(B)_WAVELENGTH", header: hw)
                var hf = FITSHeader(); hf.set("BUNIT", fluxUnit ?? Spectra.fluxUnit)
                try f.writeImage(d.flux, shape: shape, name: "\(B)_FLUX", header: hf)
                var hi = FITSHeader(); if fluxUnit == nil { hi.set("BUNIT", Spectra.ivarUnit) }
                try f.writeImage(d.ivar, shape: shape, name: "\(B)_IVAR", header: hi)
                if let m = d.mask {
                    try f.writeImage(m.map { Int32(bitPattern: $0) }, shape: shape, name: "\(B)_MASK")
                }
                if let r = d.resolution {
                    try f.writeImage(r.data, shape: [r.nspec, r.ndiag, r.nwave], name: "\(B)_RESOLUTION")
                }
            }
            if var s = scores {
                s.header = clean(s.header)
                try f.writeTable(s, name: "SCORES")
            }
        }
    }
}
