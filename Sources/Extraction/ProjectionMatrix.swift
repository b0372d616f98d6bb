import PSF

/// Spots of one sub-bundle, cached while its wavelength patches are extracted in order (consecutive
/// patches overlap by their padding), and those of the fibers the next sub-bundle of the same worker fits too.
/// Used by one task only.
final class SpotCache {
    private let geometry: PatchGeometry
    private var spots: [Int: [Int: PSFSpot?]] = [:]   // fiber -> wavelength index -> spot (nil: off the CCD)

    init(geometry: PatchGeometry) {
        self.geometry = geometry
    }

    func spot(fiber: Int, waveIndex k: Int) -> PSFSpot? {
        if let s = spots[fiber]?[k] { return s }
        // specter.psf.PSF.xypix: nothing beyond the fiber's wavelengths at the CCD edges.
        let s = geometry.spot(fiber: fiber, wavelength: geometry.grid.wavelength(k))
        spots[fiber, default: [:]][k] = s
        return s
    }

    /// Forgets spots with wavelength index below `k`, except those of the fibers `kept`.
    func evict(below k: Int, except kept: Range<Int> = 0..<0) {
        for f in spots.keys where !kept.contains(f) { spots[f] = spots[f]!.filter { $0.key >= k } }
    }

    /// Forgets the spots of every fiber outside `fibers`.
    func keepOnly(fibers: Range<Int>) {
        for f in spots.keys where !fibers.contains(f) { spots[f] = nil }
    }
}

/// The sparse projection matrix A (pixels x fluxes) of a patch: pixel p = (y - ymin) * nx + (x - xmin),
/// flux column c = (fiber - first fiber) * nwave + (k - first wavelength index); A[p, c] is the PSF spot
/// of flux c in pixel p (specter.psf.PSF.projection_matrix). Stored by column and by pixel.
struct ProjectionMatrix {
    let npix: Int
    let ncol: Int
    // By column (CSC).
    var colStart: [Int]
    var colPixel: [Int32]
    var colValue: [Double]
    // By pixel (CSR), columns ascending within a pixel.
    var pixStart: [Int]
    var pixCol: [Int32]
    var pixValue: [Double]

    init(patch: Patch, cache: SpotCache) {
        let nx = patch.nx, ny = patch.ny
        npix = nx * ny
        ncol = patch.nspec * patch.nwave
        var colStart = [Int](repeating: 0, count: ncol + 1)
        var colPixel: [Int32] = []
        var colValue: [Double] = []
        colPixel.reserveCapacity(ncol * 120); colValue.reserveCapacity(ncol * 120)
        var c = 0
        for f in patch.fibers {
            for k in patch.waveIndices {
                if let s = cache.spot(fiber: f, waveIndex: k) {
                    let ya = max(s.y0, patch.ymin), yb = min(s.y0 + s.ny, patch.ymax)
                    let xa = max(s.x0, patch.xmin), xb = min(s.x0 + s.nx, patch.xmax)
                    if ya < yb && xa < xb {
                        s.values.withUnsafeBufferPointer { v in
                            for y in ya..<yb {
                                let srow = (y - s.y0) * s.nx - s.x0
                                let prow = (y - patch.ymin) * nx - patch.xmin
                                for x in xa..<xb {
                                    let val = v[srow + x]
                                    if val != 0 {
                                        colPixel.append(Int32(prow + x)); colValue.append(val)
                                    }
                                }
                            }
                        }
                    }
                }
                c += 1
                colStart[c] = colPixel.count
            }
        }
        // Transpose to pixel-major by counting sort (columns stay ascending within each pixel).
        var pixStart = [Int](repeating: 0, count: npix + 1)
        for p in colPixel { pixStart[Int(p) + 1] += 1 }
        for p in 0..<npix { pixStart[p + 1] += pixStart[p] }
        var fill = pixStart
        var pixCol = [Int32](repeating: 0, count: colPixel.count)
        var pixValue = [Double](repeating: 0, count: colPixel.count)
        for col in 0..<ncol {
            for e in colStart[col]..<colStart[col + 1] {
                let p = Int(colPixel[e])
                pixCol[fill[p]] = Int32(col); pixValue[fill[p]] = colValue[e]
                fill[p] += 1
            }
        }
        self.colStart = colStart; self.colPixel = colPixel; self.colValue = colValue
        self.pixStart = pixStart; self.pixCol = pixCol; self.pixValue = pixValue
    }

    /// A x (pixels).
    func apply(_ x: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: npix)
        for c in 0..<ncol where x[c] != 0 {
            for e in colStart[c]..<colStart[c + 1] { out[Int(colPixel[e])] += colValue[e] * x[c] }
        }
        return out
    }

    /// A^T v (fluxes).
    func applyTranspose(_ v: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: ncol)
        for c in 0..<ncol {
            var s = 0.0
            for e in colStart[c]..<colStart[c + 1] { s += colValue[e] * v[Int(colPixel[e])] }
            out[c] = s
        }
        return out
    }
}
