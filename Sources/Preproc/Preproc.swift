import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Where a calibration image comes from.
public enum CalibrationSource: Sendable {
    /// Do not apply this step.
    case none
    /// The file named by the calibration config (BIAS, DARK, PIXFLAT, MASK keys).
    case fromConfig
    /// HDU 0 of this file.
    case file(String)
    /// This array (bias: raw shape; others: image shape), row-major.
    case array([Double])
}

/// Options of `Preprocessor.run`, with desispec.preproc.preproc's defaults.
public struct PreprocOptions: Sendable {
    public var bias: CalibrationSource = .none
    public var dark: CalibrationSource = .none
    public var pixflat: CalibrationSource = .none
    public var mask: CalibrationSource = .none
    public var calibration: CalibrationConfig? = nil
    public var nocosmic = false
    public var cosmicsNsig = 6.0
    public var cosmicsCfudge = 3.0
    /// nil: the calibration's COSMICS_C2 if any, else 0.5.
    public var cosmicsC2fudge: Double? = nil
    public var nogain = false
    public var nocrosstalk = false
    /// Skip the dark-trail correction of the calibration's DARKTRAILAMP/DARKTRAILWIDTH amplifiers.
    public var nodarktrail = false
    /// Subtract the overscan per row when its step OSTEP >= 2 ADU and subtract the ORSEC level (calib USE_ORSEC).
    public var useOverscanRow = false
    public var noOverscanPerRow = false
    /// Amplifiers to mask as BADAMP, e.g. "AD".
    public var badamps = ""
    public init() {}
}

/// What `Preprocessor.run` returns: the image and notes worth logging (warnings about the data).
public struct PreprocResult: Sendable {
    public var image: Image
    public var notes: [String]
    /// Pixels flagged as cosmic rays.
    public var cosmicCount: Int
}

/// CCD preprocessing as desispec.preproc.preproc (desispec 0.70): bias frame, overscan level and read noise per
/// amplifier, gain, saturation, crosstalk, dark, pixel flat, variance model var = max(image, 0) + readnoise^2 and
/// cosmic-ray masking. image = ((raw - bias - overscan) * gain - dark) / pixflat, in electrons.
public enum Preprocessor {
    public static func run(_ raw: RawImage, options: PreprocOptions = PreprocOptions()) throws -> PreprocResult {
        let path = raw.path
        var notes: [String] = []
        var header = raw.header
        let cfg = options.calibration
        let ampIDs = amplifierIDs(header)
        if !options.badamps.isEmpty {
            for c in options.badamps where !ampIDs.contains(String(c)) {
                throw DESIError.invalidArgument("bad amplifier '\(c)' is not one of \(ampIDs.joined())")
            }
            header.set("BADAMPS", options.badamps)
        }
        var missing: [String] = []
        for k in ["CAMERA", "EXPID"] where header[k] == nil { missing.append(k) }
        if !missing.isEmpty { throw DESIError.badFile(path: path, problem: "missing keywords \(missing.joined(separator: " ")) in the camera header") }
        let cameraName = header.string("CAMERA")!.trimmingCharacters(in: .whitespaces).lowercased()
        guard let camera = Camera(cameraName) else {
            throw DESIError.badFile(path: path, problem: "CAMERA='\(cameraName)' is not a DESI camera (b0..z9)")
        }
        let amps = try amplifierSections(header, rawNy: raw.ny, rawNx: raw.nx, path: path)
        guard raw.data.count == raw.ny * raw.nx else {
            throw DESIError.badFile(path: path, problem: "raw image has \(raw.data.count) values, shape needs \(raw.ny * raw.nx)")
        }
        if let bad = raw.data.firstIndex(where: { !$0.isFinite }) {
            throw DESIError.badFile(path: path, problem: "raw image holds a non-finite value at row \(bad / raw.nx), column \(bad % raw.nx)")
        }
        var useOverscanRow = options.useOverscanRow
        if let c = cfg, let v = c.bool("USE_ORSEC") { useOverscanRow = v }

        // output shape from the CCD sections
        let ny = amps.map(\.ccd.rows.upperBound).max()!, nx = amps.map(\.ccd.cols.upperBound).max()!
        let rawNx = raw.nx

        // calibration images
        var rawimage = raw.data
        let bias = try loadCalibration(options.bias, key: "BIAS", config: cfg, header: &header, path: path)
        if let b = bias.data {
            guard b.count == rawimage.count, bias.shape == [raw.ny, raw.nx] else {
                throw DESIError.mismatch("bias \(bias.source) has shape \(bias.shape), raw image is [\(raw.ny), \(raw.nx)]")
            }
        }
        var darkImage: [Double]? = nil
        var darkIsTrimmed = true
        if case .none = options.dark {} else {
            guard let exptime = raw.primaryHeader.double("EXPTIME") ?? header.double("EXPTIME") else {
                throw DESIError.badFile(path: path, problem: "no EXPTIME keyword to scale the dark")
            }
            let d = try loadCalibration(options.dark, key: "DARK", config: cfg, header: &header, path: path, exptime: exptime)
            if let dd = d.data {
                if d.shape == [ny, nx] { darkIsTrimmed = true }
                else if d.shape == [raw.ny, raw.nx] { darkIsTrimmed = false }
                else { throw DESIError.mismatch("dark \(d.source) has shape \(d.shape); raw is [\(raw.ny), \(raw.nx)], preproc [\(ny), \(nx)]") }
                if dd.allSatisfy({ $0 == 0 }) {
                    notes.append(exptime == 0 ? "dark model for exptime=0 is all zeros; not applied" : "dark model unexpectedly all zeros; not applied")
                } else {
                    darkImage = dd
                }
            }
        }
        if let b = bias.data {
            rawimage.withUnsafeMutableBufferPointer { rp in
                nonisolated(unsafe) let r = rp
                parallelChunks(r.count) { range in for i in range { r[i] -= b[i] } }
            }
        }
        var mask = [UInt32](repeating: 0, count: ny * nx)
        let maskCal = try loadCalibration(options.mask, key: "MASK", config: cfg, header: &header, path: path)
        if let m = maskCal.data {
            guard maskCal.shape == [ny, nx] else { throw DESIError.mismatch("mask \(maskCal.source) has shape \(maskCal.shape), image is [\(ny), \(nx)]") }
            for i in 0..<m.count { mask[i] = UInt32(truncatingIfNeeded: Int64(m[i])) }
        }

        var image = [Double](repeating: 0, count: ny * nx)
        var readnoise = [Double](repeating: 0, count: ny * nx)
        var trimmedDark = [Double](repeating: 0, count: ny * nx)
        if let d = darkImage, darkIsTrimmed { trimmedDark = d }

        // per amplifier: independent regions, run in parallel; header values collected then written in order
        struct AmpOutcome: Sendable { var cards: [(String, FITSValue, String)] = []; var notes: [String] = [] }
        var outcomes = [AmpOutcome](repeating: AmpOutcome(), count: amps.count)
        let rawConst = rawimage, hdr = header, biasData = bias.data, useRowFlag = useOverscanRow, darkRaw = darkIsTrimmed ? nil : darkImage
        try image.withUnsafeMutableBufferPointer { imgBuf in
        try readnoise.withUnsafeMutableBufferPointer { rnBuf in
        try mask.withUnsafeMutableBufferPointer { maskBuf in
        try trimmedDark.withUnsafeMutableBufferPointer { darkBuf in
        try outcomes.withUnsafeMutableBufferPointer { outBuf in
            nonisolated(unsafe) let img = imgBuf, rn = rnBuf, msk = maskBuf, drk = darkBuf, outs = outBuf
            let errors = ErrorBox()
            DispatchQueue.concurrentPerform(iterations: amps.count) { ai in
                do {
                    let r = try processAmplifier(amps[ai], raw: rawConst, rawNx: rawNx, nx: nx, header: hdr, config: cfg,
                                                    options: options, useOverscanRow: useRowFlag, bias: biasData,
                                                    darkRaw: darkRaw, image: img, readnoise: rn, mask: msk, trimmedDark: drk)
                    outs[ai] = AmpOutcome(cards: r.cards, notes: r.notes)
                } catch { errors.set(error) }
            }
            if let e = errors.error { throw e }
        }}}}}
        for o in outcomes {
            for (k, v, c) in o.cards { header.set(k, v, comment: c) }
            notes += o.notes
        }

        // crosstalk (desispec: fraction of amp a1 flux, flipped according to the C D / A B layout, removed from a2)
        if !options.nocrosstalk, let c = cfg {
            let flip0: [[Int]] = [[1, 1, -1, -1], [1, 1, -1, -1], [-1, -1, 1, 1], [-1, -1, 1, 1]]
            let flip1: [[Int]] = [[1, -1, 1, -1], [-1, 1, -1, 1], [1, -1, 1, -1], [-1, 1, -1, 1]]
            // sequential, as desispec: a correction uses the source amplifier's already corrected values
            for a1 in amps.indices {
                for a2 in amps.indices where a1 != a2 {
                    guard let k = c.double("CROSSTALK\(amps[a1].name)\(amps[a2].name)"), k != 0 else { continue }
                    guard a1 < 4, a2 < 4 else { continue }
                    let s1 = amps[a1].ccd, s2 = amps[a2].ccd
                    guard s1.rows.count == s2.rows.count, s1.cols.count == s2.cols.count else {
                        throw DESIError.mismatch("crosstalk \(amps[a1].name)->\(amps[a2].name): amplifier regions differ in size")
                    }
                    notes.append("correct for crosstalk=\(k) from amp \(amps[a1].name) into \(amps[a2].name)")
                    let nr = s1.rows.count, nc = s1.cols.count
                    for i in 0..<nr {
                        let si = flip0[a1][a2] == -1 ? nr - 1 - i : i
                        for j in 0..<nc {
                            let sj = flip1[a1][a2] == -1 ? nc - 1 - j : j
                            image[(s2.rows.lowerBound + i) * nx + s2.cols.lowerBound + j] -= k * image[(s1.rows.lowerBound + si) * nx + s1.cols.lowerBound + sj]
                        }
                    }
                }
            }
        }

        // Poisson variance before dark and pixel flat (desispec: "biasing, but that's what we have")
        var poissonVar = [Double](repeating: 0, count: image.count)
        image.withUnsafeBufferPointer { ip in
        poissonVar.withUnsafeMutableBufferPointer { pp in
            nonisolated(unsafe) let im = ip, pv = pp
            parallelChunks(im.count) { range in for i in range { pv[i] = max(im[i], 0) } }
        }}

        if darkImage != nil {
            image.withUnsafeMutableBufferPointer { ip in
            trimmedDark.withUnsafeBufferPointer { dp in
                nonisolated(unsafe) let im = ip, d = dp
                parallelChunks(im.count) { range in for i in range { im[i] -= d[i] } }
            }}
            for a in amps {
                let noise = Overscan.level(a.ccd.extract(trimmedDark, width: nx)).readnoise
                for r in a.ccd.rows { for cidx in a.ccd.cols {
                    let i = r * nx + cidx
                    readnoise[i] = (readnoise[i] * readnoise[i] + noise * noise).squareRoot()
                } }
            }
        }
        if !options.nodarktrail, let c = cfg {
            for a in amps {
                guard let amplitude = c.double("DARKTRAILAMP\(a.name)"), let w = c.double("DARKTRAILWIDTH\(a.name)") else { continue }
                notes.append("amp \(a.name): removing dark trails with width=\(w) and amplitude=\(amplitude)")
                DarkTrail.correct(&image, width: nx, region: a.ccd, left: a.name == "B" || a.name == "D", trailWidth: w, amplitude: amplitude)
            }
        }

        let pix = try loadCalibration(options.pixflat, key: "PIXFLAT", config: cfg, header: &header, path: path)
        if let pf = pix.data {
            guard pix.shape == [ny, nx] else { throw DESIError.mismatch("pixflat \(pix.source) has shape \(pix.shape), image is [\(ny), \(nx)]") }
            let almostZero = 0.001
            image.withUnsafeMutableBufferPointer { ip in
            readnoise.withUnsafeMutableBufferPointer { rp in
            poissonVar.withUnsafeMutableBufferPointer { pp in
            mask.withUnsafeMutableBufferPointer { mp in
                nonisolated(unsafe) let im = ip, rn = rp, pv = pp, m = mp
                parallelChunks(pf.count) { range in
                    for i in range {
                        let p = pf[i]
                        if p > almostZero {
                            im[i] /= p; rn[i] /= p; pv[i] /= p * p
                        } else {
                            m[i] |= CCDMask.pixflatZero
                        }
                        if p > 0 && p < 0.1 { m[i] |= CCDMask.pixflatLow }
                    }
                }
            }}}}
        }

        var ivar = [Double](repeating: 0, count: ny * nx)
        ivar.withUnsafeMutableBufferPointer { ivp in
        mask.withUnsafeMutableBufferPointer { mp in
        poissonVar.withUnsafeBufferPointer { pp in
        readnoise.withUnsafeBufferPointer { rp in
            nonisolated(unsafe) let iv = ivp, m = mp, pv = pp, rn = rp
            parallelChunks(iv.count) { range in
                for i in range {
                    let v = pv[i] + rn[i] * rn[i]
                    if v > 0 { iv[i] = 1 / v }
                    if rn[i] > 15 { m[i] |= CCDMask.badReadnoise }
                }
            }
        }}}}

        var ncosmic = 0
        if !options.nocosmic {
            let c2 = options.cosmicsC2fudge ?? cfg?.double("COSMICS_C2") ?? 0.5
            let itl = header.string("CCDTYPE")?.contains("ITL") ?? false
            let rejector = CosmicRayRejector(psfGradients: CosmicRayRejector.psfGradients(arm: camera.arm, itl: itl),
                                             nsig: options.cosmicsNsig, cfudge: options.cosmicsCfudge, c2fudge: c2)
            let rejected = rejector.reject(pix: image, ivar: ivar, mask: mask, ny: ny, nx: nx)
            for i in 0..<rejected.count where rejected[i] { mask[i] |= CCDMask.cosmic; ncosmic += 1 }
        }
        if mask.allSatisfy({ $0 != 0 }) { notes.append("camera \(cameraName) is entirely masked (unusable)") }

        // primary-header keywords complete the image header
        header.merge(raw.primaryHeader.filteringStructural())
        let out = Image(ny: ny, nx: nx, pix: toFloat(image), ivar: toFloat(ivar), mask: mask,
                        readnoise: toFloat(readnoise), header: header)
        return PreprocResult(image: out, notes: notes, cosmicCount: ncosmic)
    }

    /// Overscan, read noise, gain and saturation of one amplifier; fills its CCD region of the outputs.
    static func processAmplifier(_ a: AmplifierSections, raw: [Double], rawNx: Int, nx: Int, header: FITSHeader,
                                 config: CalibrationConfig?, options: PreprocOptions, useOverscanRow: Bool, bias: [Double]?,
                                 darkRaw: [Double]?, image: UnsafeMutableBufferPointer<Double>,
                                 readnoise: UnsafeMutableBufferPointer<Double>, mask: UnsafeMutableBufferPointer<UInt32>,
                                 trimmedDark: UnsafeMutableBufferPointer<Double>) throws -> (cards: [(String, FITSValue, String)], notes: [String]) {
        let amp = a.name
        var cards: [(String, FITSValue, String)] = []
        var notes: [String] = []
        var useRow = useOverscanRow
        if useRow && a.overscanRows == nil { notes.append("no ORSEC\(amp) keyword; not using overscan rows"); useRow = false }
        let gain: Double
        if options.nogain { gain = 1 }
        else if let g = header.double("GAIN\(amp)") { gain = g }
        else if let g = config?.double("GAIN\(amp)") { gain = g; notes.append("using GAIN\(amp)=\(g) from calibration data") }
        else { gain = 1; notes.append("missing keyword GAIN\(amp) in header and calibration; using 1.0") }
        let saturADU = header.double("SATURLEV\(amp)") ?? config?.double("SATURLEV\(amp)") ?? 65535
        cards.append(("SATULEV\(amp)", .double(saturADU), "saturation or non lin. level, in ADU, inc. bias"))

        // overscan columns, per row
        var ov = a.bias.extract(raw, width: rawNx)
        if !options.nodarktrail, let c = config, let amplitude = c.double("DARKTRAILAMP\(amp)"), let w = c.double("DARKTRAILWIDTH\(amp)") {
            // the trail of the active pixels into the overscan (desispec: computed on DATASEC + BIASSEC, raw minus its level)
            let cols = min(a.bias.cols.lowerBound, a.data.cols.lowerBound)..<max(a.bias.cols.upperBound, a.data.cols.upperBound)
            let block = CCDRegion(rows: a.data.rows, cols: cols)
            let level = Overscan.level(block.extract(raw, width: rawNx)).level
            var tmp = block.extract(raw, width: rawNx).map { $0 - level }
            let orig = tmp
            DarkTrail.correct(&tmp, width: cols.count, region: CCDRegion(rows: 0..<block.rows.count, cols: 0..<cols.count),
                              left: amp == "B" || amp == "D", trailWidth: w, amplitude: amplitude)
            let off = a.bias.cols.lowerBound - cols.lowerBound
            for j in 0..<min(a.bias.rows.count, block.rows.count) {
                for k in 0..<a.bias.cols.count {
                    ov[j * a.bias.cols.count + k] += tmp[j * cols.count + off + k] - orig[j * cols.count + off + k]
                }
            }
        }
        let nrows = a.bias.rows.count, ncols = a.bias.cols.count
        var perRow = [Double](repeating: 0, count: nrows)
        ov.withUnsafeBufferPointer { o in
            for j in 0..<nrows { perRow[j] = Overscan.level(Array(o[(j * ncols)..<((j + 1) * ncols)])).level }
        }
        if useRow {
            // rows whose overscan is polluted by the trail of a bright charge deposit, or entirely masked: interpolate
            // (desispec.preproc.find_overscan_cosmic_trails and find_masked_rows)
            var bad = Overscan.cosmicTrailRows(raw: raw, rawNx: rawNx, data: a.data, bias: a.bias, perRow: perRow)
            for (k, r) in a.ccd.rows.enumerated() where k < nrows {
                var all = true
                for c in a.ccd.cols where mask[r * nx + c] == 0 { all = false; break }
                if all { bad[k] = true }
            }
            if bad.contains(true) {
                let good = (0..<nrows).filter { !bad[$0] }
                if good.isEmpty {
                    notes.append("amp \(amp): unable to interpolate the overscan over \(nrows) bad rows")
                } else {
                    notes.append("amp \(amp): ignore overscan rows \((0..<nrows).filter { bad[$0] }) because of large charge deposits or masks")
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
                for r in a.ccd.rows { for c in a.ccd.cols { mask[r * nx + c] |= CCDMask.badReadnoise } }
                notes.append("amp \(amp) OSTEP=\(String(format: "%.2f", ostep)) is too large, set BADREADNOISE")
            }
            var sub = ov
            for j in 0..<nrows { for k in 0..<ncols { sub[j * ncols + k] -= perRow[j] } }
            averageReadnoise = Overscan.level(sub).readnoise
        }
        cards.append(("RMETH\(amp)", .string("AVERAGE"), "use average readnoise"))
        var rdnoiseADU = averageReadnoise
        if options.badamps.uppercased().contains(amp.uppercased()) {
            for r in a.ccd.rows { for c in a.ccd.cols { mask[r * nx + c] |= CCDMask.badAmp } }
            notes.append("masking amplifier \(amp) as BADAMP")
        }
        if let b = bias {
            let nd = Overscan.level(a.data.extract(b, width: rawNx)).readnoise
            let no = Overscan.level(a.bias.extract(b, width: rawNx)).readnoise
            rdnoiseADU = (rdnoiseADU * rdnoiseADU + nd * nd - no * no).squareRoot()
        }
        var overscanRowLevel = 0.0
        if useRow, let orsec = a.overscanRows {
            let o = Overscan.level(ov).level
            overscanRowLevel = Overscan.level(orsec.extract(raw, width: rawNx).map { $0 - o }).level
        }
        let rdnoise = rdnoiseADU * gain
        var sortedCol = overscanCol
        let medianOverscan = Statistics.medianInPlace(&sortedCol)
        cards.append(("OVERSCN\(amp)", .double(medianOverscan), "ADUs (gain not applied)"))
        cards.append(("OBSRDN\(amp)", .double(rdnoise), gain != 1 ? "electrons (gain is applied)" : "ADUs (gain not applied)"))
        cards.append(("GAIN\(amp)", .double(gain), gain != 1 ? "e/ADU (gain applied to image)" : "gain not applied to image"))
        if let expected = header.double("RDNOISE\(amp)"), expected > 0 {
            let ratio = rdnoise / expected
            if ratio < 0.9 || ratio > 1.2 {
                notes.append("amp \(amp) measured readnoise \(String(format: "%.2f", rdnoise)) vs expected \(String(format: "%.2f", expected))")
            }
        }
        let meanOverscan = overscanCol.reduce(0, +) / Double(max(1, nrows))
        cards.append(("SATUELE\(amp)", .double(gain * (saturADU - meanOverscan)), "saturation or non lin. level, in electrons"))

        // data region -> image
        let d = a.data, c = a.ccd
        for k in 0..<d.rows.count {
            let rawRow = d.rows.lowerBound + k, ccdRow = c.rows.lowerBound + k
            let level = (useRow ? overscanCol[k] : averageOverscan) + overscanRowLevel
            for m in 0..<d.cols.count {
                let ri = rawRow * rawNx + d.cols.lowerBound + m
                let oi = ccdRow * nx + c.cols.lowerBound + m
                let v = raw[ri]
                if v >= saturADU { mask[oi] |= CCDMask.saturated }
                image[oi] = (v - level) * gain
                var rn = rdnoise
                if let b = bias {
                    let be = b[ri] * gain
                    rn = (rn * rn + max(be, 0)).squareRoot()
                }
                readnoise[oi] = rn
                if let dr = darkRaw { trimmedDark[oi] = dr[ri] * gain }
            }
        }
        return (cards, notes)
    }

    struct LoadedCalibration {
        var data: [Double]?
        var shape: [Int]
        var source: String
        /// For a dark: already in electrons for the exposure time (the non-linear dark model).
        var scaled = false
    }

    /// Reads a calibration image and records it as CCD_CALIB_<KEY> dependency in the header.
    static func loadCalibration(_ source: CalibrationSource, key: String, config: CalibrationConfig?, header: inout FITSHeader,
                                path: String, exptime: Double = 1) throws -> LoadedCalibration {
        var loaded = try loadCalibrationImage(source, key: key, config: config, header: &header, exptime: exptime)
        if key == "DARK", loaded.scaled == false, var d = loaded.data {
            for i in 0..<d.count { d[i] *= exptime }
            loaded.data = d
        }
        return loaded
    }

    static func loadCalibrationImage(_ source: CalibrationSource, key: String, config: CalibrationConfig?, header: inout FITSHeader,
                                     exptime: Double) throws -> LoadedCalibration {
        let dep = "CCD_CALIB_\(key)"
        switch source {
        case .none:
            header.setDependency(dep, "None")
            return LoadedCalibration(data: nil, shape: [], source: "none")
        case .array(let a):
            header.setDependency(dep, "Unknown image")
            return LoadedCalibration(data: a, shape: [], source: "array")
        case .fromConfig:
            guard let c = config else {
                throw DESIError.invalidArgument("no calibration config to find the \(key) file (give a file, or a DESI_SPECTRO_CALIB yaml)")
            }
            guard let file = c.file(key) else {
                if key == "PIXFLAT" { header.setDependency(dep, "None"); return LoadedCalibration(data: nil, shape: [], source: "none") }
                throw DESIError.badFile(path: c.path, problem: "no \(key) entry in version \(c.version)")
            }
            return try read(file, key: key, dep: dep, header: &header, exptime: exptime)
        case .file(let f):
            return try read(f, key: key, dep: dep, header: &header, exptime: exptime)
        }
    }

    static func read(_ file: String, key: String, dep: String, header: inout FITSHeader, exptime: Double) throws -> LoadedCalibration {
        let f: FITSFile
        do { f = try FITSFile.open(file) } catch { throw DESIError.badFile(path: file, problem: "cannot open \(key.lowercased()) calibration: \(error)") }
        if key == "DARK" && f.hduCount > 1 && f.hasHDU("DARK") {
            let d = try DarkModel.read(f, exptime: exptime)
            header.setDependency(dep, (file as NSString).lastPathComponent)
            return LoadedCalibration(data: d.data, shape: d.shape, source: file, scaled: true)
        }
        try f.moveTo(index: 0)
        var img: FITSImage<Double>
        do { img = try f.readImage(as: Double.self) } catch {
            if f.hduCount > 1 { try f.moveTo(index: 1); img = try f.readImage(as: Double.self) }
            else { throw DESIError.badFile(path: file, problem: "HDU 0 holds no \(key.lowercased()) image") }
        }
        guard img.shape.count == 2 else { throw DESIError.badFile(path: file, problem: "\(key.lowercased()) is not a 2-D image") }
        header.setDependency(dep, (file as NSString).lastPathComponent)
        return LoadedCalibration(data: img.data, shape: img.shape, source: file)
    }
}

/// Runs `body` over 0..<n split in fixed chunks on all cores (chunking does not depend on the thread count).
func parallelChunks(_ n: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = max(1, min(64, n / 65536))
    DispatchQueue.concurrentPerform(iterations: chunks) { k in body((n * k / chunks)..<(n * (k + 1) / chunks)) }
}

/// Float copy of a Double array, in parallel.
func toFloat(_ a: [Double]) -> [Float] {
    var out = [Float](repeating: 0, count: a.count)
    a.withUnsafeBufferPointer { ap in
    out.withUnsafeMutableBufferPointer { op in
        nonisolated(unsafe) let src = ap, dst = op
        parallelChunks(src.count) { range in for i in range { dst[i] = Float(src[i]) } }
    }}
    return out
}

/// First error thrown by concurrent work.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ e: Error) { lock.lock(); if stored == nil { stored = e }; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
}
