import FITS

/// Consistency checks that the readers of DESI products make on a file before using it: a damaged file (edited
/// by hand, half-copied, or fuzzed) is answered with an error that names the HDU at fault, never a trap.
enum ProductFileChecks {
    /// Every EXTNAME once: with two HDUs of one name a reader would silently take the first.
    static func uniqueHDUNames(_ f: FITSFile, path: String) throws {
        var seen: [String: Int] = [:]
        for (i, name) in f.hduNames().enumerated() where !name.isEmpty {
            let key = name.uppercased()
            if let first = seen[key] {
                throw DESIError.badFile(path: path, problem: "HDUs \(first) and \(i) are both named \(name)")
            }
            seen[key] = i
        }
    }
}

extension Fibermap {
    /// The columns the pipeline reads by row hold one value a row of a usable type (FIBER and TARGETID integers,
    /// FIBER_X/FIBER_Y numbers, OBJTYPE text), so that `fibers`, `targetIDs`, ... have `count` values.
    func checkColumns(path: String, hdu: String = "FIBERMAP") throws {
        let kinds: [(name: String, usable: (FITSColumnData) -> Bool)] = [
            ("FIBER", { $0.ints != nil }), ("TARGETID", { $0.ints != nil }), ("FIBERSTATUS", { $0.ints != nil }),
            ("FIBER_X", { $0.doubles != nil }), ("FIBER_Y", { $0.doubles != nil }),
            ("OBJTYPE", { if case .string = $0 { return true }; return false }),
        ]
        for (name, usable) in kinds {
            guard let column = table[name] else { continue }
            guard usable(column.data), column.data.count == count else {
                throw DESIError.badFile(path: path, problem: "\(hdu) column \(name) has \(column.data.count) values "
                                        + "of the wrong kind for \(count) rows")
            }
        }
    }
}
