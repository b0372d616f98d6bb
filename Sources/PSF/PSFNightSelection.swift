import DESICore
import Foundation
import LinearAlgebra

/// Which inputs the night's PSF averages, bundle by bundle and fiber by fiber, before the outlier test of
/// `combinePSFs` (desispec.scripts.specex.mean_psf, with a per-fiber STATUS fallback added):
/// 1. each input's reduced chi2 per bundle (B00RCHI2, B01RCHI2, ... of its PSF table or primary header) is compared
///    with the median over all inputs and bundles plus 1; a bundle keeps the inputs below that threshold, or, when
///    none is, the input of smallest chi2 for it (mean_psf). Without the chi2 keys in every input, every input is
///    kept for every bundle;
/// 2. for each fiber, the kept inputs in which the fiber is STATUS 0 (fitted on its own lines) are used when there is
///    at least one; otherwise all the bundle's kept inputs (the fiber's fallbacks).
/// Bundles are the BUNDLE parameter of the first input (specex), else (FIBERMIN + fiber) / 25.
struct PSFNightSelection {
    /// Bundle number of each fiber.
    var bundleOf: [Int]
    /// Per input, per bundle number: the reduced chi2 (nil when some input lacks the keys).
    var rchi2: [[Int: Double]]?
    var threshold: Double?
    /// Per bundle number: the inputs kept.
    var bundleInputs: [Int: [Int]]
    /// Per fiber: the inputs kept after the STATUS fallback.
    var candidates: [[Int]]
    /// (input, bundle) pairs left out by the chi2 cut; (input, fiber) pairs left out for their STATUS.
    var chi2Rejected: Int, statusRejected: Int

    init(_ psfs: [GaussHermitePSF]) {
        let ref = psfs[0], nf = ref.nspec, n = psfs.count
        if let b = ref.parameters.first(where: { $0.name == "BUNDLE" })?.traces {
            bundleOf = (0..<nf).map { Int(b.coefficients[$0 * b.ncoef].rounded()) }
        } else {
            bundleOf = (0..<nf).map { (ref.fiberMin + $0) / 25 }
        }
        let bundles = Array(Set(bundleOf)).sorted()
        let found: [[Int: Double]] = psfs.map { p in
            var d = [Int: Double]()
            for b in bundles {
                let key = String(format: "B%02dRCHI2", b)
                if let v = p.headers.table.double(key) ?? p.headers.primary.double(key), v.isFinite { d[b] = v }
            }
            return d
        }
        var perBundle = [Int: [Int]]()
        chi2Rejected = 0
        if found.allSatisfy({ $0.count == bundles.count }) && !bundles.isEmpty {
            rchi2 = found
            let t = Statistics.median(found.flatMap { $0.values }) + 1
            threshold = t
            for b in bundles {
                var ok = (0..<n).filter { found[$0][b]! < t }
                if ok.isEmpty { ok = [(0..<n).min { found[$0][b]! < found[$1][b]! }!] }
                chi2Rejected += n - ok.count
                perBundle[b] = ok
            }
        } else {
            rchi2 = nil; threshold = nil
            for b in bundles { perBundle[b] = Array(0..<n) }
        }
        bundleInputs = perBundle
        let status = psfs.map(\.fiberStatusValues)
        var cand = [[Int]](), dropped = 0
        for f in 0..<nf {
            let kept = perBundle[bundleOf[f]]!
            let good = kept.filter { status[$0][f] == 0 }
            cand.append(good.isEmpty ? kept : good)
            dropped += good.isEmpty ? 0 : kept.count - good.count
        }
        candidates = cand
        statusRejected = dropped
    }

    /// Per bundle number: the mean reduced chi2 of the inputs kept (written as the output's BnnRCHI2, as mean_psf).
    var outputRChi2: [Int: Double] {
        guard let r = rchi2 else { return [:] }
        var out = [Int: Double]()
        for (b, inputs) in bundleInputs { out[b] = inputs.reduce(0.0) { $0 + r[$1][b]! } / Double(inputs.count) }
        return out
    }
}
