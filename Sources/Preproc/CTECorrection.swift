import DESICore
import Foundation
import LinearAlgebra

/// CTE correction through an image model (desispec.correct_cte.correct_image_via_model, 5 iterations): a noise-free
/// model M of the current image is read out through the traps (M' = CTE(M)), and the image becomes
/// I = I0 - (M' - M), I0 the image as it came; the next model is computed from the corrected image.
/// As desispec, an amplifier whose correction rms (3-sigma clipped standard deviation of M - M') changed by less than
/// 0.1 electron from the previous amplifier's or iteration's ends that iteration's loop over the amplifiers (the amplifiers
/// after it then get no correction in that iteration; with one amplifier, which is DESI's case, all 5 iterations run).
/// The model is desispec's, a row-by-row extraction with the PSF's cross-dispersion profiles projected back
/// (get_rowbyrow_image_model, `CTERowByRowModel`), recomputed at each iteration from the corrected image (the traces'
/// x shift measured again on it).
public enum CTECorrection {
    /// Corrects `pix` (ny x nx, row-major). `model` returns the model of an image; returns one note per amplifier and
    /// iteration with its correction rms.
    public static func correct(pix: inout [Float], ny: Int, nx: Int, amplifiers: [CTEAmplifier], iterations: Int = 5,
                               model: ([Float]) throws -> [Double]) throws -> [String] {
        guard !amplifiers.isEmpty else { return [] }
        var notes: [String] = []
        let original = pix.map { Double($0) }
        var current = pix
        var previousRMS = 0.0
        for iteration in 0..<iterations {
            let m = try model(current)
            guard m.count == ny * nx else { throw DESIError.mismatch("image model has \(m.count) pixels, image \(ny * nx)") }
            var withCTE = m
            for amp in amplifiers {
                let rms = readOut(amp, model: m, into: &withCTE, nx: nx)
                notes.append("CTE correction of amplifier \(amp.name), iteration \(iteration): correction rms "
                             + String(format: "%.3f", rms))
                if abs(rms - previousRMS) < 0.1 { break }
                previousRMS = rms
            }
            for i in 0..<(ny * nx) { current[i] = Float(original[i] - (withCTE[i] - m[i])) }
        }
        pix = current
        return notes
    }

    /// Writes the amplifier's region of `model` read out through its traps into `out`; returns the rms of the change.
    static func readOut(_ amp: CTEAmplifier, model: [Double], into out: inout [Double], nx: Int) -> Double {
        let w = amp.cols.count, h = amp.rows.count
        var block = [Double](repeating: 0, count: w * h)
        for (r, row) in amp.rows.enumerated() {
            for k in 0..<w {
                let col = amp.readoutAtRight ? amp.cols.upperBound - 1 - k : amp.cols.lowerBound + k
                block[r * w + k] = model[row * nx + col]
            }
        }
        CTETrapModel.apply(amp.traps, to: &block, rows: h, nx: w)
        var change = [Double](repeating: 0, count: w * h)
        for (r, row) in amp.rows.enumerated() {
            for k in 0..<w {
                let col = amp.readoutAtRight ? amp.cols.upperBound - 1 - k : amp.cols.lowerBound + k
                out[row * nx + col] = block[r * w + k]
                change[r * w + k] = model[row * nx + col] - block[r * w + k]
            }
        }
        return sigmaClippedStd(change)
    }

    /// astropy.stats.sigma_clipped_stats's standard deviation with its defaults: values farther than 3 standard
    /// deviations from the median are rejected, at most 5 times, then the standard deviation of the rest.
    static func sigmaClippedStd(_ v: [Double]) -> Double {
        var kept = v.filter { $0.isFinite }
        for _ in 0..<5 {
            guard !kept.isEmpty else { return .nan }
            let med = Statistics.median(kept)
            let sd = standardDeviation(kept)
            let next = kept.filter { abs($0 - med) <= 3 * sd }
            if next.count == kept.count { break }
            kept = next
        }
        return standardDeviation(kept)
    }

    static func standardDeviation(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return .nan }
        let mean = v.reduce(0, +) / Double(v.count)
        return (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
    }
}
