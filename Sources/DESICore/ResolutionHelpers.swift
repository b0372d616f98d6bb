import Foundation

extension ResolutionData {
    /// desispec.resolution.default_ndiag.
    public static let defaultNDiag = 21

    /// Resolution matrices from Gaussian widths, as desispec.resolution.Resolution does for 1-D data:
    /// column j of R holds |pixel-integrated Gaussian| of sigma `sigmas[spec * nwave + j]` (pixels) evaluated at
    /// offsets +h..-h (desispec.resolution._gauss_pix). Each column sums to erf((h + 1/2) / (sigma sqrt 2)), which is
    /// 1 to float precision for sigma << h; with `normalize` the columns are scaled to sum to exactly 1.
    public static func gaussian(sigmas: [Double], nspec: Int, ndiag: Int = defaultNDiag, normalize: Bool = false) -> ResolutionData {
        precondition(nspec > 0 && sigmas.count % nspec == 0, "sigmas must hold nspec * nwave values")
        precondition(sigmas.allSatisfy { $0 > 0 }, "Gaussian sigmas must be positive")
        let nwave = sigmas.count / nspec
        let h = ndiag / 2
        var data = [Float](repeating: 0, count: nspec * ndiag * nwave)
        var column = [Double](repeating: 0, count: ndiag)
        let s2 = 2.0.squareRoot()
        for s in 0..<nspec {
            for j in 0..<nwave {
                let sig = sigmas[s * nwave + j]
                var sum = 0.0
                for d in 0..<ndiag {
                    let k = Double(h - d)   // offset of diagonal d
                    column[d] = abs(erf((k + 0.5) / (sig * s2)) - erf((k - 0.5) / (sig * s2))) / 2
                    sum += column[d]
                }
                let scale = normalize && sum > 0 ? 1 / sum : 1
                for d in 0..<ndiag { data[(s * ndiag + d) * nwave + j] = Float(column[d] * scale) }
            }
        }
        return ResolutionData(nspec: nspec, ndiag: ndiag, nwave: nwave, data: data)
    }

    /// Row `row` of R for spectrum `spec`: the band of columns first..<first+values.count it covers
    /// (clipped to the matrix), as Double.
    public func row(spec: Int, _ row: Int) -> (first: Int, values: [Double]) {
        precondition(spec >= 0 && spec < nspec && row >= 0 && row < nwave)
        let h = ndiag / 2
        let first = max(0, row - h), last = min(nwave - 1, row + h)
        var values = [Double](repeating: 0, count: last - first + 1)
        for j in first...last {
            let d = h - (j - row)
            values[j - first] = Double(data[(spec * ndiag + d) * nwave + j])
        }
        return (first, values)
    }

    /// R of spectrum `spec` as a dense nwave x nwave row-major matrix (for small nwave: tests, debugging).
    public func dense(spec: Int) -> [Double] {
        var m = [Double](repeating: 0, count: nwave * nwave)
        for i in 0..<nwave {
            let (first, values) = row(spec: spec, i)
            for (o, v) in values.enumerated() { m[i * nwave + first + o] = v }
        }
        return m
    }

    /// Band storage of dense row-major nwave x nwave matrices, one per spectrum (elements outside the band are dropped,
    /// as desispec.resolution.Resolution does for a square array).
    public static func fromDense(_ matrices: [[Double]], nwave: Int, ndiag: Int = defaultNDiag) -> ResolutionData {
        precondition(matrices.allSatisfy { $0.count == nwave * nwave }, "each matrix must be nwave x nwave")
        var r = ResolutionData(nspec: matrices.count, ndiag: ndiag, nwave: nwave)
        let h = ndiag / 2
        for (s, m) in matrices.enumerated() {
            for d in 0..<ndiag {
                let k = h - d
                for j in max(0, k)..<min(nwave, nwave + k) {
                    r.data[(s * ndiag + d) * nwave + j] = Float(m[(j - k) * nwave + j])
                }
            }
        }
        return r
    }

    /// Sum of each row of R for spectrum `spec` (1 for a flux-conserving resolution away from the edges).
    public func rowSums(spec: Int) -> [Double] {
        (0..<nwave).map { row(spec: spec, $0).values.reduce(0, +) }
    }

    /// The matrices of the given spectra, in that order.
    public func selecting(spectra: [Int]) -> ResolutionData {
        let per = ndiag * nwave
        var d = [Float](); d.reserveCapacity(spectra.count * per)
        for s in spectra { d.append(contentsOf: data[(s * per)..<((s + 1) * per)]) }
        return ResolutionData(nspec: spectra.count, ndiag: ndiag, nwave: nwave, data: d)
    }
}
