import Foundation

/// Thresholds of the tests behind the quality grades (Docs/qa.md, "Quality grades").
public struct QualityThresholds: Sendable {
    /// Fraction of a fiber's pixels masked or with ivar 0: above `maskedMinor` MASKED (2), above `maskedBad`
    /// MOSTLYMASKED (3).
    public var maskedMinor = 0.10
    public var maskedBad = 0.50
    /// CHI2PIX (2): the fiber's median chi2 per pixel of the 2D extraction fit is above both `chi2pixRatio` times the
    /// camera's median fiber and `chi2pixMin`.
    public var chi2pixRatio = 2.0
    public var chi2pixMin = 2.0
    /// NOLIGHT (3): the fiber's summed electrons are below `noLightFraction` of the camera's median fiber; applied only
    /// where the median fiber is detected at more than `noLightDetection` sigma (so not on dark frames).
    public var noLightFraction = 0.05
    public var noLightDetection = 20.0
    /// NEGFLUX (4): more than `negativeFraction` of the fiber's `negativeBlock`-pixel blocks (ivar-weighted means)
    /// lie more than `negativeSigma` sigma below zero after sky subtraction.
    public var negativeBlock = 25
    public var negativeSigma = 3.0
    public var negativeFraction = 0.20
    /// SKYCHI2 (2): a sky fiber's residual chi2 per degree of freedom is above `skyChi2Ratio` times the median of its
    /// `skyNeighbours` nearest sky fibers (by fiber number) and significantly above 1 (`skyChi2Sigma` sigma).
    public var skyChi2Ratio = 1.5
    public var skyNeighbours = 10
    public var skyChi2Sigma = 5.0

    public init() {}
}

/// The tests behind the quality grades, on what each stage knows: the extraction (frame) and the sky-subtracted,
/// possibly calibrated, frame (sframe / cframe). Each returns one assessment per fiber; a stage merges them with the
/// QUALITY_GRADE / QUALITY_REASONS its input already carries (`Frame.addQuality`).
public enum QualityGrading {

    /// FIBERSTATUS bits that make a fiber unusable by its geometry or hardware (grade 3).
    public static let badFiberBits: UInt32 = FiberStatus.brokenFiber | FiberStatus.missingPosition
        | FiberStatus.badPosition | FiberStatus.badFiber

    /// FIBERSTATUS bits of a failure upstream of the spectrum (calibration or CCD; grade 5). Amplifier bits count for
    /// the frame's own arm only (all arms when the camera is unknown).
    public static func upstreamBits(arm: Camera.Arm?) -> UInt32 {
        FiberStatus.badTrace | FiberStatus.badFlat | FiberStatus.badArc | FiberStatus.manyBadColumns
            | FiberStatus.manyRejected | FiberStatus.badAmp(arm: arm)
    }

    /// FIBERSTATUS, valid pixels, masked fraction: the tests every stage can run.
    static func common(_ frame: Frame, _ t: QualityThresholds) -> [FiberQuality] {
        let nspec = frame.nspec, nwave = frame.nwave
        let status = frame.fibermap?.fiberStatus ?? [UInt32](repeating: 0, count: nspec)
        let upstream = upstreamBits(arm: frame.camera?.arm)
        return (0..<nspec).map { f in
            var q = FiberQuality()
            if status[f] & badFiberBits != 0 { q.add(.fiberStatus) }
            if status[f] & upstream != 0 { q.add(.upstream) }
            if status[f] & FiberStatus.lowTransmission != 0 { q.add(.lowTransmission) }
            // A fiber FIBERSTATUS already rejects is masked by later stages (desispec get_fiberbitmasked_frame): its
            // masked pixels are a consequence, not another reason.
            guard status[f] & (badFiberBits | upstream) == 0 else { return q }
            var bad = 0
            for j in 0..<nwave {
                let k = f * nwave + j
                if frame.ivar[k] <= 0 || frame.mask[k] != 0 || !frame.flux[k].isFinite { bad += 1 }
            }
            if bad == nwave { q.add(.noData) }
            else if Double(bad) > t.maskedBad * Double(nwave) { q.add(.mostlyMasked) }
            else if Double(bad) > t.maskedMinor * Double(nwave) { q.add(.masked) }
            return q
        }
    }

    /// Valid pixels of fiber f: ivar > 0, unmasked, finite.
    static func valid(_ frame: Frame, _ f: Int) -> [Int] {
        let nwave = frame.nwave
        return (0..<nwave).filter { j in
            let k = f * nwave + j
            return frame.ivar[k] > 0 && frame.mask[k] == 0 && frame.flux[k].isFinite
        }
    }

    static func median(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return .nan }
        let s = v.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2])
    }

    /// The tests of an extracted frame (electrons, before sky subtraction): the common ones, the extraction's
    /// chi2 per pixel against the camera's median fiber, and no light against the camera's median fiber.
    public static func extraction(_ frame: Frame, thresholds t: QualityThresholds = QualityThresholds()) -> [FiberQuality] {
        var out = common(frame, t)
        let nspec = frame.nspec, nwave = frame.nwave
        let good = (0..<nspec).map { valid(frame, $0) }
        if let chi2 = frame.chi2pix, chi2.count == frame.flux.count {
            let perFiber = (0..<nspec).map { f in median(good[f].map { Double(chi2[f * nwave + $0]) }) }
            let reference = median(perFiber.filter(\.isFinite))
            for f in 0..<nspec where perFiber[f].isFinite && reference.isFinite {
                if perFiber[f] > t.chi2pixMin && perFiber[f] > t.chi2pixRatio * reference { out[f].add(.chi2pix) }
            }
        }
        // Summed electrons and their noise per fiber; the camera's median fiber must be clearly lit for the test.
        var total = [Double](repeating: .nan, count: nspec), noise = total
        for f in 0..<nspec where !good[f].isEmpty {
            var s = 0.0, v = 0.0
            for j in good[f] { s += Double(frame.flux[f * nwave + j]); v += 1 / Double(frame.ivar[f * nwave + j]) }
            // Scaled to the full grid, so that fibers with a few masked pixels compare fairly.
            let scale = Double(nwave) / Double(good[f].count)
            total[f] = s * scale; noise[f] = v.squareRoot() * scale
        }
        let refTotal = median(total.filter(\.isFinite)), refNoise = median(noise.filter(\.isFinite))
        if refTotal.isFinite, refNoise.isFinite, refTotal > t.noLightDetection * refNoise {
            for f in 0..<nspec where total[f].isFinite && total[f] < t.noLightFraction * refTotal { out[f].add(.noLight) }
        }
        return out
    }

    /// The tests of a sky-subtracted (sframe) or calibrated (cframe) frame: the common ones, significantly negative
    /// flux, sky fibers' residual chi2 against their neighbours', a fallback flux calibration (FCFALLBK), and
    /// fibers in a residual feature of the frame diagnosis (`diagnosedFibers`, FIBER numbers).
    public static func skySubtracted(_ frame: Frame, fallbackCalibration: Bool = false, diagnosedFibers: Set<Int> = [],
                                     thresholds t: QualityThresholds = QualityThresholds()) -> [FiberQuality] {
        var out = common(frame, t)
        let nspec = frame.nspec, nwave = frame.nwave
        let fibers = frame.fibers
        for f in 0..<nspec {
            if fallbackCalibration { out[f].add(.fallbackCalibration) }
            if diagnosedFibers.contains(fibers[f]) { out[f].add(.diagnosis) }
            if negativeBlockFraction(frame, f, t) > t.negativeFraction { out[f].add(.negativeFlux) }
        }
        // Sky fibers: chi2 per degree of freedom of the residual, against the nearest sky fibers'.
        let skyRows = frame.fibermap?.rows(objtype: "SKY") ?? []
        let chi2: [Int: (Double, Int)] = Dictionary(uniqueKeysWithValues: skyRows.map { f in
            let g = valid(frame, f)
            let c = g.reduce(0.0) { s, j in
                let k = f * nwave + j
                return s + Double(frame.flux[k]) * Double(frame.flux[k]) * Double(frame.ivar[k])
            }
            return (f, (g.isEmpty ? .nan : c / Double(g.count), g.count))
        })
        for f in skyRows {
            guard let (c, dof) = chi2[f], c.isFinite, dof > 0 else { continue }
            let others = skyRows.filter { $0 != f }.sorted { abs($0 - f) < abs($1 - f) }.prefix(t.skyNeighbours)
            let reference = median(others.compactMap { chi2[$0]?.0 }.filter(\.isFinite))
            guard reference.isFinite else { continue }
            let significant = c > 1 + t.skyChi2Sigma * (2 / Double(dof)).squareRoot()
            if significant && c > t.skyChi2Ratio * reference { out[f].add(.skyChi2) }
        }
        return out
    }

    /// Fraction of a fiber's blocks of `negativeBlock` pixels whose ivar-weighted mean is more than `negativeSigma`
    /// sigma below zero (blocks without valid pixels are not counted).
    static func negativeBlockFraction(_ frame: Frame, _ f: Int, _ t: QualityThresholds) -> Double {
        let nwave = frame.nwave, width = max(1, t.negativeBlock)
        var blocks = 0, negative = 0
        var start = 0
        while start < nwave {
            var sw = 0.0, swx = 0.0
            for j in start..<min(nwave, start + width) {
                let k = f * nwave + j
                let iv = Double(frame.ivar[k])
                guard iv > 0, frame.mask[k] == 0, frame.flux[k].isFinite else { continue }
                sw += iv; swx += iv * Double(frame.flux[k])
            }
            if sw > 0 {
                blocks += 1
                if swx / sw < -t.negativeSigma / sw.squareRoot() { negative += 1 }
            }
            start += width
        }
        return blocks > 0 ? Double(negative) / Double(blocks) : 0
    }
}
