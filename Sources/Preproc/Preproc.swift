import DESICore
import FITS
import Foundation
import LinearAlgebra

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
    /// `--model-variance`: the Poisson variance from a model of the image (`ImageModel`) instead of the pixels.
    public var modelVariance = false
    /// `--bkgsub-for-science`: subtract the background measured between the blocks of fiber traces.
    public var bkgsubScience = false
    /// `--scattered-light`: subtract the model of light scattered in the spectrograph (`ScatteredLight`).
    public var scatteredLight = false
    /// How the gaps' pixels are averaged for `bkgsubScience` (`.ivar`: desispec's weights, biased low).
    public var bkgsubWeights: BlockBackground.GapWeights = .uniform
    /// CTE correction (desispec's default when the calibration config has CTECOLS<amp>, not for ZERO and DARK
    /// exposures): `noCTECorrection` switches it off; `cteParameterFile` is the night's ctecorr yaml (--cte-params).
    /// The correction needs `cteProfiles` (and divides by `fiberflat` in its image model when given).
    public var noCTECorrection = false
    public var cteParameterFile: String? = nil
    /// The PSF's cross-dispersion profiles on every row for the CTE correction's row-by-row image model, the x
    /// traces shifted by the offset measured on `shiftFrom` when given (`CTERowByRowModel`).
    public var cteProfiles: (@Sendable (_ ny: Int, _ shiftFrom: Image?) throws -> CrossDispersionProfiles)? = nil
    /// `--bkgsub-for-dark`: subtract the smooth background of the whole CCD (`DarkBackground`) before the cosmic rays.
    public var bkgsubDark = false
    /// The traces for the image model and the block background. Called with the number of image rows and, when
    /// the traces' x shift is to be fitted (desispec's default for the image model), the image after the cosmic rays.
    public var traces: (@Sendable (_ ny: Int, _ shiftFrom: Image?) throws -> FiberTraceGeometry)? = nil
    /// Whether the image model fits the traces' x shift first (desispec: not --no-traceshift).
    public var fitTraceShift = true
    /// Dependency versions to record: CCD_CALIB_PSF (the traces' file name) with the image model, SCATTERED_LIGHT_PSF
    /// for the block background alone (nil: none, as desispec when the PSF is given on the command line).
    public var tracesDependency: String? = nil
    public var scatteredLightDependency: String? = nil
    /// The fiber flat of the image model's sky (nil: no sky model) and its CCD_CALIB_FIBERFLAT version.
    public var fiberflat: ModelFiberFlat? = nil
    public var fiberflatDependency: String? = nil
    /// CCD regions flagged BAD for this exposure (`CCDRegionMask`, desispec's ccd-region-mask.csv; --noregionmask: none).
    public var regionMasks: [CCDRegionMask] = []
    /// Fill the result's `image.readnoise` (an image-sized array); false leaves it empty, and `PreprocResult.readNoise`
    /// gives the plane a band of rows at a time (the preproc command writes it so: 68 MB less for a full-size camera).
    public var readNoiseImage = true
    public init() {}
}

/// What `Preprocessor.run` returns: the image and notes worth logging (warnings about the data).
public struct PreprocResult: Sendable {
    public var image: Image
    /// The READNOISE plane, computed when asked for (`image.readnoise` holds the same values unless
    /// `PreprocOptions.readNoiseImage` was false).
    public var readNoise: ReadNoisePlane
    public var notes: [String]
    /// Pixels flagged as cosmic rays.
    public var cosmicCount: Int
    /// Wall-clock seconds of each step, in order (for `desispec preproc --timing`).
    public var timings: [(step: String, seconds: Double)] = []
}

/// What the cosmic-ray search leaves unchanged (it only adds mask bits): the header and the final pixels and
/// inverse variances.
public struct PreprocFinalPixels: Sendable {
    public let ny: Int, nx: Int
    public let header: FITSHeader
    public let pix: [Float]
    public let ivar: [Float]
}

/// CCD preprocessing as desispec.preproc.preproc (desispec 0.70): bias frame, overscan level and read noise per
/// amplifier, gain, saturation, crosstalk, dark, pixel flat, variance model var = max(image, 0) + readnoise^2 and
/// cosmic-ray masking. image = ((raw - bias - overscan) * gain - dark) / pixflat, in electrons.
public enum Preprocessor {
    /// `alongsideCosmicRays`, when given, runs on another thread while the cosmic rays are searched, with the parts
    /// of the image that are already final (the command writes them to the output file meanwhile); its error, if
    /// any, is thrown once the search is done.
    public static func run(_ raw: consuming RawImage, options: PreprocOptions = PreprocOptions(),
                           alongsideCosmicRays: (@Sendable (PreprocFinalPixels) throws -> Void)? = nil) throws -> PreprocResult {
        var clock = StepClock()
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
        if !missing.isEmpty {
            throw DESIError.badFile(path: path, problem: "missing keywords \(missing.joined(separator: " ")) in the camera header")
        }
        let cameraName = header.string("CAMERA")!.trimmingCharacters(in: .whitespaces).lowercased()
        guard let camera = Camera(cameraName) else {
            throw DESIError.badFile(path: path, problem: "CAMERA='\(cameraName)' is not a DESI camera (b0..z9)")
        }
        var sections = try amplifierSections(header, rawNy: raw.ny, rawNx: raw.nx, path: path)
        // calibration GOODBIASSEC<amp>: overscan columns to use instead of BIASSEC (then the average overscan)
        var headerBiasRows: [Range<Int>?] = sections.map { _ in nil }
        if let c = cfg {
            for i in sections.indices {
                guard let s = c.string("GOODBIASSEC\(sections[i].name)") else { continue }
                guard let r = CCDRegion(section: s), r.rows.upperBound <= raw.ny, r.cols.upperBound <= raw.nx, !r.cols.isEmpty,
                      !r.rows.isEmpty else {
                    let name = sections[i].name
                    throw DESIError.badFile(path: c.path, problem: "GOODBIASSEC\(name) '\(s)' is not a section of the raw image")
                }
                headerBiasRows[i] = sections[i].bias.rows
                sections[i].bias = r
            }
        }
        // calibration READNOISEPERROW: amplifiers whose read noise is kept per row for outlier rows
        var noisePerRow = Set<String>()
        if let c = cfg, let list = c.string("READNOISEPERROW") {
            let amps = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let unknown = amps.filter { a in !sections.contains { $0.name == a } }
            guard unknown.isEmpty else {
                throw DESIError.badFile(path: c.path, problem: "READNOISEPERROW amplifiers \(unknown) are not in \(ampIDs.joined())")
            }
            noisePerRow = Set(amps)
        }
        guard raw.data.count == raw.ny * raw.nx else {
            throw DESIError.badFile(path: path, problem: "raw image has \(raw.data.count) values, shape needs \(raw.ny * raw.nx)")
        }
        if let bad = firstNonFinite(raw.data) {
            let at = "row \(bad / raw.nx), column \(bad % raw.nx)"
            throw DESIError.badFile(path: path, problem: "raw image holds a non-finite value at \(at)")
        }
        // CTE: the traps of the amplifiers the calibration config names, checked before any work (desispec fails early)
        let cteAmplifiers = try cteAmplifiersToCorrect(options: options, config: cfg, sections: sections, header: header,
                                                       primary: raw.primaryHeader, camera: cameraName)
        var useOverscanRow = options.useOverscanRow
        if let c = cfg, let v = c.bool("USE_ORSEC") { useOverscanRow = v }

        // output shape from the CCD sections
        let ny = sections.map(\.ccd.rows.upperBound).max()!, nx = sections.map(\.ccd.cols.upperBound).max()!
        let rawNx = raw.nx, rawCount = raw.ny * raw.nx

        // calibration images, read at the same time
        let exptime = raw.primaryHeader.double("EXPTIME") ?? header.double("EXPTIME")
        let cal = try LoadedCalibrations.load(options, config: cfg, exptime: exptime, path: path)
        clock.lap("read calibration images")
        if let d = cal.dependency["CCD_CALIB_BIAS"] { header.addDependency(name: "CCD_CALIB_BIAS", version: d) }
        if let b = cal.bias {
            let shape = b.shape.isEmpty && b.data.count == rawCount ? [raw.ny, raw.nx] : b.shape
            guard b.data.count == rawCount, shape == [raw.ny, raw.nx] else {
                let given = b.shape.isEmpty ? [b.data.count] : b.shape
                throw DESIError.mismatch("bias \(b.source) has shape \(given), raw image is [\(raw.ny), \(raw.nx)]")
            }
        }
        var dark: DarkImage? = nil
        var darkTrimmed = true
        if let d0 = cal.dependency["CCD_CALIB_DARK"] { header.addDependency(name: "CCD_CALIB_DARK", version: d0) }
        if var d = cal.dark {
            if d.ny == 0 && d.nx == 0 {   // an array: the image's or the raw shape
                if d.rate.count == ny * nx { d.ny = ny; d.nx = nx } else if d.rate.count == rawCount { d.ny = raw.ny; d.nx = raw.nx }
            }
            if d.ny == ny && d.nx == nx { darkTrimmed = true }
            else if d.ny == raw.ny && d.nx == raw.nx { darkTrimmed = false }
            else {
                let shapes = "raw is [\(raw.ny), \(raw.nx)], preproc [\(ny), \(nx)]"
                throw DESIError.mismatch("dark \(cal.darkSource) has shape [\(d.ny), \(d.nx)]; \(shapes)")
            }
            if d.isAllZero {
                notes.append(d.exptime == 0 ? "dark model for exptime=0 is all zeros; not applied"
                                            : "dark model unexpectedly all zeros; not applied")
            } else {
                dark = d
            }
        }
        if let d = cal.dependency["CCD_CALIB_MASK"] { header.addDependency(name: "CCD_CALIB_MASK", version: d) }
        if let m = cal.mask {
            let shape = m.shape.isEmpty && m.data.count == ny * nx ? [ny, nx] : m.shape
            guard shape == [ny, nx], m.data.count == ny * nx else {
                let given = m.shape.isEmpty ? [m.data.count] : m.shape
                throw DESIError.mismatch("mask \(m.source) has shape \(given), image is [\(ny), \(nx)]")
            }
        }
        if let p = cal.pixflat {
            let shape = p.shape.isEmpty && p.data.count == ny * nx ? [ny, nx] : p.shape
            guard shape == [ny, nx], p.data.count == ny * nx else {
                // desispec fails on the pixel flat only after the amplifiers: same message, earlier
                let given = p.shape.isEmpty ? [p.data.count] : p.shape
                throw DESIError.mismatch("pixflat \(p.source) has shape \(given), image is [\(ny), \(nx)]")
            }
        }

        // the calibration mask, with the BAD bit on the CCD regions listed for this exposure (desispec: before the amplifiers)
        for r in options.regionMasks {
            notes.append("masking region XMIN=\(r.xmin) XMAX=\(r.xmax) YMIN=\(r.ymin) YMAX=\(r.ymax)")
        }
        let biasP = cal.bias?.data, pixflatP = cal.pixflat?.data
        let maskP = CCDRegionMask.merged(cal.mask?.data, regions: options.regionMasks, ny: ny, nx: nx)
        // the raw pixels are read by the amplifiers' measures and the pixel pass only: released after it (a full-size
        // camera's 71 MB then serve what follows instead of fresh memory), when the caller gave the image up
        var rawValues = raw.data
        raw.data = []
        let n = ny * nx
        var (pix, ivar, readnoise, mask, pass) = try rawValues.withUnsafeBufferPointer { rawP
            -> ([Float], [Float], [Float], [UInt32], PixelPass) in
            let pixels = RawPixels(raw: rawP, bias: biasP)
            // per amplifier: overscan level per row, read noise, gain, saturation (independent, in parallel)
            let hdr = header, useRow = useOverscanRow, darkImage = dark, trimmed = darkTrimmed
            let sections = sections, headerBiasRows = headerBiasRows, noisePerRow = noisePerRow
            let calibMask = maskP
            let amps = parallelMap(sections.count) { ai in
                let good = headerBiasRows[ai] != nil
                var plan = AmplifierPlan.measure(sections[ai], raw: pixels, rawNx: rawNx, nx: nx, header: hdr, config: cfg,
                                                 options: options, useOverscanRow: useRow && !good, calibMask: calibMask,
                                                 headerBias: headerBiasRows[ai], readnoisePerRow: noisePerRow.contains(sections[ai].name))
                if let d = darkImage {
                    // the dark frame's own noise over the amplifier (desispec: calc_overscan of the trimmed dark)
                    let a = sections[ai], g = plan.gain
                    plan.darkNoise = trimmed
                        ? RobustLevel.level(rows: a.ccd.rows.count, cols: a.ccd.cols.count) { r, buf in
                            d.values(row: a.ccd.rows.lowerBound + r, from: a.ccd.cols.lowerBound, scale: 1, into: buf) }.readnoise
                        : RobustLevel.level(rows: a.data.rows.count, cols: a.data.cols.count) { r, buf in
                            d.values(row: a.data.rows.lowerBound + r, from: a.data.cols.lowerBound, scale: g, into: buf) }.readnoise
                }
                return plan
            }
            for p in amps {
                for (k, v, c) in p.cards { header.set(k, v, comment: c) }
                notes += p.notes
            }
            clock.lap("overscan and read noise per amplifier")

            var pass = PixelPass(ny: ny, nx: nx, raw: pixels, rawNx: rawNx, plans: amps, bias: biasP, dark: dark,
                                 darkTrimmed: darkTrimmed, pixflat: pixflatP, calibMask: maskP)
            pass.segments = try PixelPass.rowSegments(ny: ny, nx: nx, plans: amps, path: path)

            // crosstalk (desispec: fraction of amp a1 flux, flipped according to the C D / A B layout, removed from a2)
            var crosstalk: [(Int, Int, Double)] = []
            if !options.nocrosstalk, let c = cfg {
                for a1 in amps.indices {
                    for a2 in amps.indices where a1 != a2 {
                        guard let k = c.double("CROSSTALK\(amps[a1].sections.name)\(amps[a2].sections.name)"), k != 0 else { continue }
                        guard a1 < 4, a2 < 4 else { continue }
                        let s1 = amps[a1].sections.ccd, s2 = amps[a2].sections.ccd
                        guard s1.rows.count == s2.rows.count, s1.cols.count == s2.cols.count else {
                            let pair = "\(amps[a1].sections.name)->\(amps[a2].sections.name)"
                            throw DESIError.mismatch("crosstalk \(pair): amplifier regions differ in size")
                        }
                        crosstalk.append((a1, a2, k))
                    }
                }
            }
            if !options.nodarktrail, let c = cfg {
                pass.trailKernels = amps.map { a in
                    guard let t = c.darkTrail(amp: a.sections.name) else { return [] }
                    return DarkTrail.kernel(trailWidth: t.width, amplitude: t.amplitude)
                }
            }
            for (a1, a2, k) in crosstalk {
                notes.append("correct for crosstalk=\(k) from amp \(amps[a1].sections.name) into \(amps[a2].sections.name)")
            }
            if !options.nodarktrail, let c = cfg {
                for a in amps {
                    guard let t = c.darkTrail(amp: a.sections.name) else { continue }
                    notes.append("amp \(a.sections.name): removing dark trails with width=\(t.width) and amplitude=\(t.amplitude)")
                }
            }
            if let d = cal.dependency["CCD_CALIB_PIXFLAT"] { header.addDependency(name: "CCD_CALIB_PIXFLAT", version: d) }

            // outputs; every element is written by the pixel pass
            var pix = LargeArrays.uninitialized(Float.self, n), ivar = LargeArrays.uninitialized(Float.self, n)
            var readnoise = options.readNoiseImage ? LargeArrays.uninitialized(Float.self, n) : []
            var mask = LargeArrays.uninitialized(UInt32.self, n)
            // a Double image only for a crosstalk correction (the cosmic-ray search reads the Float32 outputs: same
            // pixels, 270 MB less memory to fault in on a full-size camera)
            let image: UnsafeMutableBufferPointer<Double>? = crosstalk.isEmpty ? nil : .allocate(capacity: n)
            defer { image?.deallocate() }
            if let img = image {
                pass.gainImage(into: img)
                for (a1, a2, k) in crosstalk {
                    Crosstalk.correct(img, nx: nx, from: amps[a1].sections.ccd, fromIndex: a1, to: amps[a2].sections.ccd, toIndex: a2,
                                      fraction: k)
                }
                clock.lap("crosstalk")
            }
            pix.withUnsafeMutableBufferPointer { pb in
            ivar.withUnsafeMutableBufferPointer { ib in
            readnoise.withUnsafeMutableBufferPointer { rb in
            mask.withUnsafeMutableBufferPointer { mb in
                pass.run(pix: pb, ivar: ib, readnoise: rb.isEmpty ? nil : rb, mask: mb,
                         crosstalkCorrected: image.map { UnsafeBufferPointer($0) })
            }}}}
            clock.lap("pixel pass (image, variance, mask)")
            return (pix, ivar, readnoise, mask, pass)
        }
        rawValues = []
        pass.raw = RawPixels(raw: UnsafeBufferPointer(start: nil, count: 0), bias: nil)   // no pointer to the released pixels
        let cosmics = !options.nocosmic
        // --bkgsub-for-dark: the smooth background of the whole CCD, subtracted before the cosmic rays (desispec)
        var darkBackground: [Double]? = nil
        if options.bkgsubDark {
            let bkg = try DarkBackground.compute(pix: pix, ny: ny, nx: nx)
            for i in 0..<n { pix[i] = Float(Double(pix[i]) - bkg[i]) }
            darkBackground = bkg
            clock.lap("background of the whole CCD (--bkgsub-for-dark)")
        }

        if !cteAmplifiers.isEmpty {
            guard let profiles = options.cteProfiles else {
                throw DESIError.invalidArgument("the CTE correction needs a Gauss-Hermite PSF (--psf, or the calibration config's PSF)")
            }
            let iv = ivar, flat = options.fiberflat, (m, rn, h) = (mask, readnoise, header)
            notes += try CTECorrection.correct(pix: &pix, ny: ny, nx: nx, amplifiers: cteAmplifiers) { image in
                let current = Image(ny: ny, nx: nx, pix: image, ivar: iv, mask: m, readnoise: rn, header: h)
                return try CTERowByRowModel.compute(pix: image, ivar: iv, ny: ny, nx: nx,
                                                    profiles: profiles(ny, options.fitTraceShift ? current : nil), fiberflat: flat)
            }
            clock.lap("CTE correction")
        }
        // primary-header keywords complete the image header
        header.merge(raw.primaryHeader.filteringStructural())
        // the image model, the scattered light and the block background change IMAGE and IVAR after the
        // cosmic-ray search
        let postSteps = options.modelVariance || options.bkgsubScience || options.scatteredLight
        // (no other reference to pix and ivar while they can still change: changing them would copy them)
        let sideWork = postSteps ? nil : alongsideCosmicRays.map { work in
            let final = PreprocFinalPixels(ny: ny, nx: nx, header: header, pix: pix, ivar: ivar)
            return BackgroundTask { try work(final) }
        }
        var ncosmic = 0
        if cosmics {
            let c2 = options.cosmicsC2fudge ?? cfg?.double("COSMICS_C2") ?? 0.5
            let itl = header.string("CCDTYPE")?.contains("ITL") ?? false
            let rejector = CosmicRayRejector(psfGradients: CosmicRayRejector.psfGradients(arm: camera.arm, itl: itl),
                                             nsig: options.cosmicsNsig, cfudge: options.cosmicsCfudge, c2fudge: c2)
            let rejected = pix.withUnsafeBufferPointer { p in
                ivar.withUnsafeBufferPointer { iv in
                    mask.withUnsafeBufferPointer { m in rejector.reject(pix: p, ivar: iv, mask: m, ny: ny, nx: nx) }
                }
            }
            for i in rejected { mask[i] |= CCDMask.cosmic }
            ncosmic = rejected.count
            clock.lap("cosmic rays")
        }
        var geometry: FiberTraceGeometry? = nil
        var keptReadNoise: ReadNoisePlane.KeptRows? = nil
        if options.modelVariance {
            guard let traces = options.traces else {
                throw DESIError.invalidArgument("--model-variance needs the traces of a PSF")
            }
            // the image for the trace shift lives only in this call: ivar changes below (a live copy would be copied);
            // the traces are kept only for a later step that reads them (the model keeps their x and sigma: the
            // wavelength table is released before the variance's memory is taken)
            let model = try { () throws -> ImageModel.TraceCounts in
                let g = try traces(ny, options.fitTraceShift
                    ? Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: mask, readnoise: readnoise, header: header) : nil)
                if options.scatteredLight || options.bkgsubScience { geometry = g }
                clock.lap("traces for the image model")
                return try ImageModel.traceCounts(pix: pix, ivar: ivar, ny: ny, nx: nx, traces: g,
                                                  fiberflat: options.fiberflat, mask: mask)
            }()
            // the READNOISE plane's rows, computed for the variance, kept when the plane is not an image
            keptReadNoise = options.readNoiseImage ? nil : ReadNoisePlane.KeptRows(ny: ny, nx: nx)
            ModelVariance.apply(model: model, pix: pix, ivar: &ivar, ny: ny, nx: nx, pass: pass,
                                background: darkBackground, keep: keptReadNoise)
            if let d = options.tracesDependency { header.addDependency(name: "CCD_CALIB_PSF", version: d) }
            if let d = options.fiberflatDependency { header.addDependency(name: "CCD_CALIB_FIBERFLAT", version: d) }
            clock.lap("image model and its variance")
        }
        if !mask.contains(0) { notes.append("camera \(cameraName) is entirely masked (unusable)") }
        if options.scatteredLight {
            guard let traces = options.traces else { throw DESIError.invalidArgument("--scattered-light needs the traces of a PSF") }
            // desispec reuses the traces the image model shifted, else reads them unshifted
            if geometry == nil {
                geometry = try traces(ny, nil)
                if let d = options.scatteredLightDependency { header.addDependency(name: "SCATTERED_LIGHT_PSF", version: d) }
            }
            let light = try ScatteredLight.model(pix: pix, ivar: ivar, mask: mask, ny: ny, nx: nx, traces: geometry!,
                                                 camera: cameraName)
            for i in 0..<(ny * nx) { pix[i] = Float(Double(pix[i]) - light[i]) }
            clock.lap("scattered light")
        }
        if options.bkgsubScience {
            guard let traces = options.traces else {
                throw DESIError.invalidArgument("--bkgsub-for-science needs the traces of a PSF")
            }
            // desispec reuses the traces the image model shifted, else reads them unshifted
            let g: FiberTraceGeometry
            if let shifted = geometry { g = shifted } else { g = try traces(ny, nil) }
            if geometry == nil, let d = options.scatteredLightDependency {
                header.addDependency(name: "SCATTERED_LIGHT_PSF", version: d)
            }
            let ampRegions = sections.map { (name: $0.name, rows: $0.ccd.rows, cols: $0.ccd.cols) }
            let bkg = try BlockBackground.compute(pix: pix, ivar: ivar, mask: mask, ny: ny, nx: nx, traces: g,
                                                  amplifiers: ampRegions, weights: options.bkgsubWeights)
            for i in 0..<(ny * nx) { pix[i] = Float(Double(pix[i]) - bkg.background[i]) }
            for a in bkg.perAmplifier {
                header.set("BBKGMIN\(a.amp)", a.min); header.set("BBKGMAX\(a.amp)", a.max)
            }
            if !bkg.maskedGaps.isEmpty {
                notes.append("masking inter blocks \(bkg.maskedGaps) because of scattered light from bright fibers")
            }
            clock.lap("background between fiber blocks")
        }
        if postSteps, let work = alongsideCosmicRays {
            try work(PreprocFinalPixels(ny: ny, nx: nx, header: header, pix: pix, ivar: ivar))
        }
        if let sideWork {
            try sideWork.value()
            clock.lap("rest of the work alongside the cosmic-ray search")
        }
        let out = Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: mask, readnoise: readnoise, header: header)
        return PreprocResult(image: out, readNoise: ReadNoisePlane(pass, kept: keptReadNoise), notes: notes, cosmicCount: ncosmic,
                             timings: clock.laps)
    }
}

/// The amplifiers to correct for CTE (empty: none): those with CTECOLS<amp> in the calibration config, unless the
/// correction is switched off or the exposure is a ZERO or a DARK (desispec.preproc.preproc and needs_ctecorr).
func cteAmplifiersToCorrect(options: PreprocOptions, config: CalibrationConfig?, sections: [AmplifierSections],
                            header: FITSHeader, primary: FITSHeader, camera: String) throws -> [CTEAmplifier] {
    guard !options.noCTECorrection, let c = config else { return [] }
    let obstype = (primary.string("OBSTYPE") ?? header.string("OBSTYPE") ?? "").trimmingCharacters(in: .whitespaces).uppercased()
    if obstype == "ZERO" || obstype == "DARK" { return [] }
    guard try !CTEParameters.sectors(config: c, ampIDs: sections.map(\.name)).isEmpty else { return [] }
    guard let file = options.cteParameterFile else {
        throw DESIError.badFile(path: c.path, problem: "camera \(camera) needs a CTE correction (CTECOLS) but no CTE parameter file "
                                + "is known: give --cte-params FILE, set DESI_SPECTRO_REDUX and SPECPROD, or --no-cte-correction")
    }
    guard let night = CalibrationConfig.nightOf([header, primary]) else {
        throw DESIError.badFile(path: file, problem: "no NIGHT or DATE-OBS in the exposure's headers to select CTE parameters")
    }
    let nx = sections.map(\.ccd.cols.upperBound).max() ?? 0
    return try CTEParameters.amplifiers(config: c, sections: sections, imageNx: nx, parameterFile: file, night: night, camera: camera)
}

/// Raw pixel values in ADU, minus the bias frame when there is one (desispec subtracts it first, in float64).
struct RawPixels: @unchecked Sendable {
    var raw: UnsafeBufferPointer<Float>
    var bias: CalibrationPlane?
    @inline(__always) subscript(_ i: Int) -> Double {
        if let b = bias { return Double(raw[i]) - b[i] }
        return Double(raw[i])
    }
}

/// Crosstalk correction of desispec.preproc: image[to] -= fraction x image[from], mirrored in rows between bottom
/// (A, B) and top (C, D) amplifiers and in columns between left (A, C) and right (B, D) ones. Rows run in parallel
/// (a correction reads one region and writes another).
enum Crosstalk {
    static func correct(_ image: UnsafeMutableBufferPointer<Double>, nx: Int, from s1: CCDRegion, fromIndex a1: Int,
                        to s2: CCDRegion, toIndex a2: Int, fraction k: Double) {
        let flip0: [[Int]] = [[1, 1, -1, -1], [1, 1, -1, -1], [-1, -1, 1, 1], [-1, -1, 1, 1]]
        let flip1: [[Int]] = [[1, -1, 1, -1], [-1, 1, -1, 1], [1, -1, 1, -1], [-1, 1, -1, 1]]
        let nr = s1.rows.count, nc = s1.cols.count
        let flipRows = flip0[a1][a2] == -1, flipCols = flip1[a1][a2] == -1
        let img = SharedBuffer(image)
        let blocks = max(1, min(64, nr))
        parallelFor(blocks) { b in
            for i in (nr * b / blocks)..<(nr * (b + 1) / blocks) {
                let si = flipRows ? nr - 1 - i : i
                let dst = (s2.rows.lowerBound + i) * nx + s2.cols.lowerBound
                let src = (s1.rows.lowerBound + si) * nx + s1.cols.lowerBound
                for j in 0..<nc {
                    let sj = flipCols ? nc - 1 - j : j
                    img[dst + j] -= k * img[src + sj]
                }
            }
        }
    }
}

/// The dark-trail correction of amplifier `amp` in a calibration config (DARKTRAILAMP*, DARKTRAILWIDTH*), nil: none.
extension CalibrationConfig {
    func darkTrail(amp: String) -> (amplitude: Double, width: Double)? {
        guard let amplitude = double("DARKTRAILAMP\(amp)"), let width = double("DARKTRAILWIDTH\(amp)") else { return nil }
        return (amplitude, width)
    }
}

/// Wall-clock time of successive steps.
struct StepClock {
    private var last = DispatchTime.now().uptimeNanoseconds
    private(set) var laps: [(step: String, seconds: Double)] = []
    mutating func lap(_ step: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        laps.append((step, Double(now - last) * 1e-9))
        last = now
    }
}

/// Index of the first non-finite value, checked in parallel blocks.
func firstNonFinite(_ a: [Float]) -> Int? {
    let blocks = max(1, min(64, a.count / 65536))
    let firsts = a.withUnsafeBufferPointer { ap in
        nonisolated(unsafe) let src = ap
        return parallelMap(blocks) { b -> Int in
            let lo = src.count * b / blocks, hi = src.count * (b + 1) / blocks
            // a value is not finite when its exponent bits are all set: a max-reduction over integers vectorises
            var e: UInt32 = 0
            for i in lo..<hi { e = max(e, src[i].bitPattern & 0x7f80_0000) }
            guard e == 0x7f80_0000 else { return Int.max }
            return (lo..<hi).first { !src[$0].isFinite } ?? Int.max
        }
    }
    let m = firsts.min()!
    return m == Int.max ? nil : m
}

