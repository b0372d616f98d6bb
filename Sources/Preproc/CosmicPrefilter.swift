import LinearAlgebra

/// A Float prefilter for the first pass of the cosmic-ray search: on a bright exposure most pixels pass the
/// S/N cut (13.7 of 17 million on the benchmark's full-size frame), and testing each of them with the exact Double
/// code was most of the search's time. Almost all of them then fail the PSF test's necessary condition (see
/// `CosmicRayRejector.isCosmic`): along every axis, (pix - cfudge sigma) c2fudge psfGradient <= the neighbours' mean.
/// Both conditions are evaluated here in Float over a row, with a relative margin that keeps every
/// pixel the exact test could accept; the exact Double test then runs on the few that remain, so the rejected
/// pixels are exactly those of the plain search.
extension CosmicRayRejector {
    /// The value a pixel of row `row` has as a neighbour in the first pass: its own where it has weight (mask 0 and
    /// ivar > 0, nothing is rejected yet), NaN where the central pixel's value stands in for it. Computed once per
    /// row (each pixel is a neighbour of eight others), with every load made before the test so the loop vectorises.
    @inline(__always)
    func neighbourValues<T: BinaryFloatingPoint>(row: Int, nx: Int, image: CosmicImage<T>, into out: UnsafeMutablePointer<Float>) {
        let base = row * nx
        let pix = image.pix.baseAddress! + base, ivar = image.ivar.baseAddress! + base, mask = image.mask.baseAddress! + base
        var j = 0
        if T.self == Float.self {
            // four at a time: the same selects lane by lane
            let p = UnsafeRawPointer(pix).assumingMemoryBound(to: Float.self)
            let w = UnsafeRawPointer(ivar).assumingMemoryBound(to: Float.self)
            let nan = SIMD4<Float>(repeating: .nan)
            while j + 4 <= nx {
                let usable = (SIMD4.load(mask + j) .== 0) .& (SIMD4.load(w + j) .> 0)
                nan.replacing(with: SIMD4.load(p + j), where: usable).store(to: out + j)
                j += 4
            }
        }
        while j < nx {
            let m = mask[j], w = ivar[j], v = Float(pix[j])
            out[j] = m == 0 && w > 0 ? v : .nan
            j += 1
        }
    }

    /// Sets `candidate[i1]` for the interior columns 1 ..< nx - 1 of row `i0`: false only for pixels that cannot pass
    /// the first pass. `above`, `here`, `below`: `neighbourValues` of rows i0 - 1, i0 and i0 + 1. Valid before any
    /// pixel is rejected (a neighbour's weight then depends only on its mask and ivar).
    @inline(__always)
    func markFirstPassCandidates<T: BinaryFloatingPoint>(row i0: Int, nx: Int, image: CosmicImage<T>,
                                                          above: UnsafePointer<Float>, here: UnsafePointer<Float>,
                                                          below: UnsafePointer<Float>,
                                                          candidate: UnsafeMutableBufferPointer<Bool>) {
        let pix = image.pix, ivar = image.ivar
        // S/N^2 > nsig^2 with 0.1% margin; Float rounding is ~1e-7, the PSF test's margin 1e-5 of the terms' size
        let snCut = Float(nsig * nsig * 0.999), margin: Float = 1e-5
        let cf = Float(cfudge), c2 = Float(c2fudge)
        let g0 = Float(psfGradients[0]), g1 = Float(psfGradients[1]), g2 = Float(psfGradients[2]), g3 = Float(psfGradients[3])
        let base = i0 * nx
        // a neighbour without weight (NaN) takes the central value, as in isCosmic
        @inline(__always) func neighbour(_ v: Float, _ p: Float) -> Float { v.isNaN ? p : v }
        @inline(__always) func axisCanPass(_ xg: Float, _ v0: Float, _ v1: Float, _ size: Float) -> UInt8 {
            xg > (v0 + v1) * 0.5 - margin * (size + abs(v0) + abs(v1)) ? 1 : 0
        }
        var first = 1
        if T.self == Float.self {
            // eight pixels at a time (the same Float operations lane by lane as the loop below)
            let pv = UnsafeRawPointer(pix.baseAddress! + base), wv = UnsafeRawPointer(ivar.baseAddress! + base)
            let ra = UnsafeRawPointer(above), rh = UnsafeRawPointer(here), rb = UnsafeRawPointer(below)
            let params = PrefilterLanes(snCut: snCut, margin: margin, cf: cf, c2: c2, g: (g0, g1, g2, g3))
            let marks = UnsafeMutableRawPointer(candidate.baseAddress!)
            while first + 8 <= nx - 1 {
                let o = first &* 4
                let m = params.candidates(p: pv.loadUnaligned(fromByteOffset: o, as: PrefilterLanes.Lanes.self),
                                          w: wv.loadUnaligned(fromByteOffset: o, as: PrefilterLanes.Lanes.self),
                                          above: ra + o, here: rh + o, below: rb + o)
                // a Bool is one byte, 1 or 0: the eight marks in one store
                let ones = SIMD8<Int32>().replacing(with: 1, where: m)
                marks.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: ones), toByteOffset: first, as: SIMD8<UInt8>.self)
                first += 8
            }
        }
        for i1 in first..<(nx - 1) {
            let c = base + i1
            let p = Float(pix[c]), w = Float(ivar[c])
            let l = here[i1 - 1], r = here[i1 + 1], u = above[i1], d = below[i1]
            let ul = above[i1 - 1], dr = below[i1 + 1], ur = above[i1 + 1], dl = below[i1 - 1]
            let bright: UInt8 = (p > 0 ? p * p * w : 0) > snCut ? 1 : 0
            let cerr = 1 / w.squareRoot()
            let x = (p - cf * cerr) * c2
            let size = abs(p) + cf * cerr
            let h = axisCanPass(x * g0, neighbour(l, p), neighbour(r, p), size)
            let v = axisCanPass(x * g1, neighbour(u, p), neighbour(d, p), size)
            let d1 = axisCanPass(x * g2, neighbour(ul, p), neighbour(dr, p), size)
            let d2 = axisCanPass(x * g3, neighbour(ur, p), neighbour(dl, p), size)
            candidate[i1] = bright & (h | v | d1 | d2) != 0
        }
    }
}

/// `markFirstPassCandidates` on eight neighbouring pixels (an AVX register): the same Float operations in the eight
/// lanes, the choices (a neighbour without weight takes the central value) made as blends and the tests' results
/// combined as lane masks. (A mask of 32-bit lanes reinterpreted as integers with unsafeBitCast compiles to a
/// lane-by-lane extraction, slower than the arithmetic: the masks stay masks.)
struct PrefilterLanes {
    typealias Lanes = SIMD8<Float>
    typealias Mask = SIMDMask<SIMD8<Int32>>
    let snCut: Float, margin: Float, cf: Float, c2: Float
    let g: (Float, Float, Float, Float)

    /// |v| (the sign bit cleared).
    @inline(__always)
    static func abs(_ v: Lanes) -> Lanes {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: Lanes.self)
    }

    /// v, or p where v is NaN.
    @inline(__always)
    static func neighbour(_ v: Lanes, _ p: Lanes) -> Lanes { v.replacing(with: p, where: v .!= v) }

    /// The lanes that can pass the first pass; `above`, `here`, `below` point at the neighbour values of the first
    /// lane's column in the three rows.
    @inline(__always)
    func candidates(p: Lanes, w: Lanes, above: UnsafeRawPointer, here: UnsafeRawPointer, below: UnsafeRawPointer) -> Mask {
        @inline(__always) func load(_ r: UnsafeRawPointer, _ dx: Int) -> Lanes {
            r.loadUnaligned(fromByteOffset: dx * 4, as: Lanes.self)
        }
        let bright = (p .> 0) .& (p * p * w .> Lanes(repeating: snCut))
        let cerr = 1 / w.vectorSquareRoot()
        let x = (p - cf * cerr) * c2
        let size = Self.abs(p) + cf * cerr
        @inline(__always) func axis(_ gain: Float, _ a: Lanes, _ b: Lanes) -> Mask {
            let v0 = Self.neighbour(a, p), v1 = Self.neighbour(b, p)
            return x * gain .> (v0 + v1) * 0.5 - margin * (size + Self.abs(v0) + Self.abs(v1))
        }
        let h = axis(g.0, load(here, -1), load(here, 1))
        let v = axis(g.1, load(above, 0), load(below, 0))
        let d1 = axis(g.2, load(above, -1), load(below, 1))
        let d2 = axis(g.3, load(above, 1), load(below, -1))
        return bright .& (h .| v .| d1 .| d2)
    }
}
