import DESICore
import FITS
import Foundation
import LinearAlgebra
import QA

/// Gathers the targets of several products into one page: the spectra of a target (by TARGETID, else by FIBER)
/// from every camera or band, each on its grid.
struct ViewerDocumentBuilder {
    var grids: [ViewerGrid] = []
    var targets: [ViewerTarget] = []
    var fluxUnit: String?
    private var index: [String: Int] = [:]

    /// The index of the grid (name, wave), added when new.
    mutating func grid(_ name: String, _ wave: [Double]) -> Int {
        if let i = grids.firstIndex(where: { $0.name == name && $0.wave == wave }) { return i }
        let taken = grids.filter { $0.name == name || $0.name.hasPrefix(name + "#") }.count
        grids.append(ViewerGrid(name: taken == 0 ? name : "\(name)#\(taken + 1)", wave: wave))
        return grids.count - 1
    }

    /// The target of (TARGETID, FIBER), added with its fibermap row when new.
    mutating func target(targetID: Int64?, fiber: Int?, table: FITSTable?, row: Int) -> Int {
        let key = targetID.map { "T\($0)" } ?? "F\(fiber ?? -1)"
        if let i = index[key] { return i }
        var t = ViewerTarget(targetID: targetID, fiber: fiber)
        if let table {
            t.fibermapRow = Self.scalarCells(table, row: row)
            t.qualityGrade = table["QUALITY_GRADE"]?.data.ints.map { $0[row] }
            if case .string(let reasons)? = table["QUALITY_REASONS"]?.data {
                t.qualityReasons = reasons[row].trimmingCharacters(in: .whitespaces)
            }
        }
        targets.append(t)
        index[key] = targets.count - 1
        return targets.count - 1
    }

    /// Every row of a frame, sframe or cframe on the grid of its camera; `skyRows` ([nspec * nwave], NaN where unknown)
    /// is the sky overlay.
    mutating func add(frame: Frame, skyRows: [Float]?) {
        let name = frame.camera?.name ?? "frame"
        let g = grid(name, frame.wave)
        fluxUnit = fluxUnit ?? frame.header.string("BUNIT")
        let tids = frame.fibermap?.targetIDs ?? []
        let fibers = frame.fibers
        let n = frame.nwave
        for r in 0..<frame.nspec {
            let t = target(targetID: r < tids.count ? tids[r] : nil, fiber: fibers[r], table: frame.fibermap?.table, row: r)
            let row = frame.float32Row(r)
            let sky = skyRows.map { Array($0[(r * n)..<((r + 1) * n)]) }
            targets[t].spectra.append(ViewerSpectrum(grid: g, flux: row.values, ivar: row.ivar, sky: sky))
        }
    }

    /// Every row of a spectra or coadd file, one spectrum per band.
    mutating func add(spectra s: Spectra) {
        fluxUnit = fluxUnit ?? Spectra.fluxUnit
        let tids = s.targetIDRows
        let fibers = s.fibermap["FIBER"]?.data.ints
        let gridOf = s.bands.map { grid($0, s.data[$0]!.wave) }
        for r in 0..<s.numSpectra {
            let t = target(targetID: r < tids.count ? tids[r] : nil, fiber: fibers?[r], table: s.fibermap, row: r)
            for (b, band) in s.bands.enumerated() {
                let d = s.data[band]!
                let range = (r * d.nwave)..<((r + 1) * d.nwave)
                targets[t].spectra.append(ViewerSpectrum(grid: gridOf[b], flux: Array(d.flux[range]), ivar: Array(d.ivar[range])))
            }
        }
    }

    /// The model of each target (matched by TARGETID, else FIBER), linearly interpolated on each of its grids from the
    /// model band of the same name (a camera "b0" takes band "b"), or the model's only band; NaN outside the model.
    mutating func addModel(_ models: [SpectrumEntry], path: String) throws {
        for t in targets.indices {
            let match = models.first { m in
                if let tid = targets[t].targetID, let mt = m.targetID { return tid == mt }
                return m.fiber != nil && m.fiber == targets[t].fiber
            }
            guard let match else { continue }
            for s in targets[t].spectra.indices {
                let g = grids[targets[t].spectra[s].grid]
                let arm = String(g.name.prefix(1))
                guard let band = match.bands.first(where: { $0.name == g.name || $0.name == arm })
                        ?? (match.bands.count == 1 ? match.bands[0] : nil) else {
                    throw DESIError.badFile(path: path, problem: "the model has no band \(g.name) (bands: "
                                            + match.bands.map(\.name).joined(separator: ",") + ")")
                }
                let y = Interpolation.linear(x: band.wave, y: band.flux.map(Double.init), at: g.wave, left: .nan, right: .nan)
                targets[t].spectra[s].model = y.map(Float.init)
            }
        }
    }

    /// Each target's redshift and SPECTYPE from a redrock table.
    mutating func addRedshifts(_ table: RedrockTable) {
        for t in targets.indices {
            guard let tid = targets[t].targetID, let z = table.redshift[tid] else { continue }
            targets[t].redshift = z.z
            targets[t].spectype = z.spectype
        }
    }

    /// The scalar columns of one table row as text (vector columns are left out).
    static func scalarCells(_ table: FITSTable, row: Int) -> [(name: String, value: String)] {
        table.columns.compactMap { c -> (name: String, value: String)? in
            guard c.valuesPerRow == 1, row < c.rowCount else { return nil }
            let text: String
            switch c.data {
            case .string(let a): text = a[row].trimmingCharacters(in: .whitespaces)
            case .float(let a): text = format(Double(a[row]))
            case .double(let a): text = format(a[row])
            case .bool(let a): text = a[row] ? "T" : "F"
            default: text = c.data.ints.map { String($0[row]) } ?? ""
            }
            return (c.name, text)
        }
    }

    static func format(_ v: Double) -> String {
        guard v.isFinite else { return String(v) }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(format: "%.7g", v)
    }
}
