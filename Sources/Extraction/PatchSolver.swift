import Foundation
import LinearAlgebra

/// Below this reciprocal condition number (1-norm estimate, within a factor of about n of the 2-norm one) the
/// patch may have eigenvalues under specter's floor (10 epsilon x the largest, a condition number of 4.5e14).
let minReciprocalCondition = 1e-11

/// Results of the extraction of one patch (specter.extract.ex2d.ex2d_patch with full_output).
struct PatchResult {
    /// Re-convolved flux R f and its inverse variance, [nspec * nwave] (photons per bin); set for the core fibers
    /// only (0 for the neighbour fibers fitted with them).
    var flux: [Double]
    var ivar: [Double]
    /// Deconvolved flux f.
    var xflux: [Double]
    /// Diagonal blocks of R, one nwave x nwave matrix per core fiber (`Patch.coreFibers`, in order): the
    /// neighbour fibers' blocks are thrown away by the caller, so they are not computed (issue 16).
    var resolutionBlocks: [Matrix]
    /// chi2 of the pixels each flux touches, and fraction of its PSF weight on masked pixels.
    var chi2: [Double]
    var maskedFraction: [Double]
    /// Model of the patch pixels A f.
    var model: [Double]
}

/// Solves one patch: (A^T W A + D) f = A^T W p, then the Bolton & Schlegel (2010) decorrelation
/// (specter.extract.ex2d.ex2d_patch and resolution_from_icov).
/// - pixels, weights: the patch's pixel values and inverse variances (0 for masked pixels), row-major [ny, nx].
/// - workspace: buffers reused between the patches of one worker.
func solvePatch(patch: Patch, projection a: ProjectionMatrix, pixels: [Double], weights: [Double],
                options: ExtractionOptions, workspace: PatchWorkspace = PatchWorkspace()) throws -> PatchResult {
    let n = a.ncol, npix = a.npix
    let nwave = patch.nwave

    // Inverse covariance A^T W A + D (its lower triangle) and A^T W p. A^T W A is a band matrix: flux columns
    // are fiber-major and a pixel sees only neighbouring fibers and nearby wavelengths. The half-bandwidth is
    // taken at least nwave - 1, so that every fiber's diagonal block of the covariance is within the band.
    let kd = min(n - 1, max(a.bandwidth(weights: weights), nwave - 1))
    var rhs = [Double](repeating: 0, count: n)
    var fluxWeight = [Double](repeating: 0, count: n)
    let allMasked = !weights.contains { $0 != 0 }
    /// Adds A^T W A + D to m, element (i, j), j <= i, at m[i * rowStride + j * colStride] (the total count
    /// values are zero on entry): dense row-major (n, 1), or LAPACK lower band storage (1, kd).
    func accumulateInverseCovariance(into m: UnsafeMutablePointer<Double>, rowStride: Int, colStride: Int, count: Int,
                                     computeRHS: Bool) {
        // Through buffer pointers (no bounds checks nor captured-variable boxes in the loop). Each pixel adds
        // (w A[p, i]) A[p, j] to element (i, j) once, pixels in order, so the loop order within a pixel does not
        // change the bits: the inner loop runs down a column (rows i >= j), which in band storage (rowStride 1)
        // writes consecutive addresses instead of addresses kd apart (issue 16: this scatter was ~8 % of a frame).
        let maxEntries = (0..<npix).reduce(0) { max($0, a.pixStart[$1 + 1] - a.pixStart[$1]) }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: max(1, maxEntries)) { wvs in
        a.pixCol.withUnsafeBufferPointer { pc in
        a.pixValue.withUnsafeBufferPointer { pv in
        a.pixStart.withUnsafeBufferPointer { start in
        weights.withUnsafeBufferPointer { wt in
        pixels.withUnsafeBufferPointer { px in
        rhs.withUnsafeMutableBufferPointer { b in
        fluxWeight.withUnsafeMutableBufferPointer { fw in
            for p in 0..<npix {
                let w = wt[p]
                if w == 0 { continue }
                let lo = start[p], hi = start[p + 1]
                let wp = w * px[p]
                for e in lo..<hi {
                    let wv = w * pv[e]
                    wvs[e - lo] = wv
                    if computeRHS {
                        let ci = Int(pc[e])
                        b[ci] += pv[e] * wp
                        fw[ci] += wv
                    }
                }
                // column j = pc[f], rows i = pc[e] >= j (entries sorted ascending): (w A[p, i]) A[p, j]; pointers
                // from the pixel's first entry and wrapping index arithmetic (indices < n^2: no overflow checks)
                let cols = pc.baseAddress! + lo, vals = pv.baseAddress! + lo
                for f in 0..<(hi - lo) {
                    let col = m + Int(cols[f]) &* colStride
                    let af = vals[f]
                    for e in f..<(hi - lo) { col[Int(cols[e]) &* rowStride] += wvs[e] * af }
                }
            }
        }}}}}}}}
        // Regularisation: flux bins with very little weight are pulled to 0 (specter: minweight = 1e-4 max).
        let maxWeight = fluxWeight.max() ?? 0
        let minWeight = 1e-4 * maxWeight
        let diagonalStride = rowStride + colStride
        for c in 0..<n {
            var d = options.regularize
            if fluxWeight[c] < minWeight { d = minWeight - fluxWeight[c] }
            m[c * diagonalStride] += d * d
        }
        if allMasked {
            // specter: a diagonal 1e-8 inverse covariance, the fluxes are then flagged ivar = 0
            m.update(repeating: 0, count: count)
            for c in 0..<n { m[c * diagonalStride] = 1e-8 }
        }
    }
    /// The full symmetric inverse covariance as a Matrix (for the eigen-decomposition paths).
    func denseInverseCovariance() -> Matrix {
        var icov = Matrix(rows: n, cols: n)
        icov.data.withUnsafeMutableBufferPointer {
            accumulateInverseCovariance(into: $0.baseAddress!, rowStride: n, colStride: 1, count: n * n, computeRHS: false)
        }
        icov.symmetrizeFromLower()
        return icov
    }
    workspace.resetBand(n: n, kd: kd)
    workspace.withBand { accumulateInverseCovariance(into: $0, rowStride: 1, colStride: kd, count: (kd + 1) * n, computeRHS: true) }

    // Flux: an exact solve, as specter's spsolve (Cholesky), here of the band matrix. Covariance blocks of each
    // core fiber: the band of the inverse by selected inversion from the band factor, except where specter's way
    // differs. specter inverts through an eigen-decomposition whose eigenvalues are floored at 10 machine
    // epsilons of the largest; the floor changes the covariance only for a nearly singular matrix (flux bins
    // seen only through masked pixels or off the CCD, deconvolution finer than the PSF allows), so those
    // patches, and any the factorisation refuses, take the eigen-decomposition.
    let coreFibers = (patch.coreFibers.lowerBound - patch.fibers.lowerBound)..<(patch.coreFibers.upperBound - patch.fibers.lowerBound)
    var xflux = rhs
    var covBlock: (Int) -> [Double]        // column-major, full symmetric nwave x nwave block of fiber s
    var solved = false
    let wellConditioned = workspace.withBand { l -> Bool in
        let oneNorm = BandLAPACK.oneNorm(l, n: n, kd: kd)
        guard BandLAPACK.cholesky(l, n: n, kd: kd) else { return false }
        xflux.withUnsafeMutableBufferPointer { BandLAPACK.solve(factor: l, n: n, kd: kd, $0.baseAddress!) }
        solved = true
        guard BandLAPACK.reciprocalCondition(factor: l, n: n, kd: kd, oneNorm: oneNorm) > minReciprocalCondition else {
            return false
        }
        workspace.reserveInverse(n: n)
        workspace.withInverse {
            BandLAPACK.inverseWithinBand(factor: l, n: n, kd: kd, firstColumn: coreFibers.lowerBound * nwave, into: $0)
        }
        return true
    }
    if wellConditioned {
        covBlock = { s in workspace.withInverse { z in
            // the block's lower triangle (within the band: kd >= nwave - 1), mirrored
            var c = [Double](repeating: 0, count: nwave * nwave)
            let a0 = s * nwave
            for j in 0..<nwave {
                for i in j..<nwave {
                    let v = z[(a0 + j) * n + a0 + i]
                    c[j * nwave + i] = v; c[i * nwave + j] = v
                }
            }
            return c
        }}
    } else {
        let cov = try SymmetricEigen(denseInverseCovariance()).composeRegularized(invert: true, squareRoot: false)
        if !solved { xflux = matvec(cov, rhs) }
        covBlock = { s in cov.block((s * nwave)..<((s + 1) * nwave)).transposed.data }
    }

    // Resolution: Q = sqrt of the inverse covariance, per fiber block of the covariance (default) or whole.
    var flux = [Double](repeating: 0, count: n)
    var fluxIvar = [Double](repeating: 0, count: n)
    var blocks: [Matrix] = []
    blocks.reserveCapacity(coreFibers.count)
    if options.decorrelateFibers {
        let q = try SymmetricEigen(denseInverseCovariance()).composeRegularized(invert: false, squareRoot: true)
        let norm = q.rowSums
        var r = q
        for i in 0..<n { for j in 0..<n { r[i, j] /= norm[i] } }
        flux = matvec(r, xflux)
        for i in 0..<n { fluxIvar[i] = norm[i] * norm[i] }
        for s in coreFibers { blocks.append(r.block((s * nwave)..<((s + 1) * nwave))) }
    } else {
        // Only the core fibers: the neighbours' resolution and re-convolved flux are not kept (ex2d keeps only
        // the core of each sub-bundle as well), and each fiber's block is computed on its own.
        for s in coreFibers {
            guard let q = ColumnMajorLAPACK.inverseSquareRoot(covBlock(s), m: nwave) else {
                throw LinearAlgebraError.lapack(routine: "dsyevd", info: -1)
            }
            // R = Q with rows normalised to 1 (Q is symmetric: Q[i, j] = q[j * nwave + i] = q[i * nwave + j])
            var r = Matrix(rows: nwave, cols: nwave)
            var norm = [Double](repeating: 0, count: nwave)
            r.data.withUnsafeMutableBufferPointer { p in
                for i in 0..<nwave {
                    var t = 0.0
                    for j in 0..<nwave { let v = q[j * nwave + i]; p[i * nwave + j] = v; t += v }
                    norm[i] = t
                    let inv = 1 / t
                    for j in 0..<nwave { p[i * nwave + j] *= inv }
                }
            }
            let fx = matvec(r, Array(xflux[(s * nwave)..<((s + 1) * nwave)]))
            for i in 0..<nwave {
                flux[s * nwave + i] = fx[i]
                fluxIvar[s * nwave + i] = norm[i] * norm[i]
            }
            blocks.append(r)
        }
    }
    for c in 0..<n {
        if allMasked || abs(fluxWeight[c]) <= 1e-8 { fluxIvar[c] = 0 }
        if !flux[c].isFinite { flux[c] = 0; fluxIvar[c] = 0 }
    }

    // Model, chi2 per flux bin (pixel variance plus the PSF model error), masked fraction.
    let cleanX = xflux.map { $0.isFinite ? $0 : 0 }
    let model = a.apply(cleanX)
    var totalIvar = [Double](repeating: 0, count: npix)
    var chi2 = [Double](repeating: 0, count: npix)
    var good = [Double](repeating: 0, count: npix)
    for p in 0..<npix {
        if weights[p] > 0 { good[p] = 1 }
        let m = model[p]
        let mvar = (m * options.psfError + 1e-32) * (m * options.psfError + 1e-32)
        if weights[p] > 0 && mvar.isFinite {
            let t = 1 / (mvar + 1 / weights[p])
            totalIvar[p] = t
            let d = pixels[p] - m
            chi2[p] = d * d * t
        }
    }
    let (chiSum, psfWeight, goodWeight) = a.applyTranspose(chi2, totalIvar.map { $0 > 0 ? 1 : 0 }, good)
    var chi2x = [Double](repeating: 0, count: n)
    var masked = [Double](repeating: 0, count: n)
    for c in 0..<n {
        chi2x[c] = psfWeight[c] == 0 ? 0 : chiSum[c] / psfWeight[c]
        masked[c] = 1 - goodWeight[c]
    }
    return PatchResult(flux: flux, ivar: fluxIvar, xflux: cleanX, resolutionBlocks: blocks, chi2: chi2x,
                       maskedFraction: masked, model: model)
}
