import DESICore
import Foundation
import LinearAlgebra

extension ScanInputs {
    /// The median distance (pixels) between neighbouring fibers at the middle of the wavelength range (7.3 on DESI's
    /// CCDs; bundle gaps excluded by the median).
    var fiberPitch: Double {
        let w = 0.5 * (psf.wavemin + psf.wavemax)
        guard psf.nspec > 1 else { return 7.3 }
        let d = (1..<psf.nspec).map { abs(psf.x(fiber: $0, wavelength: w) - psf.x(fiber: $0 - 1, wavelength: w)) }
        return Statistics.median(d)
    }

    /// A start farther off than the scan's limits would otherwise lock on an alias inside them: fibers moved by a
    /// whole fiber pitch (the bundles match but for one fiber each) or lines matched with other lines. So the CCD's
    /// score is also computed beyond the limits, on a band of 3 rows through `centre` (the best offset inside) out
    /// to one fiber pitch + 2 pixels past the x limit, and on a band of 3 columns out to `CoarseScanOptions.beyondY`
    /// pixels past the y limit; a score there above the best inside the limits throws, naming the offset (specex and
    /// desispec would see such a start as a failed fit: whole bundles with chi2 far above the expected), when that
    /// score is `significant` (clear of the grid's level of unrelated overlaps and noise, as `peak` judges).
    func checkNoBetterMatchBeyond(limits o: CoarseScanOptions, grid: [Double], kx: Int, ky: Int,
                                  centre: (x: Int, y: Int), significant: (Double) -> Bool, threads: Int) throws {
        let inX = { (sx: Int) in Double(abs(sx)) <= o.maxShiftX }, inY = { (sy: Int) in Double(abs(sy)) <= o.maxShiftY }
        var inside = 0.0, beyond = (score: 0.0, x: 0, y: 0)
        func look(_ v: Double, _ sx: Int, _ sy: Int) {
            if inX(sx) && inY(sy) { inside = max(inside, v) } else if v > beyond.score { beyond = (v, sx, sy) }
        }
        let nsx = 2 * kx + 1
        for (k, v) in grid.enumerated() { look(v, k % nsx - kx, k / nsx - ky) }
        let ex = kx + Int((fiberPitch + 2).rounded(.up)), ey = ky + o.beyondY
        let cx = max(-kx + 1, min(kx - 1, centre.x)), cy = max(-ky + 1, min(ky - 1, centre.y))
        let rows = totalGrid(xs: -ex...ex, ys: (cy - 1)...(cy + 1), threads: threads)
        for (k, v) in rows.enumerated() { look(v, k % (2 * ex + 1) - ex, cy - 1 + k / (2 * ex + 1)) }
        let cols = totalGrid(xs: (cx - 1)...(cx + 1), ys: -ey...ey, threads: threads)
        for (k, v) in cols.enumerated() { look(v, cx - 1 + k % 3, k / 3 - ey) }
        // 15 % above: aliases of the line pattern can come within a few percent of the true offset when lines of the
        // list are absent from the image (a lamp off: 5 % measured, PSFRobustnessTests); a start a fiber pitch or
        // several pixels along beyond the limits scores 40 % above its alias inside.
        guard beyond.score > 1.15 * inside, significant(beyond.score) else { return }
        let excess = inside > 0 ? String(format: "%.0f %% more signal than the best offset within them",
                                         100 * (beyond.score / inside - 1)) : "no signal within them"
        throw DESIError.failed(String(format: "the arc lines match the PSF's traces best about %+d pixel(s) across and "
            + "%+d along the dispersion from the start, beyond the coarse scan's limits (%.0f across, %.0f along; ",
            beyond.x, beyond.y, o.maxShiftX, o.maxShiftY)
            + excess + "): the starting PSF is too far off (--scan-max-dx, --scan-max-dy search farther)")
    }
}
