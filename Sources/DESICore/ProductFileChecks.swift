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

extension ProductFileChecks {
    /// The HDUs a product cannot be read without are all there.
    /// The [nspec, nwave] image of HDU 0 of a per-fiber product (fiber flat, sky, flux calibration), after the
    /// check that no two HDUs share a name; `name` is the HDU's DESI name, for the error.
    static func perFiberImage<T: FITSNumeric>(_ f: FITSFile, name: String, path: String,
                                              as type: T.Type = T.self) throws -> FITSImage<T> {
        try uniqueHDUNames(f, path: path)
        try f.moveTo(index: 0)
        let image = try f.readImage(as: T.self)
        guard image.shape.count == 2 else {
            throw DESIError.badFile(path: path, problem: "HDU 0 (\(name)) has shape \(image.shape), expected [nspec, nwave]")
        }
        return image
    }

    static func requireHDUs(_ names: [String], in f: FITSFile, path: String, product: String) throws {
        for name in names where !f.hasHDU(name) {
            throw DESIError.badFile(path: path, problem: "no \(name) HDU: not a \(product) file")
        }
    }

    /// `hdu`'s image has the shape `expected`, the one `reference` gives it.
    static func shape(_ shape: [Int], of hdu: String, is expected: [Int], as reference: String, path: String) throws {
        guard shape == expected else {
            throw DESIError.badFile(path: path, problem: "\(hdu) HDU has shape \(shape), expected \(expected) as \(reference)")
        }
    }

    /// `hdu` holds `expected` values (`what`: what they are counted against, e.g. "one per spectrum of SKY").
    static func count(_ count: Int, of hdu: String, is expected: Int, what: String, path: String) throws {
        guard count == expected else {
            throw DESIError.badFile(path: path, problem: "\(hdu) HDU has \(count) values, expected \(expected) (\(what))")
        }
    }

    /// The table `hdu` has `expected` rows (`what`: what they are counted against).
    static func rows(_ table: FITSTable, of hdu: String, is expected: Int, what: String, path: String) throws {
        guard table.rowCount == expected else {
            throw DESIError.badFile(path: path, problem: "\(hdu) HDU has \(table.rowCount) rows, expected \(expected) (\(what))")
        }
    }

    /// A wavelength grid of `expected` finite values in strictly increasing order: the stages interpolate and
    /// resample on it (binary searches, pixel widths), which assumes an ordered grid. O(nwave): no pixel is read.
    static func wavelengths(_ wave: [Double], of hdu: String = "WAVELENGTH", count expected: Int, as reference: String,
                            path: String) throws {
        try count(wave.count, of: hdu, is: expected, what: "one per column of \(reference)", path: path)
        if let bad = wave.firstIndex(where: { !$0.isFinite }) {
            throw DESIError.badFile(path: path, problem: "\(hdu) HDU value \(bad) is \(wave[bad]), expected a finite wavelength")
        }
        if let bad = wave.indices.dropFirst().first(where: { wave[$0] <= wave[$0 - 1] }) {
            throw DESIError.badFile(path: path, problem: "\(hdu) HDU is not increasing: value \(bad) is \(wave[bad]) "
                                    + "after \(wave[bad - 1])")
        }
    }

    /// A fibermap HDU of a product: `expected` rows (when given) and usable columns (`Fibermap.checkColumns`).
    static func fibermap(_ table: FITSTable, of hdu: String = "FIBERMAP", rows expected: Int?, what: String,
                         path: String) throws -> Fibermap {
        if let expected { try rows(table, of: hdu, is: expected, what: what, path: path) }
        let fibermap = Fibermap(table: table)
        try fibermap.checkColumns(path: path, hdu: hdu)
        return fibermap
    }
}
