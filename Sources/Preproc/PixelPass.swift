import DESICore
import Foundation
import LinearAlgebra

/// The per-pixel part of desispec.preproc.preproc, fused into one pass over row blocks (each pixel depends only on its
/// own inputs, and the dark trail only on its row, so the result does not depend on the thread count):
///
///     image = (raw - level_row) x gain          (or the crosstalk-corrected image computed before)
///     var_poisson = max(image, 0)               (before dark and pixel flat: desispec's "biasing" estimate)
///     readnoise = sqrt(rdnoise^2 + max(bias x gain, 0) [+ darknoise^2])
///     image -= dark;  dark trail along the row;  image, readnoise /= pixflat;  var_poisson /= pixflat^2
///     ivar = 1 / (var_poisson + readnoise^2)
///
/// with the mask bits SATURATED, BADAMP, BADREADNOISE (readnoise > 15 or a large overscan step), PIXFLATZERO,
/// PIXFLATLOW and those of the calibration mask. Arithmetic is done in Double, in desispec's order.
struct PixelPass: @unchecked Sendable {
    var ny: Int, nx: Int
    /// Raw minus bias, ADU.
    var raw: RawPixels
    var rawNx: Int
    var plans: [AmplifierPlan]
    var bias: CalibrationPlane?
    var dark: DarkImage?
    /// The dark has the image's shape (else the raw shape, in ADU-equivalent electrons / gain).
    var darkTrimmed = true
    var pixflat: CalibrationPlane?
    var calibMask: CalibrationPlane?
    /// Dark-trail kernels per amplifier (empty: none).
    var trailKernels: [[Double]] = []
    /// Amplifier segments of each output row: (plan index or -1 for pixels no amplifier covers, first column, end column).
    var segments: [[(Int, Int, Int)]] = []

    /// Row segments from the amplifiers' CCD sections; throws when two sections overlap.
    static func rowSegments(ny: Int, nx: Int, plans: [AmplifierPlan], path: String) throws -> [[(Int, Int, Int)]] {
        var out = [[(Int, Int, Int)]](repeating: [], count: ny)
        for y in 0..<ny {
            let here = plans.indices.filter { plans[$0].sections.ccd.rows.contains(y) && !plans[$0].sections.ccd.cols.isEmpty }
                .sorted { plans[$0].sections.ccd.cols.lowerBound < plans[$1].sections.ccd.cols.lowerBound }
            var x = 0
            var segs: [(Int, Int, Int)] = []
            for p in here {
                let cols = plans[p].sections.ccd.cols
                guard cols.lowerBound >= x else {
                    throw DESIError.badFile(path: path, problem: "CCDSEC\(plans[p].sections.name) overlaps another amplifier's CCDSEC")
                }
                if cols.lowerBound > x { segs.append((-1, x, cols.lowerBound)) }
                segs.append((p, cols.lowerBound, cols.upperBound))
                x = cols.upperBound
            }
            if x < nx { segs.append((-1, x, nx)) }
            out[y] = segs
        }
        return out
    }

    /// Only the gain-corrected image (no variance, no mask), for the crosstalk correction that needs every amplifier.
    func gainImage(into image: UnsafeMutableBufferPointer<Double>) {
        forRowBlocks { rows, _ in
            for y in rows {
                for (p, c0, c1) in segments[y] {
                    guard p >= 0 else { for x in c0..<c1 { image[y * nx + x] = 0 }; continue }
                    let plan = plans[p], a = plan.sections
                    let k = y - a.ccd.rows.lowerBound
                    let rawRow = a.data.rows.lowerBound + k
                    let level = plan.rowLevel[k], gain = plan.gain
                    let rbase = rawRow * rawNx + a.data.cols.lowerBound - c0
                    for x in c0..<c1 { image[y * nx + x] = (raw[rbase + x] - level) * gain }
                }
            }
        }
    }

    /// Runs the pass. `crosstalkCorrected`: nil, or the gain-corrected image after the crosstalk correction, which
    /// then replaces (raw - level) x gain.
    /// `readnoise`: nil, or the READNOISE plane to fill (else `ReadNoisePlane` computes it when it is written).
    func run(pix: UnsafeMutableBufferPointer<Float>, ivar: UnsafeMutableBufferPointer<Float>, readnoise: UnsafeMutableBufferPointer<Float>?,
             mask: UnsafeMutableBufferPointer<UInt32>, crosstalkCorrected: UnsafeBufferPointer<Double>?) {
        let maxWidth = max(1, nx)
        let rawValues = raw.raw
        forRowBlocks { rows, _ in
            let im = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxWidth)
            let pv = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxWidth)
            let rn = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxWidth)
            let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxWidth)
            // one row of each calibration plane, converted once (vectorised) instead of pixel by pixel
            let biasRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxWidth)
            let darkRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxWidth)
            let flatRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: maxWidth)
            let maskRow = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: maxWidth)
            defer {
                for b in [im, pv, rn, scratch, biasRow, darkRow, flatRow] { b.deallocate() }
                maskRow.deallocate()
            }
            // no pixel flat is a flat of 1 everywhere (the same values: x / 1 = x)
            if pixflat == nil { flatRow.update(repeating: 1) }
            for y in rows {
                let o = y * nx
                if let cm = calibMask { cm.bits(from: o, into: maskRow) } else { maskRow.update(repeating: 0) }
                // 1. electrons, Poisson variance, read noise, dark, mask bits of the amplifiers
                for (p, c0, c1) in segments[y] {
                    if p < 0 {
                        for x in c0..<c1 {
                            var v = crosstalkCorrected?[o + x] ?? 0
                            pv[x] = max(v, 0)
                            if let d = dark, darkTrimmed { v -= d.value(row: y, col: x) }
                            im[x] = v; rn[x] = 0
                            mask[o + x] = maskRow[x]
                        }
                        continue
                    }
                    let plan = plans[p], a = plan.sections
                    let k = y - a.ccd.rows.lowerBound
                    let rawRow = a.data.rows.lowerBound + k
                    let level = plan.rowLevel[k], gain = plan.gain, satur = plan.saturationADU
                    let flags = plan.flags
                    let r0 = rawRow * rawNx + a.data.cols.lowerBound   // raw index of column c0
                    let w = c1 - c0
                    let segBias = UnsafeMutableBufferPointer(rebasing: biasRow[0..<w])
                    let hasBias = bias != nil
                    if let b = bias { b.values(from: r0, into: segBias) } else { segBias.update(repeating: 0) }
                    // simple loops over the segment (the optional crosstalk image and the bias tested once, indices
                    // from row pointers), so that the compiler can vectorise them: same operations, same values
                    let rawSeg = rawValues.baseAddress! + r0, maskSeg = mask.baseAddress! + o + c0
                    let maskIn = maskRow.baseAddress! + c0, imSeg = im.baseAddress! + c0, pvSeg = pv.baseAddress! + c0
                    let biasSeg = segBias.baseAddress!
                    let saturated = CCDMask.saturated
                    for j in 0..<w {
                        // raw - bias, ADU (v - 0 is v exactly without a bias)
                        let v = Double(rawSeg[j]) - biasSeg[j]
                        maskSeg[j] = flags | maskIn[j] | (v >= satur ? saturated : 0)
                    }
                    if let ct = crosstalkCorrected {
                        let ctSeg = ct.baseAddress! + o + c0
                        for j in 0..<w { let e = ctSeg[j]; pvSeg[j] = max(e, 0); imSeg[j] = e }
                    } else {
                        for j in 0..<w {
                            let e = (Double(rawSeg[j]) - biasSeg[j] - level) * gain
                            pvSeg[j] = max(e, 0); imSeg[j] = e
                        }
                    }
                    segmentReadNoise(plan, planRow: k, bias: hasBias ? UnsafePointer(biasSeg) : nil, count: w, into: rn.baseAddress! + c0)
                    if let d = dark {
                        let segDark = UnsafeMutableBufferPointer(rebasing: darkRow[0..<w])
                        if darkTrimmed {
                            d.values(row: y, from: c0, scale: 1, into: segDark)
                        } else {
                            d.values(row: rawRow, from: a.data.cols.lowerBound, scale: gain, into: segDark)
                        }
                        for j in 0..<w { im[c0 + j] -= segDark[j] }
                    }
                }
                // 2. dark trails along the row (after the dark, before the pixel flat, as desispec)
                if !trailKernels.isEmpty {
                    for (p, c0, c1) in segments[y] where p >= 0 && trailKernels[p].count > 1 {
                        let name = plans[p].sections.name
                        DarkTrail.correctRow(UnsafeMutableBufferPointer(rebasing: im[c0..<c1]), scratch: scratch,
                                             kernel: trailKernels[p], left: name == "B" || name == "D")
                    }
                }
                // 3. pixel flat, inverse variance, outputs (branch-free loops over row pointers: they vectorise)
                let pixRow = pix.baseAddress! + o, ivarRow = ivar.baseAddress! + o
                let rnRow = readnoise.map { $0.baseAddress! + o }, maskOut = mask.baseAddress! + o
                let imp = im.baseAddress!, rnp = rn.baseAddress!, pvp = pv.baseAddress!
                let zeroBit = CCDMask.pixflatZero, lowBit = CCDMask.pixflatLow, noiseBit = CCDMask.badReadnoise
                // one pixel: an unusable flat divides by 1 (exact: the value itself; no pixel flat is a flat of 1
                // everywhere) and 1 / infinity is the 0 of a variance <= 0 or NaN: selects of operands instead of
                // results, no branches
                @inline(__always) func finish(_ x: Int, flat f: Double) {
                    let usable = f > 0.001
                    let fd = usable ? f : 1
                    let e = imp[x] / fd, r = rnp[x] / fd, v = pvp[x] / (fd * fd)
                    let variance = v + r * r
                    let iv = 1 / (variance > 0 ? variance : .infinity)
                    maskOut[x] |= (usable ? 0 : zeroBit) | (f > 0 && f < 0.1 ? lowBit : 0) | (r > 15 ? noiseBit : 0)
                    pixRow[x] = Float(e)
                    ivarRow[x] = Float(iv)
                    rnRow?[x] = Float(r)
                }
                do {
                    if let pf = pixflat { pf.values(from: o, into: flatRow) }
                    let fp = flatRow.baseAddress!
                    var start = 0
                    // four pixels at a time (vdivpd: the divisions are most of this step), mask bits and the Float
                    // conversions in the lanes too (cvtpd2ps; no per-lane branches), then `finish` for the rest
                    let one = SIMD4<Double>(repeating: 1), infinity = SIMD4<Double>(repeating: .infinity)
                    let zeroBits = SIMD4<UInt64>(repeating: UInt64(zeroBit)), lowBits = SIMD4<UInt64>(repeating: UInt64(lowBit))
                    let noiseBits = SIMD4<UInt64>(repeating: UInt64(noiseBit))
                    @inline(__always) func bits(_ m: SIMDMask<SIMD4<Int64>>) -> SIMD4<UInt64> { unsafeBitCast(m, to: SIMD4<UInt64>.self) }
                    while start + 4 <= nx {
                        let x = start
                        let f = SIMD4.load(fp + x)
                        let usable = f .> 0.001
                        let fd = one.replacing(with: f, where: usable)
                        let e = SIMD4.load(imp + x) / fd, r = SIMD4.load(rnp + x) / fd
                        let v = SIMD4.load(pvp + x) / (fd * fd)
                        let variance = v + r * r
                        let iv = one / infinity.replacing(with: variance, where: variance .> 0)
                        let flags = (~bits(usable) & zeroBits) | (bits((f .> 0) .& (f .< 0.1)) & lowBits)
                            | (bits(r .> SIMD4(repeating: 15)) & noiseBits)
                        (SIMD4.load(maskOut + x) | SIMD4<UInt32>(truncatingIfNeeded: flags)).store(to: maskOut + x)
                        SIMD4<Float>(rounding: e).store(to: pixRow + x)
                        SIMD4<Float>(rounding: iv).store(to: ivarRow + x)
                        if let rnRow { SIMD4<Float>(rounding: r).store(to: rnRow + x) }
                        start += 4
                    }
                    for x in start..<nx { finish(x, flat: fp[x]) }
                }
            }
        }
    }

    /// The read noise in electrons, before the pixel flat, of `count` pixels of an amplifier on its row k (step 1 of
    /// the pass): the amplifier's (that row's where it is measured per row), with the bias frame's own noise (bias x
    /// gain, `bias` nil without a bias frame) and, where a dark is subtracted, the dark frame's noise added in
    /// quadrature (desispec.preproc: rdnoise, then the bias and dark terms).
    @inline(__always)
    func segmentReadNoise(_ plan: AmplifierPlan, planRow k: Int, bias: UnsafePointer<Double>?, count w: Int,
                          into rn: UnsafeMutablePointer<Double>) {
        let rdn = plan.readnoisePerRow?[k] ?? plan.readnoise, gain = plan.gain
        if let bias {
            let rdn2 = rdn * rdn
            // four pixels at a time with the vector square root (`squareRoot()` keeps a loop scalar), max(b g, 0) as
            // Swift's max (0 where 0 >= b g, so a NaN passes): the same operations, the same values
            let r2 = SIMD4(repeating: rdn2), g = SIMD4(repeating: gain), zero = SIMD4<Double>()
            var j = 0
            while j + 4 <= w {
                let bg = SIMD4.load(bias + j) * g
                (r2 + bg.replacing(with: zero, where: zero .>= bg)).vectorSquareRoot().store(to: rn + j)
                j += 4
            }
            while j < w { rn[j] = (rdn2 + max(bias[j] * gain, 0)).squareRoot(); j += 1 }
        } else {
            for j in 0..<w { rn[j] = rdn }
        }
        if dark != nil, let dn = plan.darkNoise {
            let dn2 = SIMD4(repeating: dn * dn)
            var j = 0
            while j + 4 <= w {
                let r = SIMD4.load(rn + j)
                (r * r + dn2).vectorSquareRoot().store(to: rn + j)
                j += 4
            }
            while j < w { rn[j] = (rn[j] * rn[j] + dn * dn).squareRoot(); j += 1 }
        }
    }

    /// Row y of the READNOISE plane as the pass computes it: the read noise divided by the pixel flat `flat` (that
    /// row's, converted; a flat <= 0.001 divides by 1), 0 where no amplifier covers the pixel. `bias` and `rn` are
    /// scratch rows of nx values.
    func readNoiseRow(_ y: Int, flat: UnsafePointer<Double>, bias: UnsafeMutablePointer<Double>, rn: UnsafeMutablePointer<Double>,
                      into out: UnsafeMutablePointer<Float>) {
        for (p, c0, c1) in segments[y] {
            guard p >= 0 else { for x in c0..<c1 { rn[x] = 0 }; continue }
            let plan = plans[p], a = plan.sections
            let k = y - a.ccd.rows.lowerBound
            let r0 = (a.data.rows.lowerBound + k) * rawNx + a.data.cols.lowerBound
            if let b = self.bias { b.values(from: r0, into: UnsafeMutableBufferPointer(start: bias, count: c1 - c0)) }
            segmentReadNoise(plan, planRow: k, bias: self.bias == nil ? nil : UnsafePointer(bias), count: c1 - c0, into: rn + c0)
        }
        for x in 0..<nx {
            let f = flat[x]
            out[x] = Float(rn[x] / (f > 0.001 ? f : 1))
        }
    }

    /// The dark in electrons at each column of image row y (0 where there is none), as the pass subtracts it.
    func darkElectrons(row y: Int, into out: UnsafeMutableBufferPointer<Double>) {
        out.update(repeating: 0)
        guard let d = dark else { return }
        for (p, c0, c1) in segments[y] {
            if p < 0 {
                if darkTrimmed { for x in c0..<c1 { out[x] = d.value(row: y, col: x) } }
                continue
            }
            let seg = UnsafeMutableBufferPointer(rebasing: out[c0..<c1])
            if darkTrimmed {
                d.values(row: y, from: c0, scale: 1, into: seg)
            } else {
                let plan = plans[p], a = plan.sections
                d.values(row: a.data.rows.lowerBound + y - a.ccd.rows.lowerBound, from: a.data.cols.lowerBound, scale: plan.gain, into: seg)
            }
        }
    }

    /// Splits the rows in fixed blocks (independent of the thread count) run concurrently.
    func forRowBlocks(_ body: (Range<Int>, Int) -> Void) {
        let blocks = max(1, min(ny, 256)), ny = self.ny
        withoutActuallyEscaping(body) { f in
            nonisolated(unsafe) let work = f
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                work((ny * b / blocks)..<(ny * (b + 1) / blocks), b)
            }
        }
    }
}
