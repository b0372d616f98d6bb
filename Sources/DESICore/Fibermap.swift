import FITS

/// The fibermap: one row per fiber (FIBER, TARGETID, OBJTYPE, FIBER_X/Y, photometry, ...), kept as the full
/// table so that every column of a DESI fibermap survives a read and a write, with typed accessors for the
/// columns the pipeline uses.
public struct Fibermap: Sendable {
    public var table: FITSTable

    public init(table: FITSTable) { self.table = table }

    public var count: Int { table.rowCount }
    public var fibers: [Int] { table["FIBER"]?.data.ints ?? Array(0..<count) }
    public var targetIDs: [Int64] { (table["TARGETID"]?.data.ints ?? []).map(Int64.init) }
    public var objtypes: [String] {
        if case .string(let s)? = table["OBJTYPE"]?.data { return s }
        return [String](repeating: "", count: count)
    }
    public var fiberX: [Double] { table["FIBER_X"]?.data.doubles ?? [Double](repeating: 0, count: count) }
    public var fiberY: [Double] { table["FIBER_Y"]?.data.doubles ?? [Double](repeating: 0, count: count) }
    public var fiberStatus: [UInt32] { (table["FIBERSTATUS"]?.data.ints ?? [Int](repeating: 0, count: count)).map { UInt32(truncatingIfNeeded: $0) } }

    /// Indices of the rows whose OBJTYPE is `type` (e.g. "SKY").
    public func rows(objtype type: String) -> [Int] {
        objtypes.enumerated().filter { $0.element.trimmingCharacters(in: .whitespaces).uppercased() == type }.map(\.offset)
    }

    /// The fibermap restricted to the given row indices, in that order.
    public func selecting(rows: [Int]) -> Fibermap {
        var t = table
        t.columns = table.columns.map { col in
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
        return Fibermap(table: t)
    }
}
