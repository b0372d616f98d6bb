import Foundation

extension ShapeFitPixels {
    /// The length of each bundle's shape step that minimises its chi2 along the step (an exact line search).
    ///
    /// `shapeStep` solves with each spot's own normal block; the overlaps of neighbouring spots are left out. Where
    /// stamps overlap a lot (wide stamps, e.g. HSIZEX 10-14 at DESI's 7.5-pixel fiber spacing, or broad cores), that
    /// normal matrix underestimates the curvature and the full step overshoots: the iterations then grow instead of
    /// converging. With fluxes fixed the model is linear in the coefficients, so along the step d the chi2 is the
    /// parabola |r - a D|^2_W (r the residual before the step, D the model change of the full step) whose minimum is
    /// a = <r, D>_W / <D, D>_W. Each bundle's sums run over the pixels of its own spots' stamps (a pixel shared by two
    /// bundles counts in both); a is kept in [0, 1] (0: the step does not lower the chi2), so the full step is taken
    /// whenever the block normal matrix is exact enough, and the chi2 of each bundle cannot grow.
    func stepLengths(spots: [[ShapeFitSpot]], bundles: [[Int]], model: [Double], trialModel: [Double]) -> [Double] {
        var visitedBy = [Int32](repeating: -1, count: nx * ny)
        return bundles.enumerated().map { (b, fibers) in
            var rd = 0.0, dd = 0.0
            for f in fibers {
                for s in spots[f] {
                    for iy in 0..<s.ny {
                        let row = (s.y0 + iy) * nx + s.x0
                        for k in row..<(row + s.nx) where visitedBy[k] != Int32(b) {
                            visitedBy[k] = Int32(b)
                            let w = weight(k, model: model[k])
                            guard w > 0 else { continue }
                            let d = trialModel[k] - model[k]
                            rd += w * (Double(data[k]) - model[k]) * d
                            dd += w * d * d
                        }
                    }
                }
            }
            guard dd > 0, rd.isFinite else { return 0 }
            return min(max(rd / dd, 0), 1)
        }
    }
}
