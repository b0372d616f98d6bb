import FITS

/// The data of one band (camera arm "b", "r", "z", or a camera coadd "brz") of a `Spectra`:
/// flux, ivar and mask [nspec, nwave] row-major on one wavelength grid, and optional resolution matrices.
public struct SpectraBand: Sendable {
    public var wave: [Double]
    public var flux: [Float]
    public var ivar: [Float]
    /// Bits of `SpecMask` (written as int32, as desispec.io.write_spectra does).
    public var mask: [UInt32]?
    public var resolution: ResolutionData?

    public init(wave: [Double], flux: [Float], ivar: [Float], mask: [UInt32]? = nil, resolution: ResolutionData? = nil) {
        precondition(!wave.isEmpty && flux.count % wave.count == 0, "flux size must be a multiple of the number of wavelengths")
        precondition(ivar.count == flux.count, "flux and ivar must have the same size")
        precondition(mask == nil || mask!.count == flux.count, "mask must have the size of flux")
        precondition(resolution == nil || (resolution!.nwave == wave.count && resolution!.nspec == flux.count / wave.count),
                     "resolution must be [nspec, ndiag, nwave]")
        self.wave = wave; self.flux = flux; self.ivar = ivar; self.mask = mask; self.resolution = resolution
    }

    public var nwave: Int { wave.count }
    public var nspec: Int { flux.count / wave.count }

    /// Rows `rows` of this band, in that order.
    public func selecting(rows: [Int]) -> SpectraBand {
        let nw = nwave
        // every row in order (a tile's frames): the same band, its arrays shared, not copied
        if rows.count == flux.count / max(1, nw) && rows.enumerated().allSatisfy({ $0.offset == $0.element }) { return self }
        func pick<T>(_ a: [T]) -> [T] {
            var out = [T](); out.reserveCapacity(rows.count * nw)
            for r in rows { out.append(contentsOf: a[(r * nw)..<((r + 1) * nw)]) }
            return out
        }
        var res: ResolutionData? = nil
        if let r = resolution {
            let per = r.ndiag * nw
            var d = [Float](); d.reserveCapacity(rows.count * per)
            for i in rows { d.append(contentsOf: r.data[(i * per)..<((i + 1) * per)]) }
            res = ResolutionData(nspec: rows.count, ndiag: r.ndiag, nwave: nw, data: d)
        }
        return SpectraBand(wave: wave, flux: pick(flux), ivar: pick(ivar), mask: mask.map(pick), resolution: res)
    }
}

/// Spectra of many targets and exposures, grouped by band (desispec.spectra.Spectra): one row of every band per
/// FIBERMAP row; for coadds one row per target, with EXP_FIBERMAP listing the exposures that went in.
public struct Spectra: Sendable {
    /// Band names in file order ("b", "r", "z" or "brz").
    public var bands: [String]
    public var data: [String: SpectraBand]
    public var fibermap: FITSTable
    public var expFibermap: FITSTable?
    public var scores: FITSTable?
    /// Metadata of the primary HDU.
    public var header: FITSHeader

    public init(bands: [String], data: [String: SpectraBand], fibermap: FITSTable, expFibermap: FITSTable? = nil,
                scores: FITSTable? = nil, header: FITSHeader = FITSHeader()) throws {
        for b in bands {
            guard let d = data[b] else { throw DESIError.invalidArgument("spectra: no data for band \(b)") }
            guard d.nspec == fibermap.rowCount else {
                throw DESIError.mismatch("spectra: band \(b) has \(d.nspec) spectra but the fibermap has \(fibermap.rowCount) rows")
            }
        }
        self.bands = bands; self.data = data; self.fibermap = fibermap; self.expFibermap = expFibermap
        self.scores = scores; self.header = header
    }

    public var numSpectra: Int { fibermap.rowCount }

    public subscript(band: String) -> SpectraBand? { data[band] }

    /// TARGETID of each row.
    public var targetIDRows: [Int64] { (fibermap["TARGETID"]?.data.ints ?? []).map(Int64.init) }

    /// Distinct TARGETIDs in order of first appearance (desispec Spectra.target_ids()).
    public var targetIDs: [Int64] {
        var seen = Set<Int64>(); var out = [Int64]()
        for t in targetIDRows where seen.insert(t).inserted { out.append(t) }
        return out
    }
}

extension FITSTable {
    /// The table restricted to the given rows, in that order.
    public func selectingRows(_ rows: [Int]) -> FITSTable {
        var t = self
        t.columns = columns.map { col in
            var c = col
            let per = col.valuesPerRow
            func pick<T>(_ a: [T]) -> [T] { rows.flatMap { r in a[(r * per)..<((r + 1) * per)] } }
            switch col.data {
            case .bool(let a): c.data = .bool(pick(a))
            case .uint8(let a): c.data = .uint8(pick(a))
            case .int16(let a): c.data = .int16(pick(a))
            case .int32(let a): c.data = .int32(pick(a))
            case .int64(let a): c.data = .int64(pick(a))
            case .float(let a): c.data = .float(pick(a))
            case .double(let a): c.data = .double(pick(a))
            case .string(let a): c.data = .string(rows.map { a[$0] })
            }
            return c
        }
        return t
    }

    /// Rows of `tables` one after the other, on the columns common to all (desispec stacks fibermaps with
    /// different columns on their intersection). Column order follows the first table.
    public static func vstack(_ tables: [FITSTable]) -> FITSTable {
        guard let first = tables.first else { return FITSTable() }
        if tables.count == 1 { return first }
        var cols: [FITSColumn] = []
        for col in first.columns {
            let parts = tables.compactMap { $0[col.name] }
            guard parts.count == tables.count, parts.allSatisfy({ $0.cellShape == col.cellShape }) else { continue }
            var c = col
            if let joined = FITSColumnData.concatenate(parts.map(\.data)) {
                c.data = joined
                c.stringWidth = parts.map(\.stringWidth).max() ?? 0
                cols.append(c)
            }
        }
        return FITSTable(columns: cols, header: first.header)
    }
}

extension FITSColumnData {
    /// Concatenation of columns; integer and float kinds are widened to a common type, nil if incompatible.
    public static func concatenate(_ parts: [FITSColumnData]) -> FITSColumnData? {
        guard let first = parts.first else { return nil }
        func all<T>(_ get: (FITSColumnData) -> [T]?) -> [T]? {
            var out = [T]()
            for p in parts { guard let a = get(p) else { return nil }; out.append(contentsOf: a) }
            return out
        }
        switch first {
        case .bool: return all { if case .bool(let a) = $0 { return a } else { return nil } }.map { .bool($0) }
        case .string: return all { if case .string(let a) = $0 { return a } else { return nil } }.map { .string($0) }
        case .float, .double:
            if parts.allSatisfy({ if case .float = $0 { return true } else { return false } }) {
                return all { if case .float(let a) = $0 { return a } else { return nil } }.map { .float($0) }
            }
            return all { $0.doubles }.map { .double($0) }
        case .uint8, .int16, .int32, .int64:
            if parts.allSatisfy({ $0.sameKind(as: first) }) {
                switch first {
                case .uint8: return all { if case .uint8(let a) = $0 { return a } else { return nil } }.map { .uint8($0) }
                case .int16: return all { if case .int16(let a) = $0 { return a } else { return nil } }.map { .int16($0) }
                case .int32: return all { if case .int32(let a) = $0 { return a } else { return nil } }.map { .int32($0) }
                default: break
                }
            }
            return all { $0.ints }.map { .int64($0.map(Int64.init)) }
        }
    }

    func sameKind(as other: FITSColumnData) -> Bool {
        switch (self, other) {
        case (.bool, .bool), (.uint8, .uint8), (.int16, .int16), (.int32, .int32), (.int64, .int64),
             (.float, .float), (.double, .double), (.string, .string): return true
        default: return false
        }
    }
}
