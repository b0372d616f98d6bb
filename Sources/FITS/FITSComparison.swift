import Foundation

/// Compares two FITS files HDU by HDU (images and tables) within tolerances: for debugging a change or comparing
/// with desispec's output of the same step (`desispec diff`).
public struct FITSComparison: Sendable {
    /// Absolute tolerance.
    public var atol: Double
    /// Relative tolerance, of the larger magnitude of the two values.
    public var rtol: Double

    public init(atol: Double = 0, rtol: Double = 0) {
        self.atol = atol
        self.rtol = rtol
    }

    /// Compares the HDUs `hdus` (default: every named HDU of `first`) of two files: image shapes and values, table
    /// row counts, column names and values. `report` receives one line per difference or per compared array.
    /// Returns true when some HDU differs beyond the tolerances.
    public func compare(_ first: String, _ second: String, hdus: [String] = [], report: (String) -> Void) throws -> Bool {
        let a = try FITSFile.open(first), b = try FITSFile.open(second)
        var differ = false
        for name in hdus.isEmpty ? a.hduNames().filter({ !$0.isEmpty }) : hdus {
            guard a.hasHDU(name) || name == "PRIMARY" else { report("\(name): only in \(second)"); differ = true; continue }
            guard b.hasHDU(name) || name == "PRIMARY" else { report("\(name): only in \(first)"); differ = true; continue }
            if name == "PRIMARY" {
                try a.moveTo(index: 0); try b.moveTo(index: 0)
            } else {
                try a.moveTo(name: name); try b.moveTo(name: name)
            }
            switch (a.currentHDUType, b.currentHDUType) {
            case (.image, .image):
                differ = try compareImages(name, a, b, report: report) || differ
            case (.binaryTable, .binaryTable), (.asciiTable, .asciiTable):
                differ = try compareTables(name, a, b, names: (first, second), report: report) || differ
            default:
                report("\(name): an image in one file, a table in the other"); differ = true
            }
        }
        return differ
    }

    /// The current image HDUs of two files; an HDU without data (a primary header) has no shape.
    private func compareImages(_ name: String, _ a: FITSFile, _ b: FITSFile, report: (String) -> Void) throws -> Bool {
        let sa = (try? a.imageShape().shape) ?? [], sb = (try? b.imageShape().shape) ?? []
        func empty(_ s: [Int]) -> Bool { s.isEmpty || s.reduce(1, *) == 0 }
        if empty(sa) && empty(sb) { return false }
        guard sa == sb else { report("\(name): shapes differ \(sa) vs \(sb)"); return true }
        let x = try a.readImage(as: Double.self).data, y = try b.readImage(as: Double.self).data
        return compareValues(name, x, y, report: report)
    }

    /// The current table HDUs of two files: rows, columns present in one only, values of the common columns.
    private func compareTables(_ name: String, _ a: FITSFile, _ b: FITSFile, names: (String, String),
                               report: (String) -> Void) throws -> Bool {
        let ta = try a.readTable(), tb = try b.readTable()
        if ta.rowCount != tb.rowCount { report("\(name): \(ta.rowCount) vs \(tb.rowCount) rows"); return true }
        var differ = false
        let onlyA = Set(ta.columnNames).subtracting(tb.columnNames), onlyB = Set(tb.columnNames).subtracting(ta.columnNames)
        if !onlyA.isEmpty { report("\(name): columns only in \(names.0): \(onlyA.sorted().joined(separator: " "))"); differ = true }
        if !onlyB.isEmpty { report("\(name): columns only in \(names.1): \(onlyB.sorted().joined(separator: " "))"); differ = true }
        for col in ta.columns {
            guard let other = tb[col.name] else { continue }
            if let x = col.data.doubles, let y = other.data.doubles, x.count == y.count {
                differ = compareValues("\(name).\(col.name)", x, y, report: report) || differ
            } else if col.data != other.data {
                report("\(name).\(col.name): values differ"); differ = true
            }
        }
        return differ
    }

    /// Reports the largest and rms differences of two arrays (NaN pairs skipped, a NaN facing a number counted);
    /// returns true when they differ beyond the tolerances.
    public func compareValues(_ label: String, _ x: [Double], _ y: [Double], report: (String) -> Void) -> Bool {
        var maxDiff = 0.0, sum2 = 0.0, n = 0, bad = 0, nanMismatch = 0
        for (u, v) in zip(x, y) {
            if u.isNaN || v.isNaN { if u.isNaN != v.isNaN { nanMismatch += 1 }; continue }
            let d = abs(u - v)
            maxDiff = max(maxDiff, d); sum2 += d * d; n += 1
            if d > atol + rtol * max(abs(u), abs(v)) { bad += 1 }
        }
        let rms = n > 0 ? (sum2 / Double(n)).squareRoot() : 0
        let differs = bad > 0 || nanMismatch > 0
        report("\(label): \(differs ? "DIFFERS" : "same") max|diff| \(String(format: "%.4g", maxDiff)) rms \(String(format: "%.4g", rms))"
               + (bad > 0 ? ", \(bad) of \(x.count) beyond tolerance" : "") + (nanMismatch > 0 ? ", \(nanMismatch) NaN mismatches" : ""))
        return differs
    }
}
