import DESICore
import FITS
import Foundation

/// A CCD sector whose offset is fitted with the sky (`--fit-offsets`, desispec.sky.get_sector_masks): the rows of
/// an amplifier's CCDSEC and the columns of one range of the calibration yaml's OFFCOLS<amp> or CTECOLS<amp>
/// (e.g. OFFCOLSA: "1779:2057", 0-based, end excluded, several ranges separated by commas), clipped to the
/// amplifier's columns.
public struct CCDOffsetSector: Sendable, Equatable, CustomStringConvertible {
    public var amplifier: String
    /// The calibration key that named it (OFFCOLSA, CTECOLSD, ...).
    public var key: String
    public var rows: Range<Int>
    public var cols: Range<Int>

    public init(amplifier: String, key: String, rows: Range<Int>, cols: Range<Int>) {
        self.amplifier = amplifier; self.key = key; self.rows = rows; self.cols = cols
    }

    public var description: String { "\(key) rows \(rows.lowerBound):\(rows.upperBound) cols \(cols.lowerBound):\(cols.upperBound)" }

    /// The sectors named by a calibration entry for a frame: amplifiers are those with a BIASSEC<amp> keyword
    /// (desispec.preproc.get_amp_ids: A, B, C, D, then 1, 2, 3, 4), each amplifier's OFFCOLS then CTECOLS ranges.
    /// `value(key)` returns the calibration entry's value of a key, or nil. Throws on a range that cannot be read
    /// or an amplifier without CCDSEC (the file to name is `path`).
    public static func sectors(header: FITSHeader, path: String, value: (String) -> String?) throws -> [CCDOffsetSector] {
        var out: [CCDOffsetSector] = []
        for amp in ["A", "B", "C", "D", "1", "2", "3", "4"] where header["BIASSEC\(amp)"] != nil {
            let keys = ["OFFCOLS\(amp)", "CTECOLS\(amp)"].filter { value($0) != nil }
            if keys.isEmpty { continue }
            guard let text = header.string("CCDSEC\(amp)"), let sec = CCDRegion(section: text) else {
                throw DESIError.badFile(path: path, problem: "no readable CCDSEC\(amp) for the sectors of \(keys.joined(separator: ", "))")
            }
            for key in keys {
                for range in value(key)!.split(separator: ",") {
                    let ab = range.split(separator: ":", omittingEmptySubsequences: false)
                        .map { Int($0.trimmingCharacters(in: .whitespaces)) }
                    guard ab.count == 2, let a = ab[0], let b = ab[1] else {
                        throw DESIError.badFile(path: path, problem: "cannot decode \(key)=\(value(key)!) (expected FIRST:END,...)")
                    }
                    let lo = max(sec.cols.lowerBound, a), hi = min(sec.cols.upperBound, b)
                    out.append(CCDOffsetSector(amplifier: amp, key: key, rows: sec.rows, cols: lo..<max(lo, hi)))
                }
            }
        }
        return out
    }
}

/// The sector terms of the sky fit, per sector two templates on the frame pixels whose trace position lies in the
/// sector (x in cols, y in rows): a constant, and a ramp in wavelength index i / i_max (i_max the last index of the
/// fiber in the sector: desispec's "linear_template", whose minimum subtraction is a no-op). Both are divided by the
/// fiber flat (zero flat: 1), as the offset is in CCD electrons and the frame is flat-fielded
/// (desispec.sky.compute_sky_linear with fiberflat).
public struct SkySectorTemplates: Sendable {
    public let sectors: [CCDOffsetSector]
    public let nspec: Int
    public let nwave: Int
    /// Per template (sector s: 2 s constant, 2 s + 1 ramp), per fiber: nwave values, or [] where the fiber's trace
    /// does not cross the sector.
    public let values: [[[Double]]]

    public var count: Int { values.count }

    /// - Parameters: x, y: the trace position of every frame pixel [nspec, nwave] (CCD columns, rows; pixel centres
    ///   at integers); fiberflat: the fiber flat the frame was divided by [nspec, nwave], or nil.
    public init(sectors: [CCDOffsetSector], x: [Double], y: [Double], nspec: Int, nwave: Int, fiberflat: [Double]?) {
        precondition(x.count == nspec * nwave && y.count == nspec * nwave, "trace positions must be [nspec, nwave]")
        self.sectors = sectors; self.nspec = nspec; self.nwave = nwave
        var values: [[[Double]]] = []
        for sector in sectors {
            var constant = [[Double]](repeating: [], count: nspec), ramp = constant
            let ylo = Double(sector.rows.lowerBound), yhi = Double(sector.rows.upperBound)
            let xlo = Double(sector.cols.lowerBound), xhi = Double(sector.cols.upperBound)
            for f in 0..<nspec {
                let inside = (0..<nwave).map { i in
                    let k = f * nwave + i
                    return y[k] >= ylo && y[k] < yhi && x[k] >= xlo && x[k] < xhi
                }
                guard let last = inside.lastIndex(of: true) else { continue }
                let scale = last > 0 ? Double(last) : 1
                var c = [Double](repeating: 0, count: nwave), r = c
                for i in 0..<nwave where inside[i] {
                    let flat = fiberflat?[f * nwave + i] ?? 1
                    let divisor = flat == 0 ? 1 : flat
                    c[i] = 1 / divisor
                    r[i] = Double(i) / scale / divisor
                }
                constant[f] = c; ramp[f] = r
            }
            values.append(constant); values.append(ramp)
        }
        self.values = values
    }

    /// The sum of the templates weighted by `coefficients` for every fiber [nspec, nwave].
    public func evaluate(_ coefficients: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: nspec * nwave)
        for (k, t) in values.enumerated() where coefficients[k] != 0 {
            for f in 0..<nspec where !t[f].isEmpty { for i in 0..<nwave { out[f * nwave + i] += coefficients[k] * t[f][i] } }
        }
        return out
    }
}
