/// The values of one binary-table column, all rows concatenated (row-major for vector columns).
public enum FITSColumnData: Sendable, Equatable {
    case bool([Bool])
    case uint8([UInt8])
    case int16([Int16])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    /// One string per row.
    case string([String])

    public var count: Int {
        switch self {
        case .bool(let a): return a.count
        case .uint8(let a): return a.count
        case .int16(let a): return a.count
        case .int32(let a): return a.count
        case .int64(let a): return a.count
        case .float(let a): return a.count
        case .double(let a): return a.count
        case .string(let a): return a.count
        }
    }

    /// Numeric values as Double (nil for strings).
    public var doubles: [Double]? {
        switch self {
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        case .uint8(let a): return a.map(Double.init)
        case .int16(let a): return a.map(Double.init)
        case .int32(let a): return a.map(Double.init)
        case .int64(let a): return a.map(Double.init)
        case .float(let a): return a.map(Double.init)
        case .double(let a): return a
        case .string: return nil
        }
    }

    /// Integer values (nil for strings and floating point).
    public var ints: [Int]? {
        switch self {
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        case .uint8(let a): return a.map(Int.init)
        case .int16(let a): return a.map(Int.init)
        case .int32(let a): return a.map(Int.init)
        case .int64(let a): return a.map(Int.init)
        default: return nil
        }
    }
}

/// One column of a binary table.
public struct FITSColumn: Sendable, Equatable {
    public var name: String
    public var data: FITSColumnData
    /// Shape of one cell in numpy order ([] for a scalar column; [n] for a vector; [a, b] with TDIM).
    public var cellShape: [Int]
    public var unit: String
    /// Width of a string column (0: the longest string).
    public var stringWidth: Int

    public init(_ name: String, _ data: FITSColumnData, cellShape: [Int] = [], unit: String = "", stringWidth: Int = 0) {
        self.name = name; self.data = data; self.cellShape = cellShape; self.unit = unit; self.stringWidth = stringWidth
    }

    public var valuesPerRow: Int {
        if case .string = data { return 1 }
        return cellShape.reduce(1, *)
    }
    public var rowCount: Int { data.count / max(1, valuesPerRow) }
}

/// A binary table: named columns of equal row count, with the HDU's header.
public struct FITSTable: Sendable {
    public var columns: [FITSColumn]
    public var header: FITSHeader

    public init(columns: [FITSColumn] = [], header: FITSHeader = FITSHeader()) {
        self.columns = columns; self.header = header
    }

    public var rowCount: Int { columns.first?.rowCount ?? 0 }
    public var columnNames: [String] { columns.map(\.name) }

    public subscript(name: String) -> FITSColumn? {
        get { columns.first { $0.name.uppercased() == name.uppercased() } }
        set {
            if let i = columns.firstIndex(where: { $0.name.uppercased() == name.uppercased() }) {
                if let newValue { columns[i] = newValue } else { columns.remove(at: i) }
            } else if let newValue {
                columns.append(newValue)
            }
        }
    }

    public func hasColumn(_ name: String) -> Bool { self[name] != nil }
}
