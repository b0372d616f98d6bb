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
    static func apply(model: ImageModel.TraceCounts, pix: [Float], ivar: inout [Float], readnoise: [Float], ny: Int, nx: Int,
                      pass: PixelPass, background: [Double]? = nil) {
        let nsig2 = 25.0
        ivar.withUnsafeMutableBufferPointer { ib in
            let iv = SharedBuffer(ib)
            pass.forRowBlocks { rows, _ in
                let darkRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                let flatRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                let modelRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, nx))
                defer { darkRow.deallocate(); flatRow.deallocate(); modelRow.deallocate() }
                for y in rows {
                    model.project(row: y, into: modelRow)
                    pass.darkElectrons(row: y, into: darkRow)
                    if let pf = pass.pixflat { pf.values(from: y * nx, into: flatRow) }
                    for x in 0..<nx {
                        let i = y * nx + x
                        var m = modelRow[x]
                        let w = Double(iv[i]), p = Double(pix[i])
                        if w > 0 && (p - m) * (p - m) / (1 / w + 0.01 * m * m) > nsig2 { m = p }
                        if let b = background { m += b[i] }   // --bkgsub-for-dark: the subtracted background is charge
                        var v: Double
                        if pass.pixflat != nil {
                            let f = flatRow[x]
                            v = max(m * f + darkRow[x], 0)
                            if f > 0.001 { v /= f * f }
                        } else {
                            v = max(m + darkRow[x], 0)
                        }
                        let r = Double(readnoise[i])
                        let variance = v + r * r
                        if variance > 0 { iv[i] = Float(1 / variance) }
                    }
                }
            }
        }
    }
}
