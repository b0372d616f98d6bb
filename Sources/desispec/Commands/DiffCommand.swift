import ArgumentParser
import FITS
import Foundation

/// `desispec diff A B`: compares two FITS files HDU by HDU (images and tables), for debugging a change or comparing
/// with desispec's output of the same step.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two FITS files HDU by HDU: shapes, largest and rms differences, columns.",
        discussion: """
        Example: desispec diff frame-r0-00000003.fits ref/frame-r0-00000003.fits --hdu FLUX --rtol 1e-5
        Exit code 0 when every compared HDU agrees within the tolerances, 3 when some differ, 1 on error.
        """
    )

    @Argument(help: "First file.") var first: String
    @Argument(help: "Second file.") var second: String
    @Option(name: .long, help: "Compare only this HDU (repeatable).") var hdu: [String] = []
    @Option(name: .long, help: "Absolute tolerance.") var atol: Double = 0
    @Option(name: .long, help: "Relative tolerance (of the larger magnitude).") var rtol: Double = 0

    func run() throws {
        var differ = false
        try runStep {
            let a = try FITSFile.open(first), b = try FITSFile.open(second)
            let namesA = a.hduNames(), namesB = b.hduNames()
            let wanted = hdu.isEmpty ? namesA.filter { !$0.isEmpty } : hdu
            for name in wanted {
                guard a.hasHDU(name) || name == "PRIMARY" else { print("\(name): only in \(second)"); differ = true; continue }
                guard b.hasHDU(name) || name == "PRIMARY" else { print("\(name): only in \(first)"); differ = true; continue }
                if name == "PRIMARY" { try a.moveTo(index: 0); try b.moveTo(index: 0) } else { try a.moveTo(name: name); try b.moveTo(name: name) }
                switch (a.currentHDUType, b.currentHDUType) {
                case (.image, .image):
                    // an HDU without data (a primary header) has no shape
                    let sa = (try? a.imageShape().shape) ?? [], sb = (try? b.imageShape().shape) ?? []
                    func empty(_ s: [Int]) -> Bool { s.isEmpty || s.reduce(1, *) == 0 }
                    if empty(sa) && empty(sb) { continue }
                    guard sa == sb else { print("\(name): shapes differ \(sa) vs \(sb)"); differ = true; continue }
                    let x = try a.readImage(as: Double.self).data, y = try b.readImage(as: Double.self).data
                    differ = report(name, x, y) || differ
                case (.binaryTable, .binaryTable), (.asciiTable, .asciiTable):
                    let ta = try a.readTable(), tb = try b.readTable()
                    if ta.rowCount != tb.rowCount { print("\(name): \(ta.rowCount) vs \(tb.rowCount) rows"); differ = true; continue }
                    let onlyA = Set(ta.columnNames).subtracting(tb.columnNames), onlyB = Set(tb.columnNames).subtracting(ta.columnNames)
                    if !onlyA.isEmpty { print("\(name): columns only in \(first): \(onlyA.sorted().joined(separator: " "))"); differ = true }
                    if !onlyB.isEmpty { print("\(name): columns only in \(second): \(onlyB.sorted().joined(separator: " "))"); differ = true }
                    for col in ta.columns {
                        guard let other = tb[col.name] else { continue }
                        if let x = col.data.doubles, let y = other.data.doubles, x.count == y.count {
                            differ = report("\(name).\(col.name)", x, y) || differ
                        } else if col.data != other.data {
                            print("\(name).\(col.name): values differ"); differ = true
                        }
                    }
                default:
                    print("\(name): an image in one file, a table in the other"); differ = true
                }
            }
            _ = namesB
        }
        if differ { throw ExitCode(3) }
    }

    /// Prints the comparison of two arrays; returns true when they differ beyond the tolerances.
    func report(_ label: String, _ x: [Double], _ y: [Double]) -> Bool {
        var maxDiff = 0.0, sum2 = 0.0, n = 0, bad = 0, nanMismatch = 0
        for (u, v) in zip(x, y) {
            if u.isNaN || v.isNaN { if u.isNaN != v.isNaN { nanMismatch += 1 }; continue }
            let d = abs(u - v)
            maxDiff = max(maxDiff, d); sum2 += d * d; n += 1
            if d > atol + rtol * max(abs(u), abs(v)) { bad += 1 }
        }
        let rms = n > 0 ? (sum2 / Double(n)).squareRoot() : 0
        let differs = bad > 0 || nanMismatch > 0
        print("\(label): \(differs ? "DIFFERS" : "same") max|diff| \(String(format: "%.4g", maxDiff)) rms \(String(format: "%.4g", rms))"
              + (bad > 0 ? ", \(bad) of \(x.count) beyond tolerance" : "") + (nanMismatch > 0 ? ", \(nanMismatch) NaN mismatches" : ""))
        return differs
    }
}
