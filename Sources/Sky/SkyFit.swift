import DESICore
import Foundation
import LinearAlgebra

/// The linear fit of the deconvolved sky: unknowns F[j * nterms + p] (wavelength j, term p), model of fiber f
/// R_f (sum_p c_fp F_p). Normal equations are banded (half width ndiag * nterms - 1) and solved by LAPACK dpbtrf.
struct SkyFit {
    let nwave: Int
    let nterms: Int
    var solution: [Double]
    var factor: BandCholesky?
    var constrainedUnknowns: [Bool]
    /// Sector offsets fitted with the sky (`--fit-offsets`): their templates on the sky fibers, the fitted
    /// coefficients and what the covariance of F needs (see `SkyFit+Sectors.swift`).
    var sectors: SectorTerms?

    init(nwave: Int, nterms: Int, sectorTemplates: [[[Double]]]? = nil) {
        self.nwave = nwave; self.nterms = nterms
        solution = [Double](repeating: 0, count: nwave * nterms)
        constrainedUnknowns = [Bool](repeating: false, count: nwave * nterms)
        if let t = sectorTemplates, !t.isEmpty { sectors = SectorTerms(templates: t) }
    }

    /// Solves for F from the sky fibers. Fibers are summed in fixed chunks, so the result does not depend on threads.
    mutating func solve(res: any FiberResolutions, skyRows: [Int], flux: [[Double]], ivar: [[Double]], terms: [[Double]]) throws {
        let ndiag = res.ndiag, nwave = self.nwave, np = nterms
        let n = nwave * np
        let kd = BandedDeconvolution.bandWidth(ndiag: ndiag, nterms: np)
        let nsky = skyRows.count
        guard nsky > 0 else { throw DESIError.failed("the sky fit has no sky fibers") }
        let (a, b) = BandedDeconvolution.accumulateInChunks(count: nsky, n: n, kd: kd) { s, a, b in
            let f = skyRows[s]
            res.withDiagonals(of: f) { r in
                ivar[s].withUnsafeBufferPointer { w in
                    flux[s].withUnsafeBufferPointer { v in
                        BandedDeconvolution.accumulate(resolution: r, ndiag: ndiag, nwave: nwave, weights: w, values: v,
                                                       terms: terms[s], into: &a, rhs: &b)
                    }
                }
            }
        }
        do {
            let r = try BandedDeconvolution.solve(a, b)
            solution = r.x; factor = r.factor; constrainedUnknowns = r.constrained
            if sectors != nil { try solveWithSectors(res: res, skyRows: skyRows, flux: flux, ivar: ivar) }
        } catch {
            throw DESIError.failed("the sky fit is singular (\(nsky) sky fibers, \(np) terms): \(error)")
        }
    }

    /// Whether all unknowns of wavelength j are constrained by data.
    func constrained(wavelength j: Int) -> Bool {
        (0..<nterms).allSatisfy { constrainedUnknowns[j * nterms + $0] }
    }

    /// R_f (sum_p c_p F_p), without sector offsets.
    func model(res: any FiberResolutions, fiber f: Int, terms c: [Double]) -> [Double] {
        var g = [Double](repeating: 0, count: nwave)
        for j in 0..<nwave {
            var s = 0.0
            for p in 0..<nterms { s += c[p] * solution[j * nterms + p] }
            g[j] = s
        }
        return res.apply(spec: f, to: g)
    }

    /// The band of the covariance of F (inverse of the normal matrix), wide enough for the resolution.
    func covariance() -> SymmetricBandInverse? {
        guard let factor else { return nil }
        return factor.inverseBand(width: factor.kd)
    }
}
