import DESICore
import Foundation

/// Finds broad residual features in a sky-subtracted (or calibrated) frame and says what kind of problem they point
/// to, as the DESI data-QA tutorial did by eye (ds9 on sframes: vertical stripes vs curved features; fibers grouped
/// by 50 on the slit / focal plane; the sky residual around a wavelength against focal-plane position).
///
/// Method: the frame is rebinned in wavelength; each bin is compared with the median of all fibers at that bin,
/// after removing each fiber's own slowly varying continuum relative to that median (LocalContinuum over
/// `continuumWindow` Angstrom, or the fiber's median offset where the frame is narrower), so that the objects'
/// continua (bright standard stars differ most from the median fiber) are not taken for residuals. The difference is
/// expressed in units of the fiber-to-fiber scatter, or of the fiber's own noise where larger, with a floor of
/// `objectStructure` times the fiber's own flux level: an object's absorption or emission lines are a fraction of its
/// continuum, whereas a sky or calibration residual does not scale with the object (and a fiber whose residual is
/// shallower than `objectLineDepth` of its own level is not counted in a feature). Cells
/// more than `threshold` sigma off after smoothing over 3 bins and 5 fibers (faint objects only) are grouped into connected regions in
/// (fiber, wavelength); each fiber then joins a region only if its own residual there is significant; a region of at
/// least `minFibers` fibers and `minBins` bins is a feature.
public struct FrameDiagnosis: Sendable {
    public struct Feature: Sendable {
        /// Fiber numbers affected.
        public var fibers: [Int]
        public var waveMin: Double
        public var waveMax: Double
        /// +1 excess, -1 deficit.
        public var sign: Int
        /// Mean residual over the feature, in flux units of the frame, and in units of the noise.
        public var meanResidual: Double
        public var significance: Double
        /// "wavelength" (constant wavelength across fibers: a sky-model or calibration problem, a vertical stripe in
        /// a frame image) or "ccd-rows" (constant CCD row: a CCD-level problem, curved in a frame image),
        /// "undetermined" otherwise.
        public var alignment: String
        /// Spread (rms over fibers) of the feature's centroid, in Angstrom and, when a trace is known, in CCD rows.
        public var centroidSpreadWave: Double
        public var centroidSpreadRows: Double?
        /// 50-fiber blocks (fiber / 50) the feature fills, and whether it follows those blocks.
        public var blocks: [Int]
        public var groupsBy50: Bool
        /// Mean focal-plane position (mm) of the affected fibers, and whether they cluster on the focal plane.
        public var focalPlaneCenter: (Double, Double)?
        public var focalPlaneClustered: Bool?
        /// A one-line reading for a person.
        public var summary: String
    }

    public var features: [Feature]
    public var flagged: Bool { !features.isEmpty }
    /// The normalized residual image [nspec, nbins] and bin centres, for figures.
    public var residualImage: [Float]
    public var binCenters: [Double]
    public var nspec: Int

    public struct Options: Sendable {
        public var binWidthPixels = 25
        /// Detection threshold on the smoothed map, in sigma.
        public var threshold = 5.0
        /// Half width (fibers) of the smoothing across fibers.
        public var fiberHalfWidth = 2
        /// A fiber joins a feature when its own residual over the feature's bins exceeds this, in sigma.
        public var memberThreshold = 2.5
        public var minFibers = 3
        public var minBins = 2
        /// Width (Angstrom) of the window of each fiber's continuum; features up to about a quarter of it are kept.
        public var continuumWindow = 1000.0
        /// Floor of the noise of a cell, as a fraction of the fiber's own flux level: an object's own spectral
        /// structure is not counted as residual significance.
        public var objectStructure = 0.1
        /// A fiber joins a feature only if its residual there exceeds this fraction of its own flux level: deeper
        /// than an object's own lines or breaks (stars in neighbouring fibers share their Balmer features at the
        /// same wavelengths, and would otherwise pass for a wavelength-aligned residual).
        public var objectLineDepth = 0.3
        public init() {}
    }

    /// - Parameter ccdRow: optional CCD row (y) of fiber index i at a wavelength, from the PSF traces, to tell
    ///   wavelength-aligned from row-aligned features.
    public static func analyze(_ frame: Frame, options: Options = Options(),
                               ccdRow: ((Int, Double) -> Double)? = nil) -> FrameDiagnosis {
        let nspec = frame.nspec, nwave = frame.nwave
        let width = max(1, min(options.binWidthPixels, nwave / 4))
        let nbin = nwave / width
        var value = [Double](repeating: .nan, count: nspec * nbin)
        var error = [Double](repeating: .nan, count: nspec * nbin)
        var centers = [Double](repeating: 0, count: nbin)
        for b in 0..<nbin { centers[b] = QAStats.mean(Array(frame.wave[(b * width)..<((b + 1) * width)])) }
        for f in 0..<nspec {
            for b in 0..<nbin {
                var sw = 0.0, swx = 0.0
                for j in (b * width)..<((b + 1) * width) {
                    let k = f * nwave + j
                    let iv = Double(frame.ivar[k])
                    guard iv > 0, frame.mask[k] == 0, frame.flux[k].isFinite else { continue }
                    sw += iv; swx += iv * Double(frame.flux[k])
                }
                if sw > 0 && Double(width) > 0 { value[f * nbin + b] = swx / sw; error[f * nbin + b] = 1 / sw.squareRoot() }
            }
        }
        // Remove the ensemble median per bin and each fiber's own continuum relative to it (a constant offset where
        // the frame is narrower than the continuum window); keep each fiber's own flux level for the noise floor.
        let ensemble = (0..<nbin).map { b in QAStats.median((0..<nspec).map { value[$0 * nbin + b] }) }
        let binWidthAngstrom = abs(centers[nbin - 1] - centers[0]) / Double(max(1, nbin - 1))
        let window = binWidthAngstrom > 0 ? Int((options.continuumWindow / binWidthAngstrom).rounded()) : nbin
        var resid = [Double](repeating: .nan, count: nspec * nbin)
        var level = [Double](repeating: 0, count: nspec * nbin)
        for f in 0..<nspec {
            let own = Array(value[(f * nbin)..<((f + 1) * nbin)])
            let relative = (0..<nbin).map { own[$0] - ensemble[$0] }
            let continuum: [Double]
            if window < nbin {
                continuum = LocalContinuum.estimate(relative, window: window)
                let smoothOwn = LocalContinuum.estimate(own, window: window)
                for b in 0..<nbin where smoothOwn[b].isFinite { level[f * nbin + b] = abs(smoothOwn[b]) }
            } else {
                let offset = QAStats.median(relative)
                continuum = [Double](repeating: offset.isFinite ? offset : 0, count: nbin)
                let ownLevel = QAStats.median(own)
                for b in 0..<nbin { level[f * nbin + b] = ownLevel.isFinite ? abs(ownLevel) : 0 }
            }
            for b in 0..<nbin { resid[f * nbin + b] = relative[b] - (continuum[b].isFinite ? continuum[b] : 0) }
        }
        // Normalize by noise and by the robust fiber-to-fiber scatter of each bin.
        var z = [Double](repeating: 0, count: nspec * nbin)
        // Cells where the object's own structure (the floor) outweighs the noise say little about residuals shared
        // by neighbouring fibers: they are left out of the smoothed map, which there shows their neighbours.
        var faint = [Bool](repeating: false, count: nspec * nbin)
        for b in 0..<nbin {
            let column = (0..<nspec).map { resid[$0 * nbin + b] }.filter(\.isFinite)
            let scatter = QAStats.robustSigma(column)
            for f in 0..<nspec {
                let r = resid[f * nbin + b], e = error[f * nbin + b]
                guard r.isFinite, e.isFinite else { continue }
                // The scatter across fibers already holds each fiber's noise; a noisier fiber uses its own error; a
                // bright object's own spectral features stay below the floor.
                let noise = max(e, scatter.isFinite ? scatter : 0), floor = options.objectStructure * level[f * nbin + b]
                let s = (noise * noise + floor * floor).squareRoot()
                z[f * nbin + b] = s > 0 ? r / s : 0
                faint[f * nbin + b] = floor <= noise
            }
        }
        // Smooth over 3 bins x (2 fiberHalfWidth + 1) fibers, scaled back to unit variance for white noise: a broad
        // feature shared by neighbouring fibers stands out far above the noise of any one cell.
        let hf = options.fiberHalfWidth
        var zs = [Double](repeating: 0, count: nspec * nbin)
        for f in 0..<nspec {
            for b in 0..<nbin {
                var sum = 0.0, n = 0
                for ff in max(0, f - hf)...min(nspec - 1, f + hf) {
                    for bb in max(0, b - 1)...min(nbin - 1, b + 1) where faint[ff * nbin + bb] { sum += z[ff * nbin + bb]; n += 1 }
                }
                zs[f * nbin + b] = n > 0 ? sum / Double(n).squareRoot() : 0
            }
        }
        // Connected regions of significant smoothed cells of one sign.
        var label = [Int](repeating: -1, count: nspec * nbin)
        var regions: [[Int]] = []
        for start in 0..<(nspec * nbin) where abs(zs[start]) > options.threshold && label[start] < 0 {
            let sign = zs[start] > 0
            var stack = [start], cells: [Int] = []
            label[start] = regions.count
            while let c = stack.popLast() {
                cells.append(c)
                let f = c / nbin, b = c % nbin
                for (df, db) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let nf = f + df, nb = b + db
                    guard nf >= 0, nf < nspec, nb >= 0, nb < nbin else { continue }
                    let n = nf * nbin + nb
                    if label[n] < 0 && abs(zs[n]) > options.threshold && (zs[n] > 0) == sign {
                        label[n] = regions.count
                        stack.append(n)
                    }
                }
            }
            regions.append(cells)
        }
        let fibers = frame.fibers
        let fx = frame.fibermap?.fiberX, fy = frame.fibermap?.fiberY
        var features: [Feature] = []
        for regionCells in regions {
            let sign = zs[regionCells[0]] > 0 ? 1 : -1
            // Bins of the region for each fiber row (smoothing spreads it by hf fibers: look at the nearest row).
            var binsOfRow: [Int: [Int]] = [:]
            for c in regionCells { binsOfRow[c / nbin, default: []].append(c % nbin) }
            let regionRows = binsOfRow.keys.sorted()
            // Membership: a fiber belongs to the feature when its own unsmoothed residual over those bins is
            // significant (combined over the bins) with the feature's sign.
            var cells: [Int] = []
            var rows: [Int] = []
            for r in max(0, regionRows.first! - hf)...min(nspec - 1, regionRows.last! + hf) {
                let nearest = regionRows.min { abs($0 - r) < abs($1 - r) }!
                let bins = binsOfRow[nearest]!
                let combined = bins.reduce(0) { $0 + z[r * nbin + $1] } / Double(bins.count).squareRoot()
                let meanResid = QAStats.mean(bins.map { resid[r * nbin + $0] }.filter(\.isFinite))
                let meanLevel = QAStats.mean(bins.map { level[r * nbin + $0] })
                if Double(sign) * combined > options.memberThreshold && abs(meanResid) > options.objectLineDepth * meanLevel {
                    rows.append(r)
                    cells += bins.map { r * nbin + $0 }
                }
            }
            let bins = Set(cells.map { $0 % nbin }).sorted()
            guard rows.count >= options.minFibers, bins.count >= options.minBins else { continue }
            let meanResid = QAStats.mean(cells.map { resid[$0] }.filter(\.isFinite))
            let significance = abs(cells.reduce(0) { $0 + z[$1] }) / Double(cells.count).squareRoot()
            // Centroid wavelength of each fiber's part of the feature.
            var centroidWave: [Double] = [], centroidRow: [Double] = []
            for r in rows {
                let mine = cells.filter { $0 / nbin == r }
                let w = mine.map { max(0, Double(sign) * z[$0]) + 1e-9 }
                let c = zip(mine, w).reduce(0) { $0 + centers[$1.0 % nbin] * $1.1 } / w.reduce(0, +)
                centroidWave.append(c)
                if let ccdRow { centroidRow.append(ccdRow(r, c)) }
            }
            let spreadWave = QAStats.std(centroidWave)
            let spreadRows = ccdRow == nil ? nil : Optional(QAStats.std(centroidRow))
            let dispersion = abs(centers.last! - centers.first!) / Double(max(1, nwave))   // A per pixel
            let alignment: String
            if let sr = spreadRows {
                let srWave = sr * dispersion   // rows -> Angstrom, to compare like with like
                alignment = spreadWave <= srWave ? "wavelength" : "ccd-rows"
            } else {
                alignment = spreadWave <= Double(width) * dispersion ? "wavelength" : "undetermined"
            }
            // Blocks of 50 fibers.
            let affected = rows.map { fibers[$0] }
            var perBlock: [Int: Int] = [:]
            for fib in affected { perBlock[(fib % 500) / 50, default: 0] += 1 }
            let present = Dictionary(grouping: fibers.map { ($0 % 500) / 50 }, by: { $0 }).mapValues(\.count)
            let fullBlocks = perBlock.filter { Double($0.value) >= 0.8 * Double(present[$0.key] ?? 50) }.map(\.key).sorted()
            let inFull = affected.filter { fullBlocks.contains(($0 % 500) / 50) }.count
            let groupsBy50 = !fullBlocks.isEmpty && Double(inFull) >= 0.8 * Double(affected.count)
            // Focal plane.
            var center: (Double, Double)? = nil
            var clustered: Bool? = nil
            if let fx, let fy, fx.contains(where: { $0 != 0 }) {
                let ax = rows.map { fx[$0] }, ay = rows.map { fy[$0] }
                center = (QAStats.mean(ax), QAStats.mean(ay))
                let spreadAffected = (QAStats.std(ax) * QAStats.std(ax) + QAStats.std(ay) * QAStats.std(ay)).squareRoot()
                let spreadAll = (QAStats.std(fx) * QAStats.std(fx) + QAStats.std(fy) * QAStats.std(fy)).squareRoot()
                clustered = spreadAffected < 0.5 * spreadAll
            }
            var text = "\(sign > 0 ? "excess" : "deficit") of \(String(format: "%.3g", abs(meanResid))) over "
            let lowEdge = Int(centers[bins.first!] - Double(width) * dispersion / 2)
            let highEdge = Int(centers[bins.last!] + Double(width) * dispersion / 2)
            text += "\(lowEdge)-\(highEdge) A "
            text += "in \(affected.count) fibers (\(affected.first!)-\(affected.last!))"
            switch alignment {
            case "wavelength":
                text += "; constant in wavelength across fibers: a sky-model or calibration problem (vertical stripe in the frame image)"
            case "ccd-rows": text += "; follows CCD rows: a CCD-level problem (curved feature in the frame image)"
            default: text += "; alignment undetermined"
            }
            if groupsBy50 { text += "; groups by 50-fiber blocks \(fullBlocks.map(String.init).joined(separator: ","))" }
            if clustered == true { text += "; clustered on the focal plane" }
            let halfBin = Double(width) * dispersion / 2
            features.append(Feature(fibers: affected, waveMin: centers[bins.first!] - halfBin, waveMax: centers[bins.last!] + halfBin,
                                    sign: sign, meanResidual: meanResid, significance: significance, alignment: alignment,
                                    centroidSpreadWave: spreadWave, centroidSpreadRows: spreadRows, blocks: fullBlocks,
                                    groupsBy50: groupsBy50, focalPlaneCenter: center, focalPlaneClustered: clustered, summary: text))
        }
        features.sort { $0.significance > $1.significance }
        return FrameDiagnosis(features: features, residualImage: z.map { Float($0) }, binCenters: centers, nspec: nspec)
    }

    /// The diagnosis as a QA dictionary.
    public var qaValue: QAValue {
        .dict([
            ("FLAGGED", .bool(flagged)),
            ("NFEATURES", .int(features.count)),
            ("FEATURES", .list(features.map { f in
                var items: [(String, QAValue)] = [
                    ("SUMMARY", .string(f.summary)), ("FIBERS", .ints(f.fibers)),
                    ("WAVE_RANGE", .doubles([f.waveMin, f.waveMax])), ("SIGN", .int(f.sign)),
                    ("MEAN_RESID", .double(f.meanResidual)), ("SIGNIFICANCE", .double(f.significance)),
                    ("ALIGNMENT", .string(f.alignment)), ("CENTROID_RMS_WAVE", .double(f.centroidSpreadWave)),
                    ("BLOCKS_OF_50", .ints(f.blocks)), ("GROUPS_BY_50", .bool(f.groupsBy50)),
                ]
                if let r = f.centroidSpreadRows { items.append(("CENTROID_RMS_ROWS", .double(r))) }
                if let c = f.focalPlaneCenter { items.append(("FOCALPLANE_CENTER_MM", .doubles([c.0, c.1]))) }
                if let c = f.focalPlaneClustered { items.append(("FOCALPLANE_CLUSTERED", .bool(c))) }
                return .dict(items)
            })),
        ])
    }
}
