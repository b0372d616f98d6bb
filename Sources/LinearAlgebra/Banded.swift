import Foundation

// Banded normal equations of deconvolution problems: a model  m_f = R_f (sum_p c_fp F_p)  of every fiber f,
// with R_f a banded resolution matrix stored as DIA diagonals (desispec.resolution layout) and F_p unknown
// spectra on the same grid, gives A = sum_f (R_f P_f)^T W_f (R_f P_f): a symmetric band matrix when the
// unknowns are ordered (wavelength j, term p) -> j * nterms + p. Used by the fiber flat (one term) and the
// sky model (one term, or the terms of a polynomial in focal-plane x, y).

/// Accumulates the banded normal equations of a deconvolution, fiber by fiber.
public enum BandedDeconvolution {
    /// Half band width of A for a resolution of `ndiag` diagonals and `nterms` unknown spectra.
    public static func bandWidth(ndiag: Int, nterms: Int) -> Int { (ndiag) * nterms - 1 }

    /// Adds one fiber's contribution to A and b:
    ///   A[(j,p),(k,q)] += sum_i w_i R_ij R_ik c_p c_q,   b[(j,p)] += sum_i w_i R_ij c_p y_i.
    /// `resolution` holds the fiber's DIA diagonals [ndiag, nwave] (`data[d * nwave + j]` = R[j - (ndiag/2 - d), j]),
    /// `weights` w_i (inverse variance times any per-row scale squared), `values` y_i, `terms` c_p.
    public static func accumulate(resolution r: UnsafeBufferPointer<Float>, ndiag: Int, nwave: Int,
                                  weights: UnsafeBufferPointer<Double>, values: UnsafeBufferPointer<Double>,
                                  terms: [Double], into a: inout SymmetricBandMatrix, rhs: inout [Double]) {
        let h = ndiag / 2
        let np = terms.count
        let n = a.n
        precondition(n == nwave * np && a.kd >= bandWidth(ndiag: ndiag, nterms: np))
        // row i of R: columns j = i - h ... i + h, R[i, j] = r[(h - (j - i)) * nwave + j]
        var row = [Double](repeating: 0, count: ndiag)
        let single = np == 1 && terms[0] == 1
        a.band.withUnsafeMutableBufferPointer { ab in
            rhs.withUnsafeMutableBufferPointer { bb in
                for i in 0..<nwave {
                    let wi = weights[i]
                    if wi == 0 { continue }
                    let j0 = max(0, i - h), j1 = min(nwave - 1, i + h)
                    for j in j0...j1 { row[j - j0] = Double(r[(h - (j - i)) * nwave + j]) }
                    let yi = wi * values[i]
                    if single {
                        for j in j0...j1 {
                            let wr = wi * row[j - j0]
                            bb[j] += row[j - j0] * yi
                            // lower triangle: A[j, k] for k <= j, stored at (j - k) * n + k
                            for k in j0...j { ab[(j - k) * n + k] += wr * row[k - j0] }
                        }
                    } else {
                        for j in j0...j1 {
                            let rj = row[j - j0]
                            if rj == 0 { continue }
                            for p in 0..<np {
                                let u = j * np + p
                                let wr = wi * rj * terms[p]
                                bb[u] += rj * terms[p] * yi
                                for k in j0...j {
                                    let rk = row[k - j0]
                                    let qmax = k == j ? p : np - 1
                                    for q in 0...qmax {
                                        let v = k * np + q
                                        ab[(u - v) * n + v] += wr * rk * terms[q]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The normal equations (A, b) of size `n`, half band width `kd`, summed over `count` fibers: `add(i, &A, &b)`
    /// adds fiber i. Fibers go in at most 16 fixed chunks summed in parallel, and the chunks are added in order, so
    /// the result does not depend on the thread count.
    public static func accumulateInChunks(count: Int, n: Int, kd: Int,
                                          _ add: (Int, inout SymmetricBandMatrix, inout [Double]) -> Void)
        -> (SymmetricBandMatrix, [Double]) {
        precondition(count > 0, "accumulateInChunks: no fibers")
        let nchunks = min(count, 16)
        var parts = [(SymmetricBandMatrix, [Double])](repeating: (SymmetricBandMatrix(n: 0, kd: 0), []), count: nchunks)
        parts.withUnsafeMutableBufferPointer { pp in
            let out = SharedBuffer(pp)
            parallelFor(nchunks) { c in
                var a = SymmetricBandMatrix(n: n, kd: kd)
                var b = [Double](repeating: 0, count: n)
                for i in (c * count / nchunks)..<((c + 1) * count / nchunks) { add(i, &a, &b) }
                out[c] = (a, b)
            }
        }
        var a = parts[0].0, b = parts[0].1
        for c in 1..<nchunks {
            for k in 0..<a.band.count { a.band[k] += parts[c].0.band[k] }
            for k in 0..<n { b[k] += parts[c].1[k] }
        }
        return (a, b)
    }

    /// Solves A x = b where rows with a zero diagonal (unknowns no data constrain) are left at 0, as desispec
    /// does by solving only the sub-system with A.diagonal() > 0. Returns the solution, the factor and the
    /// mask of constrained unknowns.
    public static func solve(_ a: SymmetricBandMatrix, _ b: [Double]) throws -> (x: [Double], factor: BandCholesky, constrained: [Bool]) {
        var m = a
        var rhs = b
        let n = a.n
        var constrained = [Bool](repeating: true, count: n)
        for i in 0..<n where m.band[i] <= 0 {
            constrained[i] = false
            for d in 0...m.kd {
                if i + d < n { m.band[d * n + i] = 0 }
                if i - d >= 0 { m.band[d * n + (i - d)] = 0 }
            }
            m.band[i] = 1
            rhs[i] = 0
        }
        let f = try m.cholesky()
        return (f.solve(rhs), f, constrained)
    }

    /// Diagonal of R C R^T for one resolution R (DIA [ndiag, nwave]) and the band of the covariance C of the
    /// unknowns (wavelength j, term p): the variance of R (sum_p c_p F_p) at each wavelength,
    /// sum_jk R_ij R_ik sum_pq c_p c_q C[(j,p),(k,q)]. One term with c = 1 is the variance of R F.
    public static func convolvedVariance(resolution r: UnsafeBufferPointer<Float>, ndiag: Int, nwave: Int,
                                         covariance cov: SymmetricBandInverse, terms c: [Double]) -> [Double] {
        let h = ndiag / 2, np = c.count
        var out = [Double](repeating: 0, count: nwave)
        for i in 0..<nwave {
            let j0 = max(0, i - h), j1 = min(nwave - 1, i + h)
            var s = 0.0
            for j in j0...j1 {
                let rj = Double(r[(h - (j - i)) * nwave + j])
                if rj == 0 { continue }
                for k in j0...j1 {
                    let rk = Double(r[(h - (k - i)) * nwave + k])
                    if rk == 0 { continue }
                    var g = 0.0
                    if np == 1 {
                        g = c[0] * c[0] * cov.element(j, k)
                    } else {
                        for p in 0..<np { for q in 0..<np { g += c[p] * c[q] * cov.element(j * np + p, k * np + q) } }
                    }
                    s += rj * rk * g
                }
            }
            out[i] = s
        }
        return out
    }
}
