import DESICore
import Foundation
import LinearAlgebra

/// The sector-offset unknowns of the sky fit (`--fit-offsets`), fitted jointly with the deconvolved sky F as
/// desispec.sky.compute_sky_linear does (its design matrix: nwave sky columns, then one column per sector template).
/// The normal matrix is the sky's band A plus a border: C (sky x templates) and D (templates x templates). It is
/// solved by the Schur complement S = D - C^T A^-1 C, which keeps the band solver: x_t = S^-1 (b_t - C^T A^-1 b),
/// F = A^-1 (b - C x_t). The covariance of F gains A^-1 C S^-1 C^T A^-1 (the sky block of desispec's full inverse).
struct SectorTerms: Sendable {
    /// Per template, per sky fiber (index among the fitted sky fibers): nwave values, or [] off the sector.
    let templates: [[[Double]]]
    /// Fitted coefficient of each template (0 for a template no weighted sky pixel constrains, as desispec's
    /// A.diagonal() > 0 selection).
    var coefficients: [Double]
    /// A^-1 C: per template, the response of F to the template column.
    var responses: [[Double]] = []
    /// S^-1 over the constrained templates (`active`), row-major.
    var schurInverse: [Double] = []
    var active: [Int] = []

    init(templates: [[[Double]]]) {
        self.templates = templates
        coefficients = [Double](repeating: 0, count: templates.count)
    }
}

extension SkyFit {
    /// After `solution` = A^-1 b and `factor` of A are set: adds the sector terms to the solution.
    mutating func solveWithSectors(res: any FiberResolutions, skyRows: [Int], flux: [[Double]], ivar: [[Double]]) throws {
        guard var terms = sectors, let factor else { return }
        precondition(nterms == 1, "sector offsets are fitted with a uniform sky only")
        let m = terms.templates.count, nw = nwave
        var c = [[Double]](repeating: [Double](repeating: 0, count: nw), count: m)
        var d = [Double](repeating: 0, count: m * m), bt = [Double](repeating: 0, count: m)
        for k in 0..<m {
            for s in 0..<skyRows.count where !terms.templates[k][s].isEmpty {
                let tk = terms.templates[k][s]
                let v = (0..<nw).map { ivar[s][$0] * tk[$0] }
                let rt = res.applyTranspose(spec: skyRows[s], to: v)
                for j in 0..<nw { c[k][j] += rt[j] }
                for i in 0..<nw { bt[k] += v[i] * flux[s][i] }
                for l in 0..<m where !terms.templates[l][s].isEmpty {
                    let tl = terms.templates[l][s]
                    var x = 0.0
                    for i in 0..<nw { x += v[i] * tl[i] }
                    d[k * m + l] += x
                }
            }
            for j in 0..<nw where !constrainedUnknowns[j] { c[k][j] = 0 }
        }
        let active = (0..<m).filter { d[$0 * m + $0] > 0 }
        let responses = c.map { factor.solve($0) }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let na = active.count
        var coefficients = [Double](repeating: 0, count: m)
        var schurInverse: [Double] = []
        if na > 0 {
            var s = Matrix(rows: na, cols: na)
            var rhs = [Double](repeating: 0, count: na)
            for (a, k) in active.enumerated() {
                rhs[a] = bt[k] - dot(c[k], solution)
                for (b, l) in active.enumerated() { s.data[a * na + b] = d[k * m + l] - dot(c[k], responses[l]) }
            }
            do {
                let x = try choleskySolve(s, rhs)
                schurInverse = try choleskyInverse(s).data
                for (a, k) in active.enumerated() { coefficients[k] = x[a] }
            } catch {
                throw DESIError.failed("the sector offsets cannot be separated from the sky (\(error))")
            }
            for k in active where coefficients[k] != 0 {
                for j in 0..<nw { solution[j] -= coefficients[k] * responses[k][j] }
            }
        }
        terms.coefficients = coefficients; terms.responses = responses
        terms.schurInverse = schurInverse; terms.active = active
        sectors = terms
    }

    /// The fitted sector offsets of sky fiber `s` (index among the sky fibers), or nil without sector terms.
    func sectorOffset(sky s: Int) -> [Double]? {
        guard let terms = sectors else { return nil }
        var out = [Double](repeating: 0, count: nwave)
        for (k, t) in terms.templates.enumerated() where !t[s].isEmpty && terms.coefficients[k] != 0 {
            for i in 0..<nwave { out[i] += terms.coefficients[k] * t[s][i] }
        }
        return out
    }

    /// The variance the sector terms add to R F for a resolution R (`apply`): the diagonal of
    /// R A^-1 C S^-1 C^T A^-1 R^T. Zeros without sector terms.
    func sectorVariance(apply: ([Double]) -> [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: nwave)
        guard let terms = sectors, !terms.active.isEmpty else { return out }
        let u = terms.active.map { apply(terms.responses[$0]) }
        let na = u.count
        for i in 0..<nwave {
            var v = 0.0
            for a in 0..<na { for b in 0..<na { v += u[a][i] * terms.schurInverse[a * na + b] * u[b][i] } }
            out[i] = v
        }
        return out
    }
}
