import DESICore
import FITS
import Foundation
import LinearAlgebra

/// SCORES of a coadd (desispec.specscore.compute_coadd_scores): per camera band, in the fixed windows
/// b 4000-5800, r 5800-7600, z 7600-9800 A, INTEG_COADD_FLUX_X (flux integrated over wavelength),
/// MEDIAN_COADD_FLUX_X and MEDIAN_COADD_SNR_X (median of flux*sqrt(ivar/dwave)); TSNR2_* of the input
/// exposures summed per target, and TSNR2_<TYPE> summed over B, R, Z.
public enum CoaddScores {
    public static let windows: [String: (Double, Double)] = FrameScores.windows.mapValues { ($0.lo, $0.hi) }

    public static func compute(_ coadd: Spectra, inputScores: FITSTable?, inputTargetIDs: [Int64]) -> FITSTable {
        let tids = coadd.targetIDRows
        var cols: [FITSColumn] = [FITSColumn("TARGETID", .int64(tids))]
        let isCameraCoadd = coadd.bands == ["brz"]
        for band in ["b", "r", "z"] {
            let src = isCameraCoadd ? "brz" : band
            guard let d = coadd.data[src] else { continue }
            let (lo, hi) = windows[band]!
            let idx = d.wave.indices.filter { d.wave[$0] >= lo && d.wave[$0] < hi }
            if idx.isEmpty { continue }
            let dw = Interpolation.gradient(d.wave)
            let nw = d.nwave
            var integ = [Float](), medf = [Float](), medsnr = [Float]()
            for s in 0..<d.nspec {
                var sum = 0.0
                var fl = [Double](), snr = [Double]()
                for i in idx {
                    let f = Double(d.flux[s * nw + i]), iv = max(0, Double(d.ivar[s * nw + i]))
                    sum += f * dw[i]; fl.append(f); snr.append(iv.squareRoot() * f / dw[i].squareRoot())
                }
                integ.append(Float(sum)); medf.append(Float(Statistics.percentile(fl, 50)))
                medsnr.append(Float(Statistics.percentile(snr, 50)))
            }
            let B = band.uppercased()
            cols.append(FITSColumn("INTEG_COADD_FLUX_\(B)", .float(integ)))
            cols.append(FITSColumn("MEDIAN_COADD_FLUX_\(B)", .float(medf)))
            cols.append(FITSColumn("MEDIAN_COADD_SNR_\(B)", .float(medsnr)))
        }
        if let s = inputScores, s.rowCount == inputTargetIDs.count {
            var rowsOf: [Int64: [Int]] = [:]
            for (i, t) in inputTargetIDs.enumerated() { rowsOf[t, default: []].append(i) }
            var types: [String] = []
            var sums: [String: [Float]] = [:]
            for c in s.columns where c.name.hasPrefix("TSNR2_") {
                let parts = c.name.split(separator: "_")
                guard parts.count == 3, ["B", "R", "Z"].contains(parts[2].uppercased()), let v = c.data.doubles else { continue }
                if !types.contains(String(parts[1])) { types.append(String(parts[1])) }
                let summed = tids.map { t in Float((rowsOf[t] ?? []).map { v[$0] }.reduce(0, +)) }
                sums[c.name] = summed
                cols.append(FITSColumn(c.name, .float(summed)))
            }
            for t in types {
                var total = [Float](repeating: 0, count: tids.count)
                for B in ["B", "R", "Z"] { if let v = sums["TSNR2_\(t)_\(B)"] { for i in total.indices { total[i] += v[i] } } }
                cols.append(FITSColumn("TSNR2_\(t)", .float(total)))
            }
        }
        return FITSTable(columns: cols)
    }
}
