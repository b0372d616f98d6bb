import DESICore
import FITS
import Foundation

/// Regrouping of cframes into `Spectra` (desispec.pixgroup.frames2spectra, scripts/group_spectra.py):
/// rows ordered by (NIGHT, EXPID, spectrograph) then by fiber; one band per camera arm; fibermap rows
/// extended with the exposure columns NIGHT, EXPID, TILEID, MJD, EXPTIME taken from each frame's header.
public enum SpectraGrouping {
    /// Camera arm, spectrograph, night and exposure of one frame, from its header.
    public struct FrameKey: Sendable, Hashable, Comparable {
        public var night: Int, expid: Int, spectrograph: Int
        public static func < (a: FrameKey, b: FrameKey) -> Bool {
            (a.night, a.expid, a.spectrograph) < (b.night, b.expid, b.spectrograph)
        }
    }

    static func describe(_ input: FrameInput) throws -> (band: String, key: FrameKey, tile: Int) {
        let h = input.frame.header
        let name = input.path.isEmpty ? "frame" : input.path
        guard let cam = h.string("CAMERA")?.trimmingCharacters(in: .whitespaces).lowercased(), cam.count == 2,
              let band = cam.first.map(String.init), ["b", "r", "z"].contains(band), let sp = Int(String(cam.last!)) else {
            throw DESIError.badFile(path: name, problem: "header keyword CAMERA (b0..z9) missing or invalid")
        }
        guard let night = h.int("NIGHT"), let expid = h.int("EXPID") else {
            throw DESIError.badFile(path: name, problem: "header keywords NIGHT and EXPID are needed to group spectra")
        }
        return (band, FrameKey(night: night, expid: expid, spectrograph: sp), h.int("TILEID") ?? -1)
    }

    /// Nested HEALPix pixel of every fibermap row of a frame (from TARGET_RA, TARGET_DEC).
    public static func healpixels(of frame: Frame, nside: Int, path: String = "frame") throws -> [Int] {
        guard let fm = frame.fibermap?.table, let ra = fm["TARGET_RA"]?.data.doubles, let dec = fm["TARGET_DEC"]?.data.doubles else {
            throw DESIError.badFile(path: path, problem: "FIBERMAP has no TARGET_RA/TARGET_DEC columns: cannot group by healpix")
        }
        return zip(ra, dec).map { HEALPix.ang2pixNested(nside: nside, ra: $0, dec: $1) }
    }

    /// Distinct healpix pixels covered by the frames' targets (rows with finite coordinates).
    public static func healpixelsCovered(_ inputs: [FrameInput], nside: Int) throws -> [Int] {
        var s = Set<Int>()
        for i in inputs { s.formUnion(try healpixels(of: i.frame, nside: nside, path: i.path)) }
        return s.sorted()
    }

    /// Groups frames into one `Spectra`. With `healpix`, only the fibers whose target falls in that nested pixel
    /// of `nside` are kept. Throws when bands' wavelength grids differ between frames, when the frames of one
    /// exposure and spectrograph hold different fibers, or when no spectrum is selected.
    public static func group(_ inputs: [FrameInput], healpix: Int? = nil, nside: Int = 64) throws -> Spectra {
        guard !inputs.isEmpty else { throw DESIError.invalidArgument("spectra: no input frames") }
        let described = try inputs.map { try describe($0) }
        let bandOrder = ["b", "r", "z"].filter { b in described.contains { $0.band == b } }

        // Each band must have one wavelength grid.
        var grid: [String: (wave: [Double], ndiag: Int, path: String)] = [:]
        for (i, d) in described.enumerated() {
            let w = inputs[i].frame.wave
            if let g = grid[d.band] {
                guard g.wave.count == w.count, zip(g.wave, w).allSatisfy({ abs($0 - $1) < 1e-6 }) else {
                    throw DESIError.mismatch("spectra: band \(d.band) wavelength grids differ between \(g.path) "
                                             + "(\(g.wave.count) bins, \(g.wave.first ?? 0)-\(g.wave.last ?? 0)) and \(inputs[i].path) "
                                             + "(\(w.count) bins, \(w.first ?? 0)-\(w.last ?? 0))")
                }
            } else {
                grid[d.band] = (w, inputs[i].resolution?.ndiag ?? 0, inputs[i].path)
            }
        }

        // Frames by exposure and spectrograph.
        var byKey: [FrameKey: [String: Int]] = [:]
        for (i, d) in described.enumerated() {
            if let prev = byKey[d.key]?[d.band] {
                throw DESIError.mismatch("spectra: \(inputs[prev].path) and \(inputs[i].path) are the same camera of the same exposure")
            }
            byKey[d.key, default: [:]][d.band] = i
        }

        var fibermaps: [FITSTable] = []
        var scoreTables: [FITSTable] = []
        var allScores = true
        var parts: [String: [SpectraBand]] = [:]
        var resolutionParts: [String: [(source: (any FiberResolutions)?, rows: [Int])]] = [:]
        for key in byKey.keys.sorted() {
            let members = byKey[key]!
            let first = members[bandOrder.first { members[$0] != nil }!]!
            let ref = inputs[first]
            guard var fm = ref.frame.fibermap?.table else {
                throw DESIError.badFile(path: ref.path, problem: "frame has no FIBERMAP")
            }
            var rows = Array(0..<ref.frame.nspec)
            if let pix = healpix {
                let pixels = try healpixels(of: ref.frame, nside: nside, path: ref.path)
                rows = rows.filter { pixels[$0] == pix }
            }
            if rows.isEmpty { continue }
            fm = addExposureColumns(fm, header: ref.frame.header, key: key, tile: described[first].tile)
            // FIBERSTATUS of the exposure: OR over its cameras (as desispec frames2spectra).
            if var st = fm["FIBERSTATUS"]?.data.ints {
                for b in bandOrder { if let i = members[b], i != first,
                                        let o = inputs[i].frame.fibermap?.table["FIBERSTATUS"]?.data.ints, o.count == st.count {
                    for r in st.indices { st[r] |= o[r] }
                } }
                switch fm["FIBERSTATUS"]!.data {
                case .int16: fm["FIBERSTATUS"]!.data = .int16(st.map { Int16(truncatingIfNeeded: $0) })
                case .int64: fm["FIBERSTATUS"]!.data = .int64(st.map(Int64.init))
                default: fm["FIBERSTATUS"]!.data = .int32(st.map { Int32(truncatingIfNeeded: $0) })
                }
            }
            // Quality grade of the exposure: the worst over its cameras, reasons united.
            let graded = bandOrder.compactMap { members[$0] }.compactMap { inputs[$0].frame.quality }.filter { $0.count == fm.rowCount }
            if let first = graded.first {
                QualityColumns.write(graded.dropFirst().reduce(first) { zip($0, $1).map { $0.merged(with: $1) } }, to: &fm)
            }
            fm = fm.selectingRows(rows)
            fibermaps.append(fm)
            var merged: FITSTable? = nil
            for b in bandOrder {
                if let i = members[b] {
                    let fr = inputs[i].frame
                    guard fr.nspec == ref.frame.nspec, fr.fibers == ref.frame.fibers else {
                        throw DESIError.mismatch("spectra: \(inputs[i].path) and \(ref.path) (same exposure and spectrograph) "
                                                 + "hold different fibers")
                    }
                    let band = SpectraBand(wave: fr.wave, flux: fr.flux, ivar: fr.ivar, mask: fr.mask, resolution: nil)
                    parts[b, default: []].append(band.selecting(rows: rows))
                    resolutionParts[b, default: []].append((inputs[i].resolution, rows))
                    if let s = inputs[i].scores, s.rowCount == fr.nspec {
                        let sel = s.selectingRows(rows)
                        if merged == nil { merged = sel } else {
                            for c in sel.columns where !merged!.hasColumn(c.name) { merged!.columns.append(c) }
                        }
                    } else { allScores = false }
                } else {
                    // Missing camera: rows with ivar 0 (desispec.pixgroup.add_missing_frames).
                    let g = grid[b]!
                    let n = rows.count * g.wave.count
                    let res = g.ndiag > 0 ? ResolutionData(nspec: rows.count, ndiag: g.ndiag, nwave: g.wave.count) : nil
                    parts[b, default: []].append(SpectraBand(wave: g.wave, flux: [Float](repeating: 0, count: n),
                        ivar: [Float](repeating: 0, count: n), mask: [UInt32](repeating: SpecMask.noData, count: n), resolution: nil))
                    resolutionParts[b, default: []].append((res, Array(0..<rows.count)))
                    allScores = false
                }
            }
            if let m = merged { scoreTables.append(m) }
        }
        guard !fibermaps.isEmpty else {
            throw DESIError.failed("spectra: no spectrum selected" + (healpix.map { " in healpix \($0) (nside \(nside))" } ?? ""))
        }
        var data: [String: SpectraBand] = [:]
        // each band's parts released once concatenated (a full frame's resolution is 63 MB)
        for b in bandOrder {
            data[b] = concatenate(parts.removeValue(forKey: b)!)
            data[b]!.resolution = concatenatedResolution(resolutionParts.removeValue(forKey: b)!, nwave: data[b]!.nwave)
        }
        var header = FITSHeader()
        let tiles = Set(described.map(\.tile))
        if let pix = healpix {
            header.set("SPGRP", "healpix"); header.set("SPGRPVAL", pix)
            header.set("HPXNSIDE", nside); header.set("HPXPIXEL", pix); header.set("HPXNEST", true)
        } else if tiles.count == 1, let t = tiles.first, t >= 0 {
            header.set("TILEID", t)
        }
        let nights = Set(described.map(\.key.night))
        if nights.count == 1 { header.set("NIGHT", nights.first!) }
        let spectros = Set(described.map(\.key.spectrograph))
        if spectros.count == 1 { header.set("SPECTRO", spectros.first!) }
        for k in ["SURVEY", "PROGRAM", "FAPRGRM"] { if let v = inputs[0].frame.header.string(k) { header.set(k, v) } }
        let scores = allScores && scoreTables.count == fibermaps.count ? FITSTable.vstack(scoreTables) : nil
        return try Spectra(bands: bandOrder, data: data, fibermap: FITSTable.vstack(fibermaps), scores: scores, header: header)
    }

    /// Adds the exposure columns desispec's spectra fibermaps carry, where the frame fibermap lacks them.
    static func addExposureColumns(_ t: FITSTable, header h: FITSHeader, key: FrameKey, tile: Int) -> FITSTable {
        var t = t
        let n = t.rowCount
        // As desispec.pixgroup.FrameLite.read: NIGHT, EXPID, MJD (-1 if unknown), TILEID from the header.
        t["NIGHT"] = FITSColumn("NIGHT", .int32([Int32](repeating: Int32(key.night), count: n)))
        t["EXPID"] = FITSColumn("EXPID", .int32([Int32](repeating: Int32(key.expid), count: n)))
        t["MJD"] = FITSColumn("MJD", .double([Double](repeating: h.double("MJD-OBS") ?? h.double("MJD") ?? -1, count: n)))
        t["TILEID"] = FITSColumn("TILEID", .int32([Int32](repeating: Int32(tile), count: n)))
        // NaN coordinates or magnitudes of older fibermaps become 0 (frames2spectra).
        for k in ["FIBER_X", "FIBER_Y", "DELTA_X", "DELTA_Y", "FIBER_RA", "FIBER_DEC",
                  "GAIA_PHOT_G_MEAN_MAG", "GAIA_PHOT_BP_MEAN_MAG", "GAIA_PHOT_RP_MEAN_MAG"] {
            switch t[k]?.data {
            case .float(let a)?: t[k]!.data = .float(a.map { $0.isNaN ? 0 : $0 })
            case .double(let a)?: t[k]!.data = .double(a.map { $0.isNaN ? 0 : $0 })
            default: break
            }
        }
        if !t.hasColumn("EXPTIME"), let e = h.double("EXPTIME") {
            t.columns.append(FITSColumn("EXPTIME", .float([Float](repeating: Float(e), count: n))))
        }
        return t
    }

    /// The rows of each part's resolution, one part after the other, converted once into the spectra's array; nil
    /// where a part has none or their numbers of diagonals differ.
    static func concatenatedResolution(_ parts: [(source: (any FiberResolutions)?, rows: [Int])], nwave: Int) -> ResolutionData? {
        let sources = parts.compactMap(\.source)
        guard sources.count == parts.count, let nd = sources.first?.ndiag, sources.allSatisfy({ $0.ndiag == nd && $0.nwave == nwave })
        else { return nil }
        let per = nd * nwave, nspec = parts.reduce(0) { $0 + $1.rows.count }
        let data = [Float](unsafeUninitializedCapacity: nspec * per) { out, count in
            var k = 0
            for (source, part) in zip(sources, parts) {
                for r in part.rows {
                    source.withDiagonals(of: r) { d in _ = UnsafeMutableBufferPointer(rebasing: out[k..<(k + per)]).initialize(from: d) }
                    k += per
                }
            }
            count = k
        }
        return ResolutionData(nspec: nspec, ndiag: nd, nwave: nwave, data: data)
    }

    /// Rows of several bands with the same grid, one after the other.
    static func concatenate(_ parts: [SpectraBand]) -> SpectraBand {
        if parts.count == 1 { return parts[0] }
        let w = parts[0].wave
        let flux = parts.flatMap(\.flux), ivar = parts.flatMap(\.ivar)
        let mask: [UInt32]? = parts.allSatisfy { $0.mask != nil } ? parts.flatMap { $0.mask! } : nil
        var res: ResolutionData? = nil
        let nds = Set(parts.compactMap { $0.resolution?.ndiag })
        if parts.allSatisfy({ $0.resolution != nil }), nds.count == 1 {
            let nd = nds.first!
            res = ResolutionData(nspec: flux.count / w.count, ndiag: nd, nwave: w.count, data: parts.flatMap { $0.resolution!.data })
        }
        return SpectraBand(wave: w, flux: flux, ivar: ivar, mask: mask, resolution: res)
    }

    /// Output name of a tile group: spectra-SP-TILE-NIGHT.fits (desispec.io.findfile 'spectra_tile').
    public static func tileFileName(spectrograph: Int, tile: Int, night: Int, prefix: String = "spectra") -> String {
        "\(prefix)-\(spectrograph)-\(tile)-\(night).fits"
    }

    /// Output name of a healpix group: spectra-SURVEY-PROGRAM-PIX.fits.
    public static func healpixFileName(survey: String, program: String, pixel: Int, prefix: String = "spectra") -> String {
        "\(prefix)-\(survey)-\(program)-\(pixel).fits"
    }

    /// Frames split by (spectrograph, tile, night) for per-tile grouping.
    public static func tileGroups(_ inputs: [FrameInput]) throws -> [(spectrograph: Int, tile: Int, night: Int, frames: [FrameInput])] {
        var groups: [[Int]: [FrameInput]] = [:]
        for i in inputs {
            let d = try describe(i)
            groups[[d.key.spectrograph, d.tile, d.key.night], default: []].append(i)
        }
        return groups.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { k in (k[0], k[1], k[2], groups[k]!) }
    }
}
