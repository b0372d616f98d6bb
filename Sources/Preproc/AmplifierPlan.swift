import DESICore
import FITS
import Foundation
import LinearAlgebra

/// What preprocessing one amplifier needs, measured from its overscan (desispec.preproc.preproc, per amplifier):
/// the level to subtract per data row, gain, saturation, read noise, and the header cards and notes it produces.
struct AmplifierPlan: Sendable {
    var sections: AmplifierSections
    var gain: Double
    var saturationADU: Double
    /// Level (ADU) subtracted from each data row of the amplifier (overscan, plus the ORSEC level when used).
    var rowLevel: [Double]
    /// Read noise in electrons before the bias frame's own noise is added per pixel.
    var readnoise: Double
    /// Read noise per data row (electrons) for an amplifier the calibration lists in READNOISEPERROW, else nil.
    var readnoisePerRow: [Double]? = nil
    /// Noise of the dark frame over the amplifier (electrons), added in quadrature to the read noise.
    var darkNoise: Double?
    /// Mask bits set on the whole amplifier (BADAMP, BADREADNOISE for a large overscan step).
    var flags: UInt32
    var cards: [(String, FITSValue, String)]
    var notes: [String]
}

extension AmplifierPlan {
    /// Overscan level per row and read noise of amplifier `a` (desispec's calc_overscan, compute_overscan_step,
    /// find_overscan_cosmic_trails, ...) from the bias-subtracted raw pixels. `calibMask` (image shape, or nil) tells
    /// which rows are entirely masked.
    /// `headerBias`: the header's BIASSEC rows when the calibration's GOODBIASSEC replaced them in `a` (nil: same);
    /// `readnoisePerRow`: READNOISEPERROW lists this amplifier.
    static func measure(_ a: AmplifierSections, raw: RawPixels, rawNx: Int, nx: Int, header: FITSHeader,
                        config: CalibrationConfig?, options: PreprocOptions, useOverscanRow: Bool,
                        calibMask: CalibrationPlane?, headerBias: Range<Int>? = nil, readnoisePerRow: Bool = false) -> AmplifierPlan {
        let amp = a.name
        var cards: [(String, FITSValue, String)] = []
        var notes: [String] = []
        var flags: UInt32 = 0
        var useRow = useOverscanRow
        if useRow && a.overscanRows == nil { notes.append("no ORSEC\(amp) keyword; not using overscan rows"); useRow = false }
        let gain: Double
        if options.nogain { gain = 1 }
        else if let g = header.double("GAIN\(amp)") { gain = g }
        else if let g = config?.double("GAIN\(amp)") { gain = g; notes.append("using GAIN\(amp)=\(g) from calibration data") }
        else { gain = 1; notes.append("missing keyword GAIN\(amp) in header and calibration; using 1.0") }
        let saturADU = header.double("SATURLEV\(amp)") ?? config?.double("SATURLEV\(amp)") ?? 65535
        cards.append(("SATULEV\(amp)", .double(saturADU), "saturation or non lin. level, in ADU, inc. bias"))

        func block(_ r: CCDRegion) -> [Double] {
            var out = [Double](repeating: 0, count: r.count)
            var k = 0
            for row in r.rows { for c in r.cols { out[k] = raw[row * rawNx + c]; k += 1 } }
            return out
        }
        // overscan columns, per row
        var ov = block(a.bias)
        if !options.nodarktrail, let c = config, let amplitude = c.double("DARKTRAILAMP\(amp)"), let w = c.double("DARKTRAILWIDTH\(amp)") {
            // the trail of the active pixels into the overscan (desispec: computed on DATASEC + BIASSEC, raw minus its level)
            let cols = min(a.bias.cols.lowerBound, a.data.cols.lowerBound)..<max(a.bias.cols.upperBound, a.data.cols.upperBound)
            let region = CCDRegion(rows: a.data.rows, cols: cols)
            let level = RobustLevel.level(rows: region.rows.count, cols: cols.count) { r, c in
                raw[(region.rows.lowerBound + r) * rawNx + cols.lowerBound + c]
            }.level
            var tmp = block(region).map { $0 - level }
            let orig = tmp
            DarkTrail.correct(&tmp, width: cols.count, region: CCDRegion(rows: 0..<region.rows.count, cols: 0..<cols.count),
                              left: amp == "B" || amp == "D", trailWidth: w, amplitude: amplitude)
            let off = a.bias.cols.lowerBound - cols.lowerBound
            for j in 0..<min(a.bias.rows.count, region.rows.count) {
                for k in 0..<a.bias.cols.count {
                    ov[j * a.bias.cols.count + k] += tmp[j * cols.count + off + k] - orig[j * cols.count + off + k]
                }
            }
        }
        let nrows = a.bias.rows.count, ncols = a.bias.cols.count
        var perRow = [Double](repeating: 0, count: nrows), rowNoise = perRow
        ov.withUnsafeBufferPointer { o in
            for j in 0..<nrows {
                let r = Overscan.level(Array(o[(j * ncols)..<((j + 1) * ncols)]))
                perRow[j] = r.level; rowNoise[j] = r.readnoise
            }
        }
        if useRow {
            // rows whose overscan is polluted by the trail of a bright charge deposit, or entirely masked: interpolate
            // (desispec.preproc.find_overscan_cosmic_trails and find_masked_rows)
            var bad = Overscan.cosmicTrailRows(raw: raw, rawNx: rawNx, data: a.data, bias: a.bias, perRow: perRow)
            if let m = calibMask {
                for (k, r) in a.ccd.rows.enumerated() where k < nrows {
                    var all = true
                    for c in a.ccd.cols where m.bits(r * nx + c) == 0 { all = false; break }
                    if all { bad[k] = true }
                }
            }
            if bad.contains(true) {
                let good = (0..<nrows).filter { !bad[$0] }
                if good.isEmpty {
                    notes.append("amp \(amp): unable to interpolate the overscan over \(nrows) bad rows")
                } else {
                    notes.append("amp \(amp): ignore overscan rows \((0..<nrows).filter { bad[$0] }) "
                                 + "because of large charge deposits or masks")
                    perRow = Overscan.interpolate(perRow, bad: bad)
                }
            }
        }
        let ostep = Overscan.step(perRow)
        cards.append(("OSTEP\(amp)", .double(ostep), "ADUs (max-min of median overscan per row)"))

        var overscanCol: [Double]
        var averageReadnoise: Double
        var averageOverscan = 0.0
        if ostep < 2 || options.noOverscanPerRow || !useRow {
            let (o, r) = Overscan.level(ov)
            averageOverscan = o; averageReadnoise = r
            overscanCol = [Double](repeating: o, count: nrows)
            cards.append(("OMETH\(amp)", .string("AVERAGE"), "use average overscan"))
        } else {
            overscanCol = perRow
            cards.append(("OMETH\(amp)", .string("PER_ROW"), "use average overscan per row"))
            if ostep > 5 {
                flags |= CCDMask.badReadnoise
                notes.append("amp \(amp) OSTEP=\(String(format: "%.2f", ostep)) is too large, set BADREADNOISE")
            }
            var sub = ov
            for j in 0..<nrows { for k in 0..<ncols { sub[j * ncols + k] -= perRow[j] } }
            averageReadnoise = Overscan.level(sub).readnoise
        }
        var rdnoiseADU = averageReadnoise
        // READNOISEPERROW: the row's own overscan noise where it is a 4-sigma positive outlier, else their median
        var rowNoiseADU: [Double]? = nil
        if readnoisePerRow && nrows > 0 {
            var sorted = rowNoise
            let median = Statistics.medianInPlace(&sorted)
            var dev = rowNoise.map { abs($0 - median) }
            let rms = 1.4826 * Statistics.medianInPlace(&dev)
            rowNoiseADU = rowNoise.map { $0 < median + 4 * rms ? median : $0 }
            cards.append(("RMETH\(amp)", .string("PER_ROW"), "use average readnoise per row for some rows"))
        } else {
            cards.append(("RMETH\(amp)", .string("AVERAGE"), "use average readnoise"))
        }
        if options.badamps.uppercased().contains(amp.uppercased()) {
            flags |= CCDMask.badAmp
            notes.append("masking amplifier \(amp) as BADAMP")
        }
        if let b = raw.bias {
            // the master bias's own noise: in the data region it adds to the frame's, in the overscan it does not
            let nd = RobustLevel.level(rows: a.data.rows.count, cols: a.data.cols.count) { r, buf in
                b.values(from: (a.data.rows.lowerBound + r) * rawNx + a.data.cols.lowerBound, into: buf)
            }.readnoise
            let no = RobustLevel.level(rows: a.bias.rows.count, cols: a.bias.cols.count) { r, buf in
                b.values(from: (a.bias.rows.lowerBound + r) * rawNx + a.bias.cols.lowerBound, into: buf)
            }.readnoise
            rdnoiseADU = (rdnoiseADU * rdnoiseADU + nd * nd - no * no).squareRoot()
            rowNoiseADU = rowNoiseADU?.map { ($0 * $0 + nd * nd - no * no).squareRoot() }
        }
        var overscanRowLevel = 0.0
        if useRow, let orsec = a.overscanRows {
            let o = Overscan.level(ov).level
            overscanRowLevel = Overscan.level(block(orsec).map { $0 - o }).level
        }
        var rdnoise = rdnoiseADU * gain
        // per data row: the overscan rows map onto the data rows (GOODBIASSEC rows from their offset in BIASSEC, the
        // mean elsewhere, as desispec)
        var perRowNoise: [Double]? = nil
        if let r = rowNoiseADU {
            let e = r.map { $0 * gain }
            var sortedE = e
            rdnoise = Statistics.medianInPlace(&sortedE)
            let begin = headerBias.map { a.bias.rows.lowerBound - $0.lowerBound } ?? 0
            let mean = e.reduce(0, +) / Double(e.count)
            perRowNoise = (0..<a.ccd.rows.count).map { k in
                let j = k - begin
                return j >= 0 && j < e.count ? e[j] : mean
            }
        }
        var sortedCol = overscanCol
        let medianOverscan = Statistics.medianInPlace(&sortedCol)
        cards.append(("OVERSCN\(amp)", .double(medianOverscan), "ADUs (gain not applied)"))
        cards.append(("OBSRDN\(amp)", .double(rdnoise), gain != 1 ? "electrons (gain is applied)" : "ADUs (gain not applied)"))
        cards.append(("GAIN\(amp)", .double(gain), gain != 1 ? "e/ADU (gain applied to image)" : "gain not applied to image"))
        if let expected = header.double("RDNOISE\(amp)"), expected > 0 {
            let ratio = rdnoise / expected
            if ratio < 0.9 || ratio > 1.2 {
                notes.append("amp \(amp) measured readnoise \(String(format: "%.2f", rdnoise)) "
                             + "vs expected \(String(format: "%.2f", expected))")
            }
        }
        let meanOverscan = overscanCol.reduce(0, +) / Double(max(1, nrows))
        cards.append(("SATUELE\(amp)", .double(gain * (saturADU - meanOverscan)), "saturation or non lin. level, in electrons"))

        let rowLevel = (0..<a.data.rows.count).map { k in
            (useRow ? overscanCol[min(k, max(0, nrows - 1))] : averageOverscan) + overscanRowLevel
        }
        return AmplifierPlan(sections: a, gain: gain, saturationADU: saturADU, rowLevel: rowLevel, readnoise: rdnoise,
                             readnoisePerRow: perRowNoise, darkNoise: nil, flags: flags, cards: cards, notes: notes)
    }
}
