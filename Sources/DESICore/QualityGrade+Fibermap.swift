import FITS

/// The quality grade in a FIBERMAP: QUALITY_GRADE (int16, 0-5) and QUALITY_REASONS (string, comma-separated codes),
/// in frames, cframes and spectra; coadds add QUALITY_NGRADE (int16[6], the number of exposures per grade).
public enum QualityColumns {
    public static let grade = "QUALITY_GRADE"
    public static let reasons = "QUALITY_REASONS"
    public static let gradeCounts = "QUALITY_NGRADE"
    /// The width of QUALITY_REASONS when written (wider when a row needs it).
    static let reasonsWidth = 32

    /// The assessments of a table's rows, nil when it has no QUALITY_GRADE column.
    public static func read(_ table: FITSTable) -> [FiberQuality]? {
        guard let grades = table[grade]?.data.ints else { return nil }
        var texts = [String](repeating: "", count: grades.count)
        if case .string(let s)? = table[reasons]?.data, s.count == grades.count { texts = s }
        return zip(grades, texts).map { g, text in
            FiberQuality(grade: QualityGrade(rawValue: Int16(clamping: g)) ?? .upstreamFailure, reasons: FiberQuality.codes(text))
        }
    }

    /// Sets (replaces) the two columns.
    public static func write(_ q: [FiberQuality], to table: inout FITSTable) {
        precondition(q.count == table.rowCount, "one quality assessment per fibermap row")
        table[grade] = FITSColumn(grade, .int16(q.map(\.grade.rawValue)))
        table[reasons] = FITSColumn(reasons, .string(q.map(\.reasonsText)), stringWidth: reasonsWidth)
    }

    /// Number of rows per grade, [6].
    public static func counts(_ q: [FiberQuality]) -> [Int] {
        var n = [Int](repeating: 0, count: QualityGrade.allCases.count)
        for x in q { n[Int(x.grade.rawValue)] += 1 }
        return n
    }

    /// The grade of a coadded target from its exposures' grades: the worst usable grade (0-2) when one exposure at
    /// least is usable, else the best of the unusable ones; reasons of the exposures that set it.
    public static func coadded(_ exposures: [FiberQuality]) -> FiberQuality {
        let usable = exposures.filter { $0.grade.isUsable }
        guard !usable.isEmpty else {
            guard let best = exposures.map(\.grade).min() else { return FiberQuality() }
            return exposures.filter { $0.grade == best }.reduce(FiberQuality(grade: best)) { $0.merged(with: $1) }
        }
        return usable.reduce(FiberQuality()) { $0.merged(with: $1) }
    }
}

extension Frame {
    /// The assessments the frame's FIBERMAP carries, nil without FIBERMAP or QUALITY_GRADE.
    public var quality: [FiberQuality]? { fibermap.flatMap { QualityColumns.read($0.table) } }

    /// Adds a stage's assessments to those the FIBERMAP already carries (the worst grade, reasons united) and writes
    /// them as QUALITY_GRADE / QUALITY_REASONS. A frame without FIBERMAP gets one with FIBER only.
    public mutating func addQuality(_ q: [FiberQuality]) {
        precondition(q.count == nspec, "one quality assessment per spectrum")
        var table = fibermap?.table ?? FITSTable(columns: [FITSColumn("FIBER", .int32((0..<nspec).map(Int32.init)))])
        let before = QualityColumns.read(table) ?? [FiberQuality](repeating: FiberQuality(), count: nspec)
        QualityColumns.write(zip(before, q).map { $0.merged(with: $1) }, to: &table)
        fibermap = Fibermap(table: table)
    }
}
