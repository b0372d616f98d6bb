import FITS

/// Frame files in DESI's layout (desispec.io.frame.read_frame / write_frame): FLUX (primary HDU, with the header),
/// IVAR, MASK, WAVELENGTH, RESOLUTION [nspec, ndiag, nwave], FIBERMAP, CHI2PIX, SCORES. The same layout holds frames,
/// sframes and cframes.
extension Frame {
    /// Reads a frame written by desispec or by `write(to:)`.
    public static func read(_ path: String, skipResolution: Bool = false) throws -> Frame {
        let path = try FileLayout.checkGzip(path)   // as desispec.io.util.checkgzip: x.fits or x.fits.gz
        let f = try FITSFile.open(path)
        try ProductFileChecks.uniqueHDUNames(f, path: path)
        try f.moveTo(index: 0)
        var flux = try f.readImage(as: Float.self)
        if flux.shape.count != 2 {
            guard f.hasHDU("FLUX") else { throw DESIError.badFile(path: path, problem: "no FLUX image (not a frame file?)") }
            flux = try f.readImage("FLUX", as: Float.self)
        }
        guard flux.shape.count == 2 else { throw DESIError.badFile(path: path, problem: "FLUX is not 2-D (shape \(flux.shape))") }
        let nspec = flux.shape[0], nwave = flux.shape[1]
        for name in ["IVAR", "WAVELENGTH"] where !f.hasHDU(name) {
            throw DESIError.badFile(path: path, problem: "no \(name) HDU (not a frame file?)")
        }
        let ivar = try f.readImage("IVAR", as: Float.self)
        guard ivar.shape == flux.shape else {
            throw DESIError.badFile(path: path, problem: "IVAR shape \(ivar.shape) differs from FLUX \(flux.shape)")
        }
        let wave = try f.readImage("WAVELENGTH", as: Double.self).data
        guard wave.count == nwave else {
            throw DESIError.badFile(path: path, problem: "WAVELENGTH has \(wave.count) values, FLUX has \(nwave) columns")
        }
        var mask = [UInt32](repeating: 0, count: nspec * nwave)
        if f.hasHDU("MASK") {
            let m = try f.readImage("MASK", as: UInt32.self)
            guard m.count == mask.count else { throw DESIError.badFile(path: path, problem: "MASK shape \(m.shape) differs from FLUX") }
            mask = m.data
        }
        var resolution: ResolutionData?
        if !skipResolution && f.hasHDU("RESOLUTION") {
            let r = try f.readImage("RESOLUTION", as: Float.self)
            guard r.shape.count == 3, r.shape[0] == nspec, r.shape[2] == nwave, r.shape[1] % 2 == 1 else {
                throw DESIError.badFile(path: path, problem: "RESOLUTION shape \(r.shape) does not match [\(nspec), odd ndiag, \(nwave)]")
            }
            resolution = ResolutionData(nspec: nspec, ndiag: r.shape[1], nwave: nwave, data: r.data)
        }
        var fibermap: Fibermap?
        if f.hasHDU("FIBERMAP") {
            let t = try f.readTable("FIBERMAP")
            guard t.rowCount == nspec else {
                throw DESIError.badFile(path: path, problem: "FIBERMAP has \(t.rowCount) rows for \(nspec) spectra")
            }
            fibermap = Fibermap(table: t)
            try fibermap?.checkColumns(path: path)
        }
        var chi2pix: [Float]?
        if f.hasHDU("CHI2PIX") {
            let c = try f.readImage("CHI2PIX", as: Float.self)
            if c.count == nspec * nwave { chi2pix = c.data }
        }
        var header = flux.header
        header.remove("EXTNAME")
        var frame = Frame(wave: wave, flux: flux.data, ivar: ivar.data, mask: mask, resolution: resolution,
                          fibermap: fibermap, chi2pix: chi2pix, header: header)
        if f.hasHDU("SCORES") {
            let scores = try f.readTable("SCORES")
            guard scores.rowCount == nspec else {
                throw DESIError.badFile(path: path, problem: "SCORES has \(scores.rowCount) rows for \(nspec) spectra")
            }
            frame.scores = scores
            for (i, c) in scores.columns.enumerated() {
                if let comment = try f.keywordComment("TTYPE\(i + 1)"), !comment.isEmpty { frame.scoreComments[c.name] = comment }
            }
        }
        return frame
    }

    /// The RESOLUTION of the frame file at `path` as the file stores it (float32 [nspec, odd ndiag, nwave], not
    /// scaled, in a plain FITS file), mapped for `write(to:storedResolution:)`: a program that does not change the
    /// resolution (cframe: desispec's procexp leaves frame.resolution_data as read) then passes its bytes through
    /// instead of converting 51 MB of a full frame twice. nil where there is no RESOLUTION or it must be read as values.
    public static func storedResolution(_ path: String) throws -> FITSMappedImage? {
        let path = try FileLayout.checkGzip(path)
        let f = try FITSFile.open(path)
        guard f.hasHDU("RESOLUTION") else { return nil }
        try f.moveTo(name: "RESOLUTION")
        guard let raw = try f.mapImage(), raw.bitpix == -32, raw.shape.count == 3 else { return nil }
        return raw
    }

    /// Checks that a stored resolution (`storedResolution`) belongs to this frame's spectra, as `read` checks the
    /// RESOLUTION it reads.
    public func checkStoredResolution(_ r: FITSMappedImage) throws {
        guard r.shape.count == 3, r.shape[0] == nspec, r.shape[2] == nwave, r.shape[1] % 2 == 1 else {
            throw DESIError.badFile(path: r.path, problem: "RESOLUTION shape \(r.shape) does not match [\(nspec), odd ndiag, \(nwave)]")
        }
    }

    /// Writes the frame atomically (temporary file, then rename). `storedResolution`, for a frame read without its
    /// resolution (`skipResolution`), is written as the RESOLUTION HDU unchanged (see `storedResolution(_:)`).
    public func write(to path: String, storedResolution: FITSMappedImage? = nil) throws {
        let shape = [nspec, nwave]
        var h = header
        for k in ["EXTNAME", "BZERO", "BSCALE"] { h.remove(k) }
        if h["BUNIT"] == nil { h.set("BUNIT", "electron/Angstrom", comment: "Flux unit") }
        // desispec's Frame.vet() (run by write_frame and read_frame) needs a FLAVOR among its frame types.
        if h["FLAVOR"] == nil { h.set("FLAVOR", Frame.flavor(fromObstype: h.string("OBSTYPE")), comment: "Exposure flavor") }
        // desispec.frame.Frame sets FIBERMIN = min(fibers): from the fibermap, else 500 * spectrograph.
        if let fm = fibermap, let first = fm.fibers.min() {
            h.set("FIBERMIN", first)
        } else if h["FIBERMIN"] == nil, let sp = camera?.spectrograph {
            h.set("FIBERMIN", 500 * sp)
        }
        h.addDependency(name: DESIProvenance.softwareName, version: DESIProvenance.version)
        if let fm = fibermap, fm.count != nspec {
            throw DESIError.mismatch("\(path): fibermap has \(fm.count) rows for \(nspec) spectra")
        }
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeImage(flux, shape: shape, name: "FLUX", header: h)
            var hi = FITSHeader(); hi.set("BUNIT", Frame.ivarUnit(forFluxUnit: h.string("BUNIT") ?? ""))
            try f.writeImage(ivar, shape: shape, name: "IVAR", header: hi)
            // uint32, uncompressed, as desispec.io.write_frame writes frame.mask (BITPIX 32, BZERO 2**31).
            try f.writeImage(mask, shape: shape, name: "MASK")
            var hw = FITSHeader(); hw.set("BUNIT", "Angstrom")
            try f.writeImage(wave, shape: [nwave], name: "WAVELENGTH", header: hw)
            if let r = resolution {
                guard r.nspec == nspec, r.nwave == nwave else {
                    throw DESIError.mismatch("\(path): resolution is [\(r.nspec), \(r.ndiag), \(r.nwave)] for \(nspec) x \(nwave) spectra")
                }
                try f.writeImage(r.data, shape: [r.nspec, r.ndiag, r.nwave], name: "RESOLUTION")
            } else if let stored = storedResolution {
                try checkStoredResolution(stored)
                try f.writeImage(mapped: stored, name: "RESOLUTION")
            }
            if let fm = fibermap { try f.writeTable(fm.table, name: "FIBERMAP") }
            if let c = chi2pix { try f.writeImage(c, shape: shape, name: "CHI2PIX") }
            // as desispec.io.write_frame: SCORES last, each column's comment on its TTYPEn card
            if let s = scores {
                guard s.rowCount == nspec else {
                    throw DESIError.mismatch("\(path): SCORES has \(s.rowCount) rows for \(nspec) spectra")
                }
                try f.writeTable(s, name: "SCORES")
                for (i, c) in s.columns.enumerated() {
                    if let comment = scoreComments[c.name] { try f.setKeywordComment("TTYPE\(i + 1)", comment) }
                }
            }
        }
    }

    /// FLAVOR from OBSTYPE, one of desispec's frame types (none, flat, arc, zero, bias, science).
    static func flavor(fromObstype obstype: String?) -> String {
        switch (obstype ?? "").lowercased() {
        case "science", "dark", "sky", "twilight": return "science"
        case "flat", "testflat": return "flat"
        case "arc", "testarc": return "arc"
        case "zero": return "zero"
        case "bias": return "bias"
        default: return "none"
        }
    }

    static func ivarUnit(forFluxUnit unit: String) -> String {
        unit.contains("erg") ? "10**+34 (s2 cm4 Angstrom2) / erg2" : "Angstrom**2/electron**2"
    }
}

/// Preproc image files in DESI's layout (desispec.io.image.read_image / write_image): IMAGE (float32, with the
/// header), IVAR (float32), MASK (int16, RICE-compressed as desispec writes it), READNOISE (float32), FIBERMAP.
extension Image {
    /// Reads a preproc file; with `readNoise` false the READNOISE HDU is not read and `readnoise` is empty (68 MB
    /// less fresh memory for a full-size camera, 8 % of the trace shifts' CPU). With `maskIntoIvar` the MASK is read
    /// a band of rows at a time, ivar set to 0 where it has a bit set, and `mask` is empty (68 MB less again).
    public static func read(_ path: String, readNoise: Bool = true, maskIntoIvar: Bool = false) throws -> Image {
        let path = try FileLayout.checkGzip(path)   // as desispec.io.util.checkgzip: x.fits or x.fits.gz
        let f = try FITSFile.open(path)
        try ProductFileChecks.uniqueHDUNames(f, path: path)
        guard f.hasHDU("IMAGE") || (try? f.imageShape().shape.count) == 2 else {
            throw DESIError.badFile(path: path, problem: "no IMAGE HDU (not a preproc file?)")
        }
        let pix = f.hasHDU("IMAGE") ? try f.readImage("IMAGE", as: Float.self) : try f.readImage(as: Float.self)
        guard pix.shape.count == 2 else { throw DESIError.badFile(path: path, problem: "IMAGE is not 2-D (shape \(pix.shape))") }
        guard f.hasHDU("IVAR") else { throw DESIError.badFile(path: path, problem: "no IVAR HDU (not a preproc file?)") }
        var ivar = try f.readImage("IVAR", as: Float.self)
        guard ivar.shape == pix.shape else {
            throw DESIError.badFile(path: path, problem: "IVAR shape \(ivar.shape) differs from IMAGE \(pix.shape)")
        }
        let mask: [UInt32]
        if maskIntoIvar {
            mask = []
            if f.hasHDU("MASK") { try foldMask(f, into: &ivar.data, shape: pix.shape, path: path) }
        } else if f.hasHDU("MASK") {
            try f.moveTo(name: "MASK")
            let shape = try f.imageShape().shape
            guard shape == pix.shape else {
                throw DESIError.badFile(path: path, problem: "MASK shape \(shape) differs from IMAGE \(pix.shape)")
            }
            // int16 on disk, read as 32-bit integers straight into the mask (no second image-sized array), of which
            // the bit pattern of the low 16 bits is kept
            mask = try [UInt32](unsafeUninitializedCapacity: pix.count) { buf, count in
                try buf.withMemoryRebound(to: Int32.self) { try f.readImageRows(0..<shape[0], into: $0) }
                for i in 0..<buf.count { buf[i] = UInt32(UInt16(truncatingIfNeeded: buf[i])) }
                count = buf.count
            }
        } else {
            mask = [UInt32](repeating: 0, count: pix.count)
        }
        var rn = [Float]()
        if readNoise && f.hasHDU("READNOISE") {
            let r = try f.readImage("READNOISE", as: Float.self)
            guard r.shape == pix.shape else {
                throw DESIError.badFile(path: path, problem: "READNOISE shape \(r.shape) differs from IMAGE")
            }
            rn = r.data
        } else if readNoise {
            rn = [Float](repeating: Float(pix.header.double("RDNOISE") ?? 0), count: pix.count)
        }
        var header = pix.header
        header.remove("EXTNAME")
        return Image(ny: pix.shape[0], nx: pix.shape[1], pix: pix.data, ivar: ivar.data, mask: mask, readnoise: rn, header: header)
    }

    /// The MASK HDU of `f` read 64 rows at a time (int16 on disk, as 32-bit integers), `ivar` set to 0 wherever a bit
    /// of its low 16 is set.
    private static func foldMask(_ f: FITSFile, into ivar: inout [Float], shape: [Int], path: String) throws {
        try f.moveTo(name: "MASK")
        let maskShape = try f.imageShape().shape
        guard maskShape == shape else {
            throw DESIError.badFile(path: path, problem: "MASK shape \(maskShape) differs from IMAGE \(shape)")
        }
        let ny = shape[0], nx = shape[1], band = 64
        var rows = [Int32](repeating: 0, count: band * nx)
        try ivar.withUnsafeMutableBufferPointer { iv in
            try rows.withUnsafeMutableBufferPointer { buf in
                for r0 in stride(from: 0, to: ny, by: band) {
                    let r1 = min(ny, r0 + band), part = UnsafeMutableBufferPointer(rebasing: buf[0..<((r1 - r0) * nx)])
                    try f.readImageRows(r0..<r1, into: part)
                    for k in 0..<part.count where UInt16(truncatingIfNeeded: part[k]) != 0 { iv[r0 * nx + k] = 0 }
                }
            }
        }
    }

    public func write(to path: String, fibermap: Fibermap? = nil) throws {
        guard readnoise.count == ny * nx else {
            throw DESIError.invalidArgument("\(path): an image read without its read noise cannot be written as a preproc file")
        }
        guard mask.count == ny * nx else {
            throw DESIError.invalidArgument("\(path): an image whose mask was folded into its ivar cannot be written as a preproc file")
        }
        let writer = PreprocFileWriter(path)
        try writer.writeImageAndIvar(pix: pix, ivar: ivar, ny: ny, nx: nx, header: header)
        try writer.finish(mask: mask, readnoise: readnoise, fibermap: fibermap)
    }
}

/// A preproc file written as its parts become final, in desispec's HDU order: IMAGE (with the header) and IVAR, then
/// MASK, READNOISE and FIBERMAP. Preprocessing knows the pixels and their inverse variances before the cosmic-ray
/// search, which only adds mask bits, so they can be written while it runs. The file appears at `path` only when
/// `finish` succeeds; an error in either step, or a writer released unfinished, leaves nothing there (nothing at all
/// is created before `writeImageAndIvar`).
public final class PreprocFileWriter: @unchecked Sendable {
    public let path: String
    private var started: AtomicFITSWrite?
    private var shape: [Int] = []

    public init(_ path: String) { self.path = path }

    private var write: AtomicFITSWrite {
        guard let started else { preconditionFailure("PreprocFileWriter: writeImageAndIvar comes first") }
        return started
    }

    public func writeImageAndIvar(pix: [Float], ivar: [Float], ny: Int, nx: Int, header: FITSHeader) throws {
        var h = header
        for k in ["EXTNAME", "BZERO", "BSCALE", "CHECKSUM", "DATASUM", "ZIMAGE", "ZCMPTYPE"] { h.remove(k) }
        guard h["CAMERA"] != nil else {
            throw DESIError.invalidArgument("\(path): the image header has no CAMERA keyword (desispec.io.read_image needs it)")
        }
        h.addDependency(name: DESIProvenance.softwareName, version: DESIProvenance.version)
        shape = [ny, nx]
        started = try AtomicFITSWrite(path)
        try write.writing { f in
            try f.writeImage(pix, shape: shape, name: "IMAGE", header: h)
            try f.writeImage(ivar, shape: shape, name: "IVAR")
        }
    }

    public func finish(mask: [UInt32], readnoise: [Float], fibermap: Fibermap? = nil) throws {
        let n = shape.reduce(1, *), nx = shape.count == 2 ? shape[1] : 0
        guard readnoise.count == n else {
            started?.abandon()
            throw DESIError.invalidArgument("\(path): READNOISE has \(readnoise.count) values, the image \(n)")
        }
        try readnoise.withUnsafeBufferPointer { rn in
            try finish(mask: mask, fibermap: fibermap) { rows, out in
                out.baseAddress!.update(from: rn.baseAddress! + rows.lowerBound * nx, count: out.count)
            }
        }
    }

    /// `finish` with the READNOISE plane given a band of rows at a time by `readnoiseRows(rows, out)` (rows.count x
    /// nx values), so that it is never held whole.
    public func finish(mask: [UInt32], fibermap: Fibermap? = nil,
                       readnoiseRows: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void) throws {
        let shape = self.shape, nx = shape[1]
        guard mask.count == shape.reduce(1, *) else {
            started?.abandon()
            throw DESIError.invalidArgument("\(path): MASK has \(mask.count) values, the image \(shape.reduce(1, *))")
        }
        try write.writing { f in
            // int16 on disk, as desispec writes it; converted a band of rows at a time, the bits of every value
            // OR-ed on the way (a value above 16 bits makes the write fail, and nothing appears at `path`)
            var bits: UInt32 = 0
            try mask.withUnsafeBufferPointer { m in
                try f.writeImage(Int16.self, shape: shape, name: "MASK", compression: .rice) { rows, out in
                    let m0 = rows.lowerBound * nx
                    var band: UInt32 = 0
                    for i in 0..<out.count { let v = m[m0 + i]; band |= v; out[i] = Int16(truncatingIfNeeded: v) }
                    bits |= band
                }
            }
            if bits > UInt32(UInt16.max), let bad = mask.firstIndex(where: { $0 > UInt32(UInt16.max) }) {
                throw DESIError.failed("\(path): mask value \(mask[bad]) at pixel \(bad) does not fit the 16-bit MASK HDU")
            }
            try f.writeImage(Float.self, shape: shape, name: "READNOISE", bandRows: 256, fill: readnoiseRows)
            if let fm = fibermap { try f.writeTable(fm.table, name: "FIBERMAP") }
        }
        try write.commit(checksum: true)
    }
}

/// Fibermap files (fibermap-EXPID.fits) and FIBERMAP HDUs.
extension Fibermap {
    public static func read(_ path: String) throws -> Fibermap {
        let path = try FileLayout.checkGzip(path)   // as desispec.io.util.checkgzip: x.fits or x.fits.gz
        let f = try FITSFile.open(path)
        guard f.hasHDU("FIBERMAP") else { throw DESIError.badFile(path: path, problem: "no FIBERMAP HDU") }
        let t = try f.readTable("FIBERMAP")
        guard t.hasColumn("FIBER") else { throw DESIError.badFile(path: path, problem: "FIBERMAP has no FIBER column") }
        let fibermap = Fibermap(table: t)
        try fibermap.checkColumns(path: path)
        return fibermap
    }

    public func write(to path: String, header: FITSHeader = FITSHeader()) throws {
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeEmptyHDU(header: header)
            var t = table
            t.header.merge(header)
            t.header.addDependency(name: DESIProvenance.softwareName, version: DESIProvenance.version)
            try f.writeTable(t, name: "FIBERMAP")
        }
    }

    /// The rows of the fibers in [first, first + count), in fiber order (e.g. one spectrograph's 500 fibers).
    public func rows(fibers range: Range<Int>) -> Fibermap {
        let f = fibers
        return selecting(rows: f.indices.filter { range.contains(f[$0]) }.sorted { f[$0] < f[$1] })
    }
}
