import DESICore
import Foundation
import LinearAlgebra

/// What the night's PSF combination did.
public struct PSFNightResult: Sendable {
    public var psf: GaussHermitePSF
    /// Per fiber, the inputs averaged (indices into the inputs).
    public var used: [[Int]]
    /// Number of (input, fiber) pairs left out as outliers.
    public var rejected: Int
    /// Per bundle number: the inputs kept by the reduced-chi2 cut (PSFNightSelection).
    public var bundleInputs: [Int: [Int]]
    /// Per bundle number: the mean reduced chi2 of the inputs kept (empty without chi2 keys in the inputs).
    public var bundleRChi2: [Int: Double]
    /// The chi2 threshold (median of the inputs' bundle chi2 + 1), nil without chi2 keys.
    public var chi2Threshold: Double?
    /// (input, bundle) pairs left out by the chi2 cut; (input, fiber) pairs left out for STATUS != 0.
    public var chi2Rejected: Int, statusRejected: Int
}

/// The PSF of a night from several arc PSFs of one camera (desi_compute_psf_night / desispec.scripts.specex.mean_psf):
/// fiber by fiber, the mean of the Legendre coefficients of XTRACE, YTRACE and every PSF parameter over the inputs
/// that agree. Inputs are first selected per bundle by their reduced chi2 and per fiber by their STATUS
/// (PSFNightSelection, as mean_psf; mean_psf averages XTRACE/YTRACE over every input, here the traces follow the
/// same selection as the parameters). Then, among the inputs left, with 3 or more, an input is left out for a fiber
/// when its traces (x or y at 11 wavelengths) are more than `nsigma` robust deviations (and more than `minOffset`
/// pixel) from the median of the inputs, or its GHSIGX / GHSIGY more than `nsigma` robust deviations (and 1 %);
/// the robust deviation is 1.4826 times the median over fibers and inputs of those distances. The coefficients of
/// an input are kept or left out together: the parameters of a PSF are correlated, and a coefficient-wise median
/// could pair values from different fits (the reason desispec averages rather than takes medians).
/// Inputs must share camera, PSF type, CCD size, stamp size, fibers, Gauss-Hermite degrees, parameters, Legendre
/// degrees and wavelength ranges.
public func combinePSFs(_ psfs: [GaussHermitePSF], names: [String], nsigma: Double = 5, minOffset: Double = 0.05) throws -> PSFNightResult {
    precondition(psfs.count == names.count)
    guard let ref = psfs.first else { throw DESIError.invalidArgument("no input PSF") }
    for (p, name) in zip(psfs, names).dropFirst() { try checkCompatible(p, name: name, with: ref, refName: names[0]) }
    let n = psfs.count, nf = ref.nspec
    // Distances of each input from the median of the inputs, per fiber.
    let nw = 11
    let waves = (0..<nw).map { ref.wavemin + (ref.wavemax - ref.wavemin) * Double($0) / Double(nw - 1) }
    var dpos = [[Double]](repeating: [Double](repeating: 0, count: nf), count: n), dsig = dpos
    if n >= 3 {
        for f in 0..<nf {
            for w in waves {
                let xs = psfs.map { $0.x(fiber: f, wavelength: w) }, ys = psfs.map { $0.y(fiber: f, wavelength: w) }
                let sx = psfs.map { $0.xsigma(fiber: f, wavelength: w) }, sy = psfs.map { $0.ysigma(fiber: f, wavelength: w) }
                let mx = Statistics.median(xs), my = Statistics.median(ys)
                let msx = Statistics.median(sx), msy = Statistics.median(sy)
                for i in 0..<n {
                    dpos[i][f] = max(dpos[i][f], abs(xs[i] - mx), abs(ys[i] - my))
                    dsig[i][f] = max(dsig[i][f], abs(sx[i] / msx - 1), abs(sy[i] / msy - 1))
                }
            }
        }
    }
    let posLimit = max(minOffset, nsigma * 1.4826 * Statistics.median(dpos.flatMap { $0 }))
    let sigLimit = max(0.01, nsigma * 1.4826 * Statistics.median(dsig.flatMap { $0 }))
    var used = [[Int]](repeating: [], count: nf)
    var rejected = 0
    let selection = PSFNightSelection(psfs)
    for f in 0..<nf {
        let cand = selection.candidates[f]
        var keep = cand.filter { cand.count < 3 || (dpos[$0][f] <= posLimit && dsig[$0][f] <= sigLimit) }
        if keep.isEmpty {
            // Every input disagrees (cannot happen with a median of 3 or more, but be safe): take the closest.
            keep = [cand.min { dpos[$0][f] < dpos[$1][f] }!]
        }
        rejected += cand.count - keep.count
        used[f] = keep
    }
    func average(_ sets: [TraceSet]) -> TraceSet {
        var t = sets[0]
        let nc = t.ncoef
        for f in 0..<nf {
            for k in 0..<nc {
                t.coefficients[f * nc + k] = used[f].reduce(0.0) { $0 + sets[$1].coefficients[f * nc + k] } / Double(used[f].count)
            }
        }
        return t
    }
    var out = ref
    for k in 0..<ref.parameters.count {
        out.parameters[k].traces = average(psfs.map { $0.parameters[k].traces })
    }
    out = try out.withTraces(x: average(psfs.map(\.xTrace)), y: average(psfs.map(\.yTrace)))
    if out.parameters.contains(where: { $0.name == "STATUS" }) {
        // A fiber is STATUS 0 when one of the inputs averaged fitted it, else the best (lowest) status among them.
        let status = psfs.map(\.fiberStatusValues)
        out = out.withFiberStatus((0..<nf).map { f in
            PSFFiberStatus(rawValue: used[f].map { status[$0][f] }.min() ?? 0) ?? .neighbours
        })
    }
    return PSFNightResult(psf: out, used: used, rejected: rejected, bundleInputs: selection.bundleInputs,
                          bundleRChi2: selection.outputRChi2, chi2Threshold: selection.threshold,
                          chi2Rejected: selection.chi2Rejected, statusRejected: selection.statusRejected)
}

/// Throws a one-line error naming `name` when `p` cannot be averaged with `ref`.
func checkCompatible(_ p: GaussHermitePSF, name: String, with ref: GaussHermitePSF, refName: String) throws {
    func fail(_ what: String) -> DESIError { .mismatch("\(name): \(what) (\(refName) differs); PSFs of one camera are needed") }
    if let a = p.camera, let b = ref.camera, a != b { throw fail("camera \(a), not \(b)") }
    guard p.psfType == ref.psfType else { throw fail("PSFTYPE \(p.psfType), not \(ref.psfType)") }
    guard p.nspec == ref.nspec, p.fiberMin == ref.fiberMin else {
        throw fail("fibers \(p.fiberMin)-\(p.fiberMin + p.nspec - 1), not \(ref.fiberMin)-\(ref.fiberMin + ref.nspec - 1)")
    }
    guard p.npixX == ref.npixX, p.npixY == ref.npixY else { throw fail("CCD \(p.npixY) x \(p.npixX), not \(ref.npixY) x \(ref.npixX)") }
    guard p.halfSizeX == ref.halfSizeX, p.halfSizeY == ref.halfSizeY, p.ghDegX == ref.ghDegX, p.ghDegY == ref.ghDegY else {
        throw fail("HSIZEX/HSIZEY/GHDEGX/GHDEGY \(p.halfSizeX)/\(p.halfSizeY)/\(p.ghDegX)/\(p.ghDegY), "
                   + "not \(ref.halfSizeX)/\(ref.halfSizeY)/\(ref.ghDegX)/\(ref.ghDegY)")
    }
    let close = { (a: TraceSet, b: TraceSet) in abs(a.domainMin - b.domainMin) < 1e-6 && abs(a.domainMax - b.domainMax) < 1e-6 }
    for (a, b, what) in [(p.xTrace, ref.xTrace, "XTRACE"), (p.yTrace, ref.yTrace, "YTRACE")] {
        guard close(a, b) else { throw fail("\(what) wavelength range \(a.domainMin)-\(a.domainMax) A, not \(b.domainMin)-\(b.domainMax)") }
        guard a.ncoef == b.ncoef else { throw fail("\(what) has \(a.ncoef) Legendre coefficients, not \(b.ncoef)") }
    }
    guard p.parameters.map(\.name) == ref.parameters.map(\.name) else { throw fail("other PSF parameters") }
    for (a, b) in zip(p.parameters, ref.parameters) {
        guard close(a.traces, b.traces) else {
            throw fail("parameter \(a.name) over \(a.traces.domainMin)-\(a.traces.domainMax) A, "
                       + "not \(b.traces.domainMin)-\(b.traces.domainMax)")
        }
        guard a.traces.ncoef == b.traces.ncoef else {
            throw fail("parameter \(a.name) has \(a.traces.ncoef) coefficients, not \(b.traces.ncoef)")
        }
    }
}

extension GaussHermitePSF {
    /// CAMERA of the PSF headers (XTRACE, PSF table or YTRACE), lower case, without the padding and the stray quotes
    /// some specex files have ('r0      ' written with its quotes); nil when no header has one.
    public var camera: String? {
        [headers.primary, headers.table, headers.ytrace].lazy
            .compactMap { $0.string("CAMERA")?.trimmingCharacters(in: CharacterSet(charactersIn: "' ").union(.whitespaces)).lowercased() }
            .first { !$0.isEmpty }
    }
}
