import DESICore
import FITS
import Foundation

/// Cosmic-ray rejection of a preprocessed image, following desispec.cosmics.reject_cosmic_rays_ala_sdss (itself a
/// port of SDSS/BOSS idlutils reject_cr_psf.c / reject_cr.pro), numba variant: a pixel is a cosmic ray when
/// (1) it exceeds the mean of its two neighbours by nsig x its own sigma along at least 2 of 4 axes (horizontal,
/// vertical, two diagonals) and (2) along at least one axis it is too sharp for the PSF: (pix - cfudge sigma) x c2fudge x
/// psfGradient[axis] > neighbours + cfudge sigma_neighbours. Neighbours of rejected pixels are then tested again with
/// nsig = 3 and cfudge = 0 until no new pixel is found (at most `niter` times), the mask is dilated by one pixel and gaps
/// are closed with `CosmicMaskRepair`. Every pass reads only the previous pass, so rows are processed in parallel
/// blocks and the result does not depend on the thread count.
public struct CosmicRayRejector: Sendable {
    public var nsig: Double = 6
    public var cfudge: Double = 3
    public var c2fudge: Double = 0.5
    public var niter: Int = 100
    public var dilate: Bool = true
    /// Ratio of the PSF's neighbour to central pixel along the 4 axes (h, v, 2 diagonals) for this band.
    public var psfGradients: [Double]

    public init(psfGradients: [Double], nsig: Double = 6, cfudge: Double = 3, c2fudge: Double = 0.5, niter: Int = 100,
                dilate: Bool = true) {
        precondition(psfGradients.count == 4, "four PSF gradients")
        self.psfGradients = psfGradients; self.nsig = nsig; self.cfudge = cfudge; self.c2fudge = c2fudge
        self.niter = niter; self.dilate = dilate
    }

    /// desispec's PSF gradients per band (b, r, z; r with an ITL chip, CCDTYPE containing "ITL", differs).
    public static func psfGradients(arm: Camera.Arm, itl: Bool = false) -> [Double] {
        switch arm {
        case .b: return [0.758221, 0.771945, 0.570183, 0.592199]
        case .r: return itl ? [0.62, 0.64, 0.44, 0.46] : [0.819245, 0.847529, 0.617514, 0.656629]
        case .z: return [0.829552, 0.862828, 0.633424, 0.664144]
        }
    }

    /// Boolean mask (row-major [ny, nx]) of the pixels rejected as cosmic rays. Pixels with `mask` != 0 or ivar <= 0
    /// are ignored (their value is replaced by the central pixel's when they are a neighbour).
    public func reject(pix: [Double], ivar: [Double], mask: [UInt32], ny: Int, nx: Int) -> [Bool] {
        precondition(pix.count == ny * nx && ivar.count == ny * nx && mask.count == ny * nx)
        var rejected = [Bool](repeating: false, count: ny * nx)
        let list = pix.withUnsafeBufferPointer { p in
            ivar.withUnsafeBufferPointer { iv in
                mask.withUnsafeBufferPointer { m in reject(pix: p, ivar: iv, mask: m, ny: ny, nx: nx) }
            }
        }
        for c in list { rejected[c] = true }
        return rejected
    }

    /// Flat indices (ascending) of the pixels rejected as cosmic rays. Pixels with `mask` != 0 or ivar <= 0 are
    /// ignored, and so are pixels already rejected when their neighbours are tested again. Values are compared in
    /// Double whatever `T` is: the preprocessed image's Float32 pixels and inverse variances give the same pixels as
    /// desispec's float64 ones (checked on full-size simulated frames with hundreds of thousands of hits).
    public func reject<T: BinaryFloatingPoint & SendableMetatype>(pix: UnsafeBufferPointer<T>, ivar: UnsafeBufferPointer<T>,
                                               mask: UnsafeBufferPointer<UInt32>, ny: Int, nx: Int) -> [Int] {
        precondition(pix.count == ny * nx && ivar.count == ny * nx && mask.count == ny * nx)
        guard ny > 2, nx > 2 else { return [] }
        let n = ny * nx
        // state per pixel: bit 0 rejected, bit 1 queued as a candidate
        let state = LargeArrays.allocate(UInt8.self, n)
        state.initialize(repeating: 0)
        defer { state.deallocate() }
        let image = CosmicImage(pix: pix, ivar: ivar, mask: mask, state: UnsafeBufferPointer(state))
        // first pass over every interior pixel with S/N > nsig, in fixed row blocks
        let blocks = min(ny - 2, 256)
        let found = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: blocks)
        found.initialize(repeating: [])
        defer { found.deinitialize(); found.deallocate() }
        nonisolated(unsafe) let fp = found
        let threshold = nsig
        DispatchQueue.concurrentPerform(iterations: blocks) { b in
            let r0 = 1 + (ny - 2) * b / blocks, r1 = 1 + (ny - 2) * (b + 1) / blocks
            var local: [Int] = []
            let sn = UnsafeMutableBufferPointer<Bool>.allocate(capacity: nx)
            // neighbour values of three consecutive rows, row i in slot i % 3
            let nv = UnsafeMutablePointer<Float>.allocate(capacity: 3 * nx)
            defer { sn.deallocate(); nv.deallocate() }
            neighbourValues(row: r0 - 1, nx: nx, image: image, into: nv + ((r0 - 1) % 3) * nx)
            neighbourValues(row: r0, nx: nx, image: image, into: nv + (r0 % 3) * nx)
            for i0 in r0..<r1 {
                let base = i0 * nx
                neighbourValues(row: i0 + 1, nx: nx, image: image, into: nv + ((i0 + 1) % 3) * nx)
                // the Float prefilter (CosmicPrefilter.swift) first, then the exact Double tests on what it lets through
                markFirstPassCandidates(row: i0, nx: nx, image: image, above: nv + ((i0 - 1) % 3) * nx,
                                        here: nv + (i0 % 3) * nx, below: nv + ((i0 + 1) % 3) * nx, candidate: sn)
                // the few candidates, in order: eight flags at a time skipped while all are false
                let flags = UnsafeRawPointer(sn.baseAddress!)
                var i1 = 1
                while i1 < nx - 1 {
                    if i1 + 8 <= nx - 1 && flags.loadUnaligned(fromByteOffset: i1, as: UInt64.self) == 0 { i1 += 8; continue }
                    defer { i1 += 1 }
                    guard sn[i1] else { continue }
                    let c = base + i1
                    guard image.value(c) * Double(image.ivar[c]).squareRoot() > threshold, image.mask[c] == 0 else { continue }
                    if isCosmic(c, nx: nx, image: image, nsig: nsig, cfudge: cfudge) { local.append(c) }
                }
            }
            fp[b] = local
        }
        var list: [Int] = []
        for b in 0..<blocks { list += found[b] }
        for c in list { state[c] = 1 }
        // then, until nothing changes, the neighbours of rejected pixels with nsig = 3 and cfudge = 0, rejected pixels
        // being ignored as neighbours. desispec tests the neighbours of all rejected pixels at each iteration; only
        // those of the pixels rejected in the previous iteration can change outcome (the others see the same inputs),
        // so only they are tested again.
        var newly = list
        if niter > 0 {
            for _ in 0..<niter {
                var candidates: [Int] = []
                for c in newly {
                    let i0 = c / nx, i1 = c % nx
                    guard i0 >= 1, i0 < ny - 1, i1 >= 1, i1 < nx - 1 else { continue }
                    for d0 in -1...1 { for d1 in -1...1 where d0 != 0 || d1 != 0 {
                        let q0 = i0 + d0, q1 = i1 + d1
                        guard q0 >= 1, q0 < ny - 1, q1 >= 1, q1 < nx - 1 else { continue }
                        let q = q0 * nx + q1
                        guard state[q] == 0 else { continue }
                        state[q] = 2; candidates.append(q)
                    } }
                }
                for q in candidates { state[q] = 0 }
                var next: [Int] = []
                for q in candidates where image.weight(q) > 0 && isCosmic(q, nx: nx, image: image, nsig: 3, cfudge: 0) {
                    next.append(q)
                }
                newly = next
                if newly.isEmpty { break }
                for q in newly { state[q] = 1 }
                list += newly
            }
        }
        if dilate {
            // +1 px dilation (desispec.cosmics.dilate_numba: only interior pixels spread), then gap repair
            var grown = list
            for c in list {
                let i0 = c / nx, i1 = c % nx
                guard i0 >= 1, i0 < ny - 1, i1 >= 1, i1 < nx - 1 else { continue }
                for d0 in -1...1 { for d1 in -1...1 where d0 != 0 || d1 != 0 {
                    let q = c + d0 * nx + d1
                    if state[q] == 0 { state[q] = 1; grown.append(q) }
                } }
            }
            for q in CosmicMaskRepair.standard.closingAdditions(set: grown, ny: ny, nx: nx) { state[q] = 1 }
        }
        // the rejected pixels are those with state 1: read them off in order (faster than sorting the lists)
        return Self.setIndices(UnsafeBufferPointer(state))
    }

    /// Ascending indices of the non-zero bytes, found in fixed blocks (eight bytes at a time) concurrently.
    static func setIndices(_ state: UnsafeBufferPointer<UInt8>) -> [Int] {
        let n = state.count
        let blocks = max(1, min(64, n / 65536))
        let found = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: blocks)
        found.initialize(repeating: [])
        defer { found.deinitialize(); found.deallocate() }
        nonisolated(unsafe) let fp = found, bytes = state
        nonisolated(unsafe) let raw = UnsafeRawPointer(state.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: blocks) { b in
            let lo = n * b / blocks, hi = n * (b + 1) / blocks
            var local: [Int] = []
            var i = lo
            while i < hi {
                if i & 7 == 0, i + 8 <= hi, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) == 0 { i += 8; continue }
                if bytes[i] != 0 { local.append(i) }
                i += 1
            }
            fp[b] = local
        }
        var out: [Int] = []
        out.reserveCapacity(found.reduce(0) { $0 + $1.count })
        for b in 0..<blocks { out += found[b] }
        return out
    }

    /// The test of one interior pixel `c` (desispec.cosmics._reject_cosmic_rays_ala_sdss_single_numba) with ivar > 0.
    /// A neighbour with no weight takes the central pixel's value and variance.
    @inline(__always)
    func isCosmic<T: BinaryFloatingPoint>(_ c: Int, nx: Int, image: CosmicImage<T>, nsig: Double, cfudge: Double) -> Bool {
        let civ = image.weight(c)
        guard civ > 0 else { return false }
        let cval = image.value(c)
        let cerr = 1 / civ.squareRoot()
        let cvar = cerr * cerr
        // the PSF test of some axis must pass, and nerr >= 0 makes X > nval necessary for X > nval + cfudge nerr:
        // reject without the neighbours' variances when no axis passes that (most bright, smooth pixels)
        let x = (cval - cfudge * cerr) * c2fudge
        var possible = false
        for a in 0..<4 {
            let off = a == 0 ? 1 : (a == 1 ? nx : (a == 2 ? nx + 1 : nx - 1))
            let v0 = image.weight(c - off) > 0 ? image.value(c - off) : cval
            let v1 = image.weight(c + off) > 0 ? image.value(c + off) : cval
            if x * psfGradients[a] > (v0 + v1) * 0.5 { possible = true; break }
        }
        if !possible { return false }
        var first = 0
        var second = false
        // axes: horizontal (0,1), vertical (1,0), diagonals (1,1) and (1,-1)
        for a in 0..<4 {
            let off = a == 0 ? 1 : (a == 1 ? nx : (a == 2 ? nx + 1 : nx - 1))
            let t0 = image.weight(c - off), t1 = image.weight(c + off)
            let v0 = t0 > 0 ? image.value(c - off) : cval, e0 = t0 > 0 ? 1 / t0 : cvar
            let v1 = t1 > 0 ? image.value(c + off) : cval, e1 = t1 > 0 ? 1 / t1 : cvar
            let nval = (v0 + v1) * 0.5
            let nerr = (e0 + e1).squareRoot() * 0.5
            if cval > nval + nsig * cerr { first += 1 }
            if (cval - cfudge * cerr) * c2fudge * psfGradients[a] > nval + cfudge * nerr { second = true }
            // two of the four axes are needed: stop when they can no longer be reached
            if first + (3 - a) < 2 { return false }
            if first >= 2 && second { return true }
        }
        return first >= 2 && second
    }
}

/// What the cosmic-ray tests read of an image: values, and the weight (inverse variance) of pixels that are neither
/// masked nor already rejected (0 for those, as desispec zeroes their ivar).
struct CosmicImage<T: BinaryFloatingPoint>: @unchecked Sendable {
    let pix: UnsafeBufferPointer<T>
    let ivar: UnsafeBufferPointer<T>
    let mask: UnsafeBufferPointer<UInt32>
    let state: UnsafeBufferPointer<UInt8>

    @inline(__always) func value(_ i: Int) -> Double { Double(pix[i]) }
    @inline(__always) func weight(_ i: Int) -> Double {
        let w = Double(ivar[i])
        return mask[i] == 0 && state[i] & 1 == 0 && w > 0 ? w : 0
    }
}

/// Gap closing of a cosmic-ray mask (desispec.joincosmics.RepairMask(11, 11)): the OR of binary closings
/// (dilation then erosion, pixels outside the image count as set for the erosion, as scipy.ndimage does) with 11-pixel
/// line structuring elements at 0, 20, 45, 70, 110, 135 and 160 degrees.
public struct CosmicMaskRepair: Sendable {
    /// Offsets (drow, dcol) of each structuring element.
    public let elements: [[(Int, Int)]]

    public static let standard = CosmicMaskRepair(size: 11, angles: [0, 20, 45, 70, 110, 135, 160])

    /// Line elements as desispec.joincosmics.LinearSelectionElement(n, n, angle) builds them.
    public init(size n: Int, angles: [Double]) {
        let c = n / 2
        elements = angles.map { angle in
            let b: Double
            switch angle {
            case ..<45: b = tan(angle * (Double.pi / 180))
            case ..<90: b = tan((90 - angle) * (Double.pi / 180))
            case ..<135: b = tan((angle - 90) * (Double.pi / 180))
            default: b = tan((180 - angle) * (Double.pi / 180))
            }
            var offs: [(Int, Int)] = []
            for x in 0..<n {
                let y = Int(Double(c) + b * Double(x - c))   // truncation, as Python's int()
                guard y >= 0, y < n else { continue }
                let dy = y - c, dx = x - c
                switch angle {
                case ..<45: offs.append((dy, dx))
                case ..<90: offs.append((dx, dy))        // transpose
                case ..<135: offs.append((dx, -dy))      // transpose, columns reversed
                default: offs.append((dy, -dx))          // columns reversed
                }
            }
            return offs
        }
    }

    /// Closed mask: for each element S, closing = erode(dilate(m, S), S) with dilate = {p + s} and
    /// erode = {q : q + s in the dilated set or outside the image, for all s}.
    public func repair(_ m: [Bool], ny: Int, nx: Int) -> [Bool] {
        var out = m
        let set = m.indices.filter { m[$0] }
        for q in closingAdditions(set: set, ny: ny, nx: nx) { out[q] = true }
        return out
    }

    /// Pixels that the closings add to the set pixels `set` (flat indices; ascending, without repeats), computed on
    /// bit rows (`BitRowClosing`).
    public func closingAdditions(set: [Int], ny: Int, nx: Int) -> [Int] {
        BitRowClosing(ny: ny, nx: nx).additions(set: set, elements: elements)
    }
}
