/// R·1 and R·x for one fiber, R its resolution with a margin of `margin` columns on each side holding the edge
/// columns repeated (desispec compute_flux_calibration's per-fiber convolved calibration and its normalisation,
/// `Rs.dot(ones)` and `Rs.dot(calibration)` on the frame padded by `margin` pixels).
///
/// The plain form builds the fiber's padded R as a [Double] of ndiag x (nw0 + 2 margin) first and then applies it
/// twice; this reads the Float resolution data in place and makes both products in one pass. Every term and the
/// order in which each output element sums its terms are those of the plain form (diagonal outer, column inner),
/// so the results are bit-identical (FluxCalibTests.MarginResolutionProductsTests).
///
/// - Parameters:
///   - data: one spectrum's resolution diagonals, [ndiag][nw0] (FiberResolutions.withDiagonals).
///   - x: the vector of the second product, nw0 + 2 margin long.
///   - ones: out, R·1 (nw0 + 2 margin, overwritten).
///   - product: out, R·x (nw0 + 2 margin, overwritten).
func marginResolutionProducts(_ data: UnsafeBufferPointer<Float>, ndiag: Int, nw0: Int, margin: Int,
                              x: UnsafeBufferPointer<Double>, ones: UnsafeMutableBufferPointer<Double>,
                              product: UnsafeMutableBufferPointer<Double>) {
    let nwave = nw0 + 2 * margin, h = ndiag / 2
    precondition(x.count == nwave && ones.count == nwave && product.count == nwave)
    for j in 0..<nwave { ones[j] = 0; product[j] = 0 }
    for d in 0..<ndiag {
        let k = h - d, row = d * nw0
        for j in max(0, k)..<min(nwave, nwave + k) {
            let r = Double(data[row + min(max(j - margin, 0), nw0 - 1)])
            ones[j - k] += r   // r x 1, exactly r
            product[j - k] += r * x[j]
        }
    }
}
