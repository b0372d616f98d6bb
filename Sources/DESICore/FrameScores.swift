import FITS
import LinearAlgebra

/// Per-fiber scores of a frame (desispec.specscore.compute_frame_scores / compute_and_append_frame_scores), the
/// SCORES HDU of frames (suffix RAW, added by the extraction), sframes (also FFLAT and SKYSUB) and cframes (also
/// CALIB). In the camera's fixed window (b 4000-5800, r 5800-7600, z 7600-9800 A, lower edge included), for
/// counts per bin as compute_and_append_frame_scores assumes by default (flux_per_angstrom=False, whatever BUNIT):
/// SUM_<S>_COUNT_<B> (sum of the flux), MEDIAN_<S>_COUNT_<B> (median of flux / dwave) and MEDIAN_<S>_SNR_<B>
/// (median of flux sqrt(ivar / dwave), negative ivar as 0), dwave = numpy.gradient(wave). With flux per Angstrom:
/// INTEG_<S>_FLUX_<B> (sum of flux dwave) and MEDIAN_<S>_FLUX_<B> instead of the first two.
public enum FrameScores {
    /// desispec.specscore.tophat_wave: each camera's window, fully inside its sensitive range.
    public static let windows: [String: (lo: Double, hi: Double)] = ["b": (4000, 5800), "r": (5800, 7600), "z": (7600, 9800)]

    /// The camera band of a wavelength grid as desispec's _auto_detect_camera: from the mean wavelength.
    public static func band(of wave: [Double]) -> String {
        let mean = wave.reduce(0, +) / Double(max(1, wave.count))
        if mean <= windows["b"]!.hi { return "b" }
        if mean >= windows["z"]!.lo { return "z" }
        return "r"
    }

    /// The score columns (float64, one row per spectrum) and their comments, in desispec's order; nil when the
    /// frame's wavelengths miss the band's window (desispec raises there).
    public static func compute(_ frame: Frame, suffix: String, band: String? = nil,
                               fluxPerAngstrom: Bool = false) -> (columns: [FITSColumn], comments: [String: String])? {
        let b = (band ?? Self.band(of: frame.wave)).lowercased()
        guard let window = windows[b] else { return nil }
        let inWindow = frame.wave.indices.filter { frame.wave[$0] >= window.lo && frame.wave[$0] < window.hi }
        guard !inWindow.isEmpty else { return nil }
        let dwave = Interpolation.gradient(frame.wave)
        let nw = frame.nwave, range = "\(Int(window.lo)),\(Int(window.hi))A"
        let nin = inWindow.count, nspec = frame.nspec
        // per window pixel: dwave and its square root (the same numbers the per-pixel expressions computed)
        let dw = inWindow.map { dwave[$0] }, sqrtDw = dw.map { $0.squareRoot() }
        var first = [Double](repeating: 0, count: nspec), second = first, snr = first
        // scratch rows of the window's length: its flux and ivar, then the values whose medians are taken
        let rows = UnsafeMutableBufferPointer<Double>.allocate(capacity: 5 * nin)
        defer { rows.deallocate() }
        let fw = rows.baseAddress!, iw = fw + nin, v = fw + 2 * nin, sv = fw + 3 * nin
        let scratch = UnsafeMutableBufferPointer(start: fw + 4 * nin, count: nin)
        frame.flux.withUnsafeBufferPointer { fluxes in frame.ivar.withUnsafeBufferPointer { ivars in
        dw.withUnsafeBufferPointer { dwp in sqrtDw.withUnsafeBufferPointer { sdw in
            for s in 0..<nspec {
                // the window's values gathered, then each per-pixel expression in a loop of its own (vectorised;
                // the sum's additions in pixel order, as in one loop)
                for j in 0..<nin {
                    let i = s * nw + inWindow[j]
                    fw[j] = Double(fluxes[i]); iw[j] = max(0, Double(ivars[i]))
                }
                var sum = 0.0
                if fluxPerAngstrom {
                    for j in 0..<nin { sum += fw[j] * dwp[j] }
                    for j in 0..<nin { v[j] = fw[j] }
                } else {
                    for j in 0..<nin { sum += fw[j] }
                    for j in 0..<nin { v[j] = fw[j] / dwp[j] }
                }
                // four pixels at a time with the vector square root: written plainly, or with SIMD4's squareRoot(),
                // the square root stays a scalar call (errno)
                var j = 0
                while j + 4 <= nin {
                    let r = SIMD4.load(iw + j).vectorSquareRoot() * SIMD4.load(fw + j) / SIMD4.load(sdw.baseAddress! + j)
                    r.store(to: sv + j)
                    j += 4
                }
                while j < nin { sv[j] = iw[j].squareRoot() * fw[j] / sdw[j]; j += 1 }
                first[s] = sum
                // the medians of Statistics.medianInPlace, by sampled pivots (the same numbers)
                second[s] = Statistics.sampledMedian(UnsafeBufferPointer(start: v, count: nin), scratch: scratch)
                snr[s] = Statistics.sampledMedian(UnsafeBufferPointer(start: sv, count: nin), scratch: scratch)
            }
        }}}}
        let S = suffix.isEmpty ? "_" : "_\(suffix)_", B = b.uppercased()
        let names = fluxPerAngstrom ? ["INTEG\(S)FLUX_\(B)", "MEDIAN\(S)FLUX_\(B)"] : ["SUM\(S)COUNT_\(B)", "MEDIAN\(S)COUNT_\(B)"]
        let comments = fluxPerAngstrom
            ? ["integ. flux in wave. range \(range)", "median flux in wave. range \(range)"]
            : ["sum counts in wave. range \(range)", "median counts/A in wave. range \(range)"]
        let snrName = "MEDIAN\(S)SNR_\(B)"
        let columns = [FITSColumn(names[0], .double(first)), FITSColumn(names[1], .double(second)),
                       FITSColumn(snrName, .double(snr))]
        return (columns, [names[0]: comments[0], names[1]: comments[1], snrName: "median SNR/sqrt(A) in wave. range \(range)"])
    }
}

extension Frame {
    /// Computes this frame's scores with `suffix` and adds them to `scores` (desispec's
    /// compute_and_append_frame_scores with overwrite: a column already there is replaced in place, new ones are
    /// appended). Returns false, changing nothing, when the wavelengths miss the band's window.
    @discardableResult
    public mutating func appendScores(suffix: String, band: String? = nil, fluxPerAngstrom: Bool = false) -> Bool {
        guard let new = FrameScores.compute(self, suffix: suffix, band: band, fluxPerAngstrom: fluxPerAngstrom) else {
            return false
        }
        var table = scores ?? FITSTable()
        for column in new.columns {
            if let i = table.columns.firstIndex(where: { $0.name == column.name }) {
                table.columns[i] = column
            } else {
                table.columns.append(column)
            }
            scoreComments[column.name] = new.comments[column.name]
        }
        scores = table
        return true
    }
}
