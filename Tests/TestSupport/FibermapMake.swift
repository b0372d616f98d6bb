import DESICore
import FITS
import Foundation
import Simulation

// Test helper: fibermaps with every main-survey column, as desispec's empty_fibermap makes them.

/// Kind of a fibermap column: FITS type and, for strings, the width.
public enum FibermapColumnKind: Sendable, Equatable {
    case bool, uint8, int16, int32, int64, float, double
    case string(Int)
}

extension Fibermap {
    /// Columns of a main-survey fibermap, in order, with their types and units
    /// (desispec.io.fibermap.fibermap_columns, rows marked 'empty', as empty_fibermap(survey='main') makes them).
    public static let mainSurveyColumns: [(name: String, kind: FibermapColumnKind, unit: String)] = [
        ("TARGETID", .int64, ""), ("PETAL_LOC", .int16, ""), ("DEVICE_LOC", .int32, ""), ("LOCATION", .int64, ""),
        ("FIBER", .int32, ""), ("FIBERSTATUS", .int32, ""), ("TARGET_RA", .double, "deg"), ("TARGET_DEC", .double, "deg"),
        ("DESINAME", .string(22), ""), ("PMRA", .float, "mas yr-1"), ("PMDEC", .float, "mas yr-1"), ("REF_EPOCH", .float, "yr"),
        ("LAMBDA_REF", .float, "Angstrom"), ("FA_TARGET", .int64, ""), ("FA_TYPE", .uint8, ""), ("OBJTYPE", .string(3), ""),
        ("FIBERASSIGN_X", .float, "mm"), ("FIBERASSIGN_Y", .float, "mm"), ("PRIORITY", .int32, ""), ("SUBPRIORITY", .double, ""),
        ("OBSCONDITIONS", .int32, ""), ("RELEASE", .int16, ""), ("BRICKNAME", .string(8), ""), ("BRICKID", .int32, ""),
        ("BRICK_OBJID", .int32, ""), ("MORPHTYPE", .string(4), ""), ("EBV", .float, "mag"),
        ("FLUX_G", .float, "nanomaggy"), ("FLUX_R", .float, "nanomaggy"), ("FLUX_Z", .float, "nanomaggy"),
        ("FLUX_W1", .float, "nanomaggy"), ("FLUX_W2", .float, "nanomaggy"),
        ("FLUX_IVAR_G", .float, "nanomaggy^-2"), ("FLUX_IVAR_R", .float, "nanomaggy^-2"), ("FLUX_IVAR_Z", .float, "nanomaggy^-2"),
        ("FLUX_IVAR_W1", .float, "nanomaggy^-2"), ("FLUX_IVAR_W2", .float, "nanomaggy^-2"),
        ("FIBERFLUX_G", .float, "nanomaggy"), ("FIBERFLUX_R", .float, "nanomaggy"), ("FIBERFLUX_Z", .float, "nanomaggy"),
        ("FIBERTOTFLUX_G", .float, "nanomaggy"), ("FIBERTOTFLUX_R", .float, "nanomaggy"), ("FIBERTOTFLUX_Z", .float, "nanomaggy"),
        ("MASKBITS", .int16, ""), ("SERSIC", .float, ""), ("SHAPE_R", .float, "arcsec"), ("SHAPE_E1", .float, ""),
        ("SHAPE_E2", .float, ""), ("REF_ID", .int64, ""), ("REF_CAT", .string(2), ""),
        ("GAIA_PHOT_G_MEAN_MAG", .float, "mag"), ("GAIA_PHOT_BP_MEAN_MAG", .float, "mag"), ("GAIA_PHOT_RP_MEAN_MAG", .float, "mag"),
        ("PARALLAX", .float, "mas"), ("PHOTSYS", .string(1), ""), ("PRIORITY_INIT", .int64, ""), ("NUMOBS_INIT", .int64, ""),
        ("DESI_TARGET", .int64, ""), ("BGS_TARGET", .int64, ""), ("MWS_TARGET", .int64, ""), ("SCND_TARGET", .int64, ""),
        ("PLATE_RA", .double, "deg"), ("PLATE_DEC", .double, "deg"), ("NUM_ITER", .int64, ""),
        ("FIBER_X", .double, "mm"), ("FIBER_Y", .double, "mm"), ("DELTA_X", .double, "mm"), ("DELTA_Y", .double, "mm"),
        ("FIBER_RA", .double, "deg"), ("FIBER_DEC", .double, "deg"), ("EXPTIME", .double, "s"),
    ]

    /// Degrees on the sky per mm on DESI's focal plane (about 70 micron per arcsec at the centre).
    public static let degreesPerMillimetre = 1.0 / (70.0 * 3.6)

    /// A DESI-style fibermap for `nspec` fibers starting at fiber `firstFiber`, with every main-survey column
    /// (desispec.io.fibermap.empty_fibermap(nspec, specmin, survey)) and the same filled values: FIBER,
    /// LAMBDA_REF = 5400, NUM_ITER = 2, EBV = 0.001, PHOTSYS = "S", header SURVEY. OBJTYPE is "TGT".
    ///
    /// empty_fibermap takes LOCATION, PETAL_LOC, DEVICE_LOC and FIBERASSIGN_X/Y from desimodel's focal-plane
    /// table, which we do not carry. Here PETAL_LOC = FIBER / 500, DEVICE_LOC = FIBER % 500, LOCATION =
    /// 1000 PETAL_LOC + DEVICE_LOC, and positions are the simulator's focal plane
    /// (`TargetSimulator.focalPlanePosition`: each petal's 36 degree wedge; FIBERASSIGN_X/Y = FIBER_X/Y,
    /// DELTA_X/Y = 0). TARGETID = FIBER (unique; DESI leaves
    /// it to fiberassign); TARGET_RA/DEC, PLATE_RA/DEC and FIBER_RA/DEC are the tile centre offset by the
    /// focal-plane position.
    public static func make(nspec: Int, firstFiber: Int = 0, survey: String = "main",
                            tileRA: Double = 0, tileDec: Double = 0) -> Fibermap {
        precondition(nspec >= 0 && firstFiber >= 0 && firstFiber + nspec <= 5000, "fibers must lie in 0..<5000")
        let fibers = Array(firstFiber..<(firstFiber + nspec))
        let positions = fibers.map { TargetSimulator.focalPlanePosition(petal: $0 / 500, fiber: $0 % 500) }
        let cosDec = max(cos(tileDec * .pi / 180), 1e-6)
        let ra = positions.map { p in (tileRA + p.x * degreesPerMillimetre / cosDec).truncatingRemainder(dividingBy: 360) }
        let dec = positions.map { p in tileDec + p.y * degreesPerMillimetre }

        var columns: [FITSColumn] = []
        for spec in mainSurveyColumns {
            var col = FITSColumn(spec.name, emptyData(spec.kind, count: nspec), unit: spec.unit)
            if case .string(let w) = spec.kind { col.stringWidth = w }
            switch spec.name {
            case "FIBER": col.data = .int32(fibers.map { Int32($0) })
            case "TARGETID": col.data = .int64(fibers.map { Int64($0) })
            case "PETAL_LOC": col.data = .int16(fibers.map { Int16($0 / 500) })
            case "DEVICE_LOC": col.data = .int32(fibers.map { Int32($0 % 500) })
            case "LOCATION": col.data = .int64(fibers.map { Int64(($0 / 500) * 1000 + $0 % 500) })
            case "LAMBDA_REF": col.data = .float([Float](repeating: 5400, count: nspec))
            case "NUM_ITER": col.data = .int64([Int64](repeating: 2, count: nspec))
            case "EBV": col.data = .float([Float](repeating: 0.001, count: nspec))
            case "PHOTSYS": col.data = .string([String](repeating: "S", count: nspec))
            case "OBJTYPE": col.data = .string([String](repeating: "TGT", count: nspec))
            case "FIBERASSIGN_X": col.data = .float(positions.map { Float($0.x) })
            case "FIBERASSIGN_Y": col.data = .float(positions.map { Float($0.y) })
            case "FIBER_X": col.data = .double(positions.map(\.x))
            case "FIBER_Y": col.data = .double(positions.map(\.y))
            case "TARGET_RA", "PLATE_RA", "FIBER_RA": col.data = .double(ra)
            case "TARGET_DEC", "PLATE_DEC", "FIBER_DEC": col.data = .double(dec)
            default: break
            }
            columns.append(col)
        }
        var header = FITSHeader()
        header.set("SURVEY", survey)
        return Fibermap(table: FITSTable(columns: columns, header: header))
    }

    static func emptyData(_ kind: FibermapColumnKind, count n: Int) -> FITSColumnData {
        switch kind {
        case .bool: return .bool([Bool](repeating: false, count: n))
        case .uint8: return .uint8([UInt8](repeating: 0, count: n))
        case .int16: return .int16([Int16](repeating: 0, count: n))
        case .int32: return .int32([Int32](repeating: 0, count: n))
        case .int64: return .int64([Int64](repeating: 0, count: n))
        case .float: return .float([Float](repeating: 0, count: n))
        case .double: return .double([Double](repeating: 0, count: n))
        case .string: return .string([String](repeating: "", count: n))
        }
    }

    /// Replaces the values of column `name` (keeping its unit and string width), or appends a new column.
    /// Throws when the row count differs from the fibermap's.
    public mutating func setColumn(_ name: String, _ data: FITSColumnData, unit: String? = nil) throws {
        let per = table[name]?.valuesPerRow ?? 1
        guard data.count == count * per || table.columns.isEmpty else {
            throw DESIError.mismatch("fibermap column \(name): \(data.count) values for \(count) rows")
        }
        if var col = table[name] {
            col.data = data
            if let unit { col.unit = unit }
            table[name] = col
        } else {
            table.columns.append(FITSColumn(name, data, unit: unit ?? ""))
        }
    }

    /// Sets OBJTYPE of the given rows (e.g. "SKY" for sky fibers).
    public mutating func setObjtype(_ type: String, rows: [Int]) throws {
        var t = objtypes
        for r in rows {
            guard r >= 0 && r < count else { throw DESIError.invalidArgument("fibermap row \(r) out of 0..<\(count)") }
            t[r] = type
        }
        try setColumn("OBJTYPE", .string(t))
    }
}
