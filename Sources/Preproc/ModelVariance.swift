import DESICore
import Foundation
import LinearAlgebra

/// The variance of `--model-variance` (desispec.preproc.preproc with model_variance=True), from the image model m:
/// where a pixel differs from m by more than 5 sigma (sigma^2 = 1/ivar + (0.1 m)^2, pixels with ivar > 0), m takes
/// the pixel's value (cosmic rays, bright lines keep a fair variance); then m x pixflat + dark are the expected
/// electrons before the pixel flat, and ivar = 1 / (max(m x pixflat + dark, 0) / pixflat^2 + readnoise^2) where
/// that variance is positive (readnoise is already divided by the pixel flat; pixflat <= 0.001 is not divided).
/// A background subtracted by --bkgsub-for-dark is added back to m after the 5-sigma test, as desispec.
enum ModelVariance {
    /// The model image is projected row by row (`ImageModel.TraceCounts`) as the rows are reached: no full-frame
    /// model is held.
    /// The read noise of each row is the pass's (`PixelPass.readNoiseRow`), computed as the row is reached, and
    /// written to `keep` when given (the READNOISE plane's rows).
    static func apply(model: ImageModel.TraceCounts, pix: [Float], ivar: inout [Float], ny: Int, nx: Int,
                      pass: PixelPass, background: [Double]? = nil, keep: ReadNoisePlane.KeptRows? = nil) {
        precondition(keep.map { $0.ny == ny && $0.nx == nx } ?? true, "kept read noise rows of another shape")
        let bg = background ?? []
        pix.withUnsafeBufferPointer { pb in
        bg.withUnsafeBufferPointer { bb in
        ivar.withUnsafeMutableBufferPointer { ib in
            nonisolated(unsafe) let pixP = pb.baseAddress!
            nonisolated(unsafe) let bgP = background == nil ? nil : UnsafeMutablePointer(mutating: bb.baseAddress!)
            let iv = SharedBuffer(ib)
            pass.forRowBlocks { rows, _ in
                let darkRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                let flatRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                let modelRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                let biasRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                let noiseRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                let readnoiseRow = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, nx))
                defer {
                    for b in [darkRow, flatRow, modelRow, biasRow, noiseRow] { b.deallocate() }
                    readnoiseRow.deallocate()
                }
                for y in rows {
                    model.project(row: y, into: modelRow)
                    pass.darkElectrons(row: y, into: darkRow)
                    // no pixel flat is a flat of 1: m x 1 = m and v / 1 = v exactly, the same values
                    if let pf = pass.pixflat { pf.values(from: y * nx, into: flatRow) } else { flatRow.update(repeating: 1) }
                    let readnoise = keep?.row(y) ?? readnoiseRow.baseAddress!
                    pass.readNoiseRow(y, flat: flatRow.baseAddress!, bias: biasRow.baseAddress!, rn: noiseRow.baseAddress!,
                                      into: readnoise)
                    let row = RowInputs(model: modelRow.baseAddress!, dark: darkRow.baseAddress!, flat: flatRow.baseAddress!,
                                        pix: pixP + y * nx, readnoise: readnoise, background: bgP.map { $0 + y * nx })
                    let ivarRow = iv.base + y * nx
                    var x = 0
                    while x + 4 <= nx { row.lanes(x, ivar: ivarRow); x += 4 }
                    while x < nx { row.pixel(x, ivar: ivarRow); x += 1 }
                }
            }
        }}}
    }

    /// One row's inputs, and the variance of a pixel (`pixel`) or of two neighbouring pixels in the two lanes of an
    /// SSE register (`lanes`: the same IEEE operations, choices made as selects; two divisions for the price of one).
    struct RowInputs {
        let model: UnsafeMutablePointer<Double>, dark: UnsafeMutablePointer<Double>, flat: UnsafeMutablePointer<Double>
        let pix: UnsafePointer<Float>, readnoise: UnsafePointer<Float>
        let background: UnsafeMutablePointer<Double>?

        /// ivar[x] for the model m: m is the pixel's value where they differ by more than 5 sigma (sigma^2 = 1/ivar +
        /// (0.1 m)^2, pixels with ivar > 0); v = max(m x flat + dark, 0) / flat^2 (not divided where flat <= 0.001);
        /// ivar = 1 / (v + readnoise^2) where that is positive, else unchanged.
        @inline(__always)
        func pixel(_ x: Int, ivar: UnsafeMutablePointer<Float>) {
            var m = model[x]
            let w = Double(ivar[x]), p = Double(pix[x])
            if w > 0 && (p - m) * (p - m) / (1 / w + 0.01 * m * m) > 25 { m = p }
            if let b = background { m += b[x] }   // --bkgsub-for-dark: the subtracted background is charge
            let f = flat[x]
            var v = max(m * f + dark[x], 0)
            if f > 0.001 { v /= f * f }
            let r = Double(readnoise[x])
            let variance = v + r * r
            if variance > 0 { ivar[x] = Float(1 / variance) }
        }

        /// `pixel` at x ..< x + 4, in the four lanes of an AVX register (each lane the same IEEE operations as `pixel`,
        /// its choices made as selects): one vector division serves four pixels (with two lanes, this loop took a
        /// third more time: 410 vs 280 perf samples of a full-size camera).
        @inline(__always)
        func lanes(_ x: Int, ivar: UnsafeMutablePointer<Float>) {
            let zero = SIMD4<Double>(), one = SIMD4<Double>(repeating: 1)
            var m = SIMD4.load(model + x)
            let oldIvar = SIMD4.load(ivar + x)
            let w = SIMD4<Double>(oldIvar), p = SIMD4<Double>(SIMD4.load(pix + x))
            m.replace(with: p, where: Self.outliers(difference2: (p - m) * (p - m), model2: 0.01 * m * m, ivar: w))
            if let b = background { m += SIMD4.load(b + x) }
            let f = SIMD4.load(flat + x)
            let t = m * f + SIMD4.load(dark + x)
            var v = t.replacing(with: zero, where: zero .>= t)   // max(t, 0) as Swift's max: NaN stays NaN
            v.replace(with: v / (f * f), where: f .> SIMD4(repeating: 0.001))
            let r = SIMD4<Double>(SIMD4.load(readnoise + x))
            let variance = v + r * r
            let inverse = SIMD4<Float>(rounding: one / variance)
            // where the variance is not positive the pixel keeps its ivar (the mask narrowed to the Float lanes)
            let positive = SIMD4<Int32>(truncatingIfNeeded: unsafeBitCast(variance .> zero, to: SIMD4<Int64>.self)) .!= 0
            oldIvar.replacing(with: inverse, where: positive).store(to: ivar + x)
        }

        /// The lanes where w > 0 and a / (1 / w + c) > 25 (a = (p - m)^2, c = 0.01 m^2: `pixel`'s 5-sigma test), with
        /// the divisions' result: multiplied out, a w against 25 (1 + c w), the test needs no division (two of the
        /// four per pixel in `lanes`), and where that product form is within 1e-14 of the bound, or not finite, the
        /// lanes make `pixel`'s divisions. The product form's rounding is a few units of 1e-16 (and the quotient's), so
        /// outside that margin both forms decide alike.
        @inline(__always)
        static func outliers(difference2 a: SIMD4<Double>, model2 c: SIMD4<Double>, ivar w: SIMD4<Double>) -> SIMDMask<SIMD4<Int64>> {
            let one = SIMD4<Double>(repeating: 1), bound = 25 * (one + c * w), product = a * w
            let above = product .> bound * (1 + 1e-14), below = product .< bound * (1 - 1e-14)
            let weighted = w .> SIMD4<Double>()
            if any(weighted .& .!(above .| below)) {
                return weighted .& (a / (one / w + c) .> SIMD4(repeating: 25))
            }
            return weighted .& above
        }
    }
}
