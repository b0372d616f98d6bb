import PSF

/// Spots of one sub-bundle, cached while its wavelength patches are extracted in order (consecutive
/// patches overlap by their padding), and those of the fibers the next sub-bundle of the same worker fits too.
/// Used by one task only.
final class SpotCache {
    /// The spots of one fiber at consecutive wavelength indices first, first + 1, ...: nil where not computed
    /// yet, .some(nil) where the spot is off the CCD. Evicting drops a prefix in place (no copies of the spots:
    /// the dictionary-of-dictionaries this replaced spent ~3 % of a frame retaining and releasing them).
    private struct Window {
        var first: Int
        var slots: [PSFSpot??] = []

        func lookup(_ k: Int) -> PSFSpot?? {
            let i = k - first
            return i >= 0 && i < slots.count ? slots[i] : nil
        }

        mutating func store(_ s: PSFSpot?, at k: Int) {
            if slots.isEmpty { first = k }
            if k < first {
                slots.insert(contentsOf: repeatElement(nil, count: first - k), at: 0)
                first = k
            }
            if k - first >= slots.count { slots.append(contentsOf: repeatElement(nil, count: k - first - slots.count + 1)) }
            slots[k - first] = .some(s)
        }

        mutating func drop(below k: Int) {
            let n = min(max(0, k - first), slots.count)
            slots.removeFirst(n)
            first += n
        }
    }
    private let geometry: PatchGeometry
    private var windows: [Int: Window] = [:]   // fiber -> its spots

    init(geometry: PatchGeometry) {
        self.geometry = geometry
    }

    func spot(fiber: Int, waveIndex k: Int) -> PSFSpot? {
        if let s = windows[fiber]?.lookup(k) { return s }
        // specter.psf.PSF.xypix: nothing beyond the fiber's wavelengths at the CCD edges.
        let s = geometry.spot(fiber: fiber, wavelength: geometry.grid.wavelength(k))
        windows[fiber, default: Window(first: k)].store(s, at: k)
        return s
    }

    /// Forgets spots with wavelength index below `k`, except those of the fibers `kept`.
    func evict(below k: Int, except kept: Range<Int> = 0..<0) {
        for f in Array(windows.keys) where !kept.contains(f) { windows[f]!.drop(below: k) }
    }

    /// Forgets the spots of every fiber outside `fibers`.
    func keepOnly(fibers: Range<Int>) {
        for f in Array(windows.keys) where !fibers.contains(f) { windows[f] = nil }
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
        let npix = nx * ny, ncol = patch.nspec * patch.nwave
        self.npix = npix; self.ncol = ncol
        // The spots clipped to the patch, column by column, and the most entries they can have.
        var clipped: [(spot: PSFSpot, ya: Int, yb: Int, xa: Int, xb: Int)?] = []
        clipped.reserveCapacity(ncol)
        var capacity = 0
        for f in patch.fibers {
            for k in patch.waveIndices {
                guard let s = cache.spot(fiber: f, waveIndex: k) else { clipped.append(nil); continue }
                let ya = max(s.y0, patch.ymin), yb = min(s.y0 + s.ny, patch.ymax)
                let xa = max(s.x0, patch.xmin), xb = min(s.x0 + s.nx, patch.xmax)
                if ya < yb && xa < xb {
                    clipped.append((s, ya, yb, xa, xb))
                    capacity += (yb - ya) * (xb - xa)
                } else {
                    clipped.append(nil)
                }
            }
        }
        // By column: the nonzero values of each clipped spot, row by row (written through buffer pointers into
        // arrays sized once; the same entries in the same order as appending them one by one).
        var cStart = [Int](repeating: 0, count: ncol + 1)
        var cPixel = [Int32](repeating: 0, count: capacity)
        var cValue = [Double](repeating: 0, count: capacity)
        var nnz = 0
        cPixel.withUnsafeMutableBufferPointer { cp in
        cValue.withUnsafeMutableBufferPointer { cv in
        cStart.withUnsafeMutableBufferPointer { cs in
            for c in 0..<ncol {
                if let t = clipped[c] {
                    let s = t.spot
                    s.values.withUnsafeBufferPointer { v in
                        for y in t.ya..<t.yb {
                            let srow = (y - s.y0) * s.nx - s.x0
                            let prow = (y - patch.ymin) * nx - patch.xmin
                            for x in t.xa..<t.xb {
                                let val = v[srow + x]
                                if val != 0 {
                                    cp[nnz] = Int32(prow + x); cv[nnz] = val
                                    nnz += 1
                                }
                            }
                        }
                    }
                }
                cs[c + 1] = nnz
            }
        }}}
        cPixel.removeLast(capacity - nnz); cValue.removeLast(capacity - nnz)
        // Transpose to pixel-major by counting sort (columns stay ascending within each pixel).
        var pStart = [Int](repeating: 0, count: npix + 1)
        var pCol = [Int32](repeating: 0, count: nnz)
        var pValue = [Double](repeating: 0, count: nnz)
        cPixel.withUnsafeBufferPointer { cp in
        cValue.withUnsafeBufferPointer { cv in
        cStart.withUnsafeBufferPointer { cs in
        pStart.withUnsafeMutableBufferPointer { ps in
        pCol.withUnsafeMutableBufferPointer { pc in
        pValue.withUnsafeMutableBufferPointer { pv in
            for e in 0..<nnz { ps[Int(cp[e]) + 1] &+= 1 }
            for p in 0..<npix { ps[p + 1] &+= ps[p] }
            withUnsafeTemporaryAllocation(of: Int.self, capacity: npix) { fillBuffer in
                // base addresses in locals: through the closures' captured buffers the compiler reloaded them
                // from memory at every store (it cannot prove the stores do not alias them)
                let fill = fillBuffer.baseAddress!, cols = pc.baseAddress!, vals = pv.baseAddress!
                let pixels = cp.baseAddress!, values = cv.baseAddress!
                for p in 0..<npix { fill[p] = ps[p] }
                for col in 0..<ncol {
                    let c32 = Int32(col)
                    for e in cs[col]..<cs[col + 1] {
                        let p = Int(pixels[e])
                        let slot = fill[p]
                        cols[slot] = c32; vals[slot] = values[e]
                        fill[p] = slot &+ 1
                    }
                }
            }
        }}}}}}
        self.colStart = cStart; self.colPixel = cPixel; self.colValue = cValue
        self.pixStart = pStart; self.pixCol = pCol; self.pixValue = pValue
    }

    /// Half-bandwidth of A^T W A: the largest distance between two columns that share a pixel of nonzero
    /// weight (columns are fiber-major, so about one fiber's wavelengths plus the PSF's reach in wavelength).
    func bandwidth(weights: [Double]) -> Int {
        var kd = 0
        for p in 0..<npix where weights[p] != 0 && pixStart[p + 1] > pixStart[p] {
            kd = max(kd, Int(pixCol[pixStart[p + 1] - 1]) - Int(pixCol[pixStart[p]]))
        }
        return kd
    }

    /// A x (pixels).
    func apply(_ x: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: npix)
        for c in 0..<ncol where x[c] != 0 {
            for e in colStart[c]..<colStart[c + 1] { out[Int(colPixel[e])] += colValue[e] * x[c] }
        }
        return out
    }

    /// A^T u, A^T v and A^T w (fluxes) in one pass over A, each sum over the column's pixels in order.
    func applyTranspose(_ u: [Double], _ v: [Double], _ w: [Double]) -> (u: [Double], v: [Double], w: [Double]) {
        precondition(u.count == npix && v.count == npix && w.count == npix)
        var ou = [Double](repeating: 0, count: ncol), ov = ou, ow = ou
        colStart.withUnsafeBufferPointer { cs in
        colPixel.withUnsafeBufferPointer { cp in
        colValue.withUnsafeBufferPointer { cv in
        u.withUnsafeBufferPointer { pu in
        v.withUnsafeBufferPointer { pv in
        w.withUnsafeBufferPointer { pw in
            for c in 0..<ncol {
                var su = 0.0, sv = 0.0, sw = 0.0
                for e in cs[c]..<cs[c + 1] {
                    let a = cv[e], p = Int(cp[e])
                    su += a * pu[p]; sv += a * pv[p]; sw += a * pw[p]
                }
                ou[c] = su; ov[c] = sv; ow[c] = sw
            }
        }}}}}}
        return (ou, ov, ow)
    }
}
