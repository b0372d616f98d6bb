import DESICore
import Foundation
import LinearAlgebra

/// The image model of the CTE correction (desispec.correct_cte.get_rowbyrow_image_model):
/// 1. row-by-row optimal extraction (desispec.qproc.rowbyrowextract.extract): the fibers in blocks of 25, each block
///    fitted independently on every row by weighted least squares of its cross-dispersion profiles
///    (A^T W A f = A^T W d, W the pixels' ivar clipped below at 1e-10);
/// 2. the spectra divided by the fiber flat (qproc_apply_fiberflat) and a sky, the median of the faintest half of the
///    fibers, subtracted five times (qproc_sky_subtraction; no fibermap in preproc, so no fiber is SKY);
/// 3. each spectrum median filtered over 31 rows (scipy median_filter, mode 'nearest');
/// 4. (smoothed + sky) x flat projected back onto the CCD with the same profiles.
/// Without a fiber flat (desispec requires one) the flat is 1 on every row and the sky is still subtracted.
/// Profile columns outside the image carry no weight (desispec does not meet them on DESI PSFs).
enum CTERowByRowModel {
    static let blockSize = 25
    static let smoothingRows = 31

    /// The model image [ny * nx] of `pix` (row-major).
    static func compute(pix: [Float], ivar: [Float], ny: Int, nx: Int, profiles p: CrossDispersionProfiles,
                        fiberflat: ModelFiberFlat?) throws -> [Double] {
        guard p.ny == ny else { throw DESIError.mismatch("cross-dispersion profiles on \(p.ny) rows, image has \(ny)") }
        if let ff = fiberflat, ff.nspec < p.nspec {
            throw DESIError.mismatch("fiber flat has \(ff.nspec) fibers, the PSF \(p.nspec)")
        }
        let flux = extract(pix: pix, ivar: ivar, ny: ny, nx: nx, profiles: p)
        // the extraction's variances only matter through their sign (qsky keeps ivar > 0): all positive
        var spectra = ImageModel.RowSpectra(flux: flux, ivar: [Double](repeating: 1, count: flux.count))
        // desispec's QFrame holds the wavelengths as float32
        let g = FiberTraceGeometry(nspec: p.nspec, ny: ny, x: p.x, wave: p.wave.map { Double(Float($0)) }, xsig: nil)
        if let ff = fiberflat { ImageModel.applyFiberFlat(&spectra, fiberflat: ff, traces: g) }
        let sky = ImageModel.subtractSky(&spectra, traces: g)
        let s = spectra
        let model = parallelMap(p.nspec) { f -> [Double] in
            let smooth = Smoothing.medianFilter(Array(s.flux[(f * ny)..<((f + 1) * ny)]), size: smoothingRows, boundary: .nearest)
            var flat = [Double](repeating: 1, count: ny)
            if let ff = fiberflat {
                _ = flat.withUnsafeMutableBufferPointer { ImageModel.rowFlat(ff, fiber: f, traces: g, into: $0.baseAddress!) }
            }
            return (0..<ny).map { r in (smooth[r] + sky[f * ny + r]) * flat[r] }
        }.flatMap { $0 }
        return project(model, profiles: p, nx: nx)
    }

    /// The fluxes [nspec * ny] of the row-by-row extraction.
    static func extract(pix: [Float], ivar: [Float], ny: Int, nx: Int, profiles p: CrossDispersionProfiles) -> [Double] {
        let nblocks = (p.nspec + blockSize - 1) / blockSize
        let rowChunks = max(1, min(ny, 32))
        var flux = [Double](repeating: 0, count: p.nspec * ny)
        flux.withUnsafeMutableBufferPointer { fb in
            let out = SharedBuffer(fb)
            parallelFor(nblocks * rowChunks) { job in
                let b = job / rowChunks, c = job % rowChunks
                let fibers = (b * blockSize)..<min(p.nspec, (b + 1) * blockSize)
                let n = fibers.count, w = p.width
                var a = [Double](repeating: 0, count: n * n), rhs = [Double](repeating: 0, count: n)
                for r in (ny * c / rowChunks)..<(ny * (c + 1) / rowChunks) {
                    for i in 0..<(n * n) { a[i] = 0 }
                    for i in 0..<n { rhs[i] = 0 }
                    let o = r * nx
                    for (i1, f1) in fibers.enumerated() {
                        let k1 = f1 * ny + r, x1 = Int(p.first[k1]), v1 = k1 * w
                        for j in 0..<w where x1 + j >= 0 && x1 + j < nx {
                            let iv = max(Double(ivar[o + x1 + j]), 1e-10)
                            rhs[i1] += Double(p.values[v1 + j]) * Double(pix[o + x1 + j]) * iv
                        }
                        // upper triangle, column-major (i1 <= i2 at i2 * n + i1): the overlapping columns
                        for (i2, f2) in fibers.enumerated() where i2 >= i1 {
                            let k2 = f2 * ny + r, x2 = Int(p.first[k2]), v2 = k2 * w
                            let lo = max(x1, x2, 0), hi = min(x1 + w, x2 + w, nx)
                            guard lo < hi else { continue }
                            var s = 0.0
                            for col in lo..<hi {
                                s += Double(p.values[v1 + col - x1]) * max(Double(ivar[o + col]), 1e-10)
                                    * Double(p.values[v2 + col - x2])
                            }
                            a[i2 * n + i1] = s
                        }
                    }
                    let solved = a.withUnsafeMutableBufferPointer { ab in
                        rhs.withUnsafeMutableBufferPointer { rb in
                            guard ColumnMajorLAPACK.choleskyUpper(ab.baseAddress!, n: n) else { return false }
                            ColumnMajorLAPACK.solveUpper(ab.baseAddress!, n: n, rb.baseAddress!)
                            return true
                        }
                    }
                    for (i, f) in fibers.enumerated() { out[f * ny + r] = solved && rhs[i].isFinite ? rhs[i] : 0 }
                }
            }
        }
        return flux
    }

    /// desispec.qproc.rowbyrowextract.model: flux x profile added on each row, fibers in order.
    static func project(_ flux: [Double], profiles p: CrossDispersionProfiles, nx: Int) -> [Double] {
        let ny = p.ny, w = p.width
        var image = [Double](repeating: 0, count: ny * nx)
        image.withUnsafeMutableBufferPointer { ib in
            let img = SharedBuffer(ib)
            let chunks = max(1, min(ny, 64))
            parallelFor(chunks) { c in
                for r in (ny * c / chunks)..<(ny * (c + 1) / chunks) {
                    for f in 0..<p.nspec {
                        let k = f * ny + r, x0 = Int(p.first[k])
                        for j in 0..<w where x0 + j >= 0 && x0 + j < nx {
                            img[r * nx + x0 + j] += flux[k] * Double(p.values[k * w + j])
                        }
                    }
                }
            }
        }
        return image
    }
}
