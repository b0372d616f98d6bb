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
    public var fiberStatus: [UInt32] {
        (table["FIBERSTATUS"]?.data.ints ?? [Int](repeating: 0, count: count)).map { UInt32(truncatingIfNeeded: $0) }
    }

    /// Indices of the rows whose OBJTYPE is `type` (e.g. "SKY").
    public func rows(objtype type: String) -> [Int] {
        objtypes.enumerated().filter { $0.element.trimmingCharacters(in: .whitespaces).uppercased() == type }.map(\.offset)
    }

    /// The fibermap restricted to the given row indices, in that order.
    public func selecting(rows: [Int]) -> Fibermap { Fibermap(table: table.selectingRows(rows)) }
}
