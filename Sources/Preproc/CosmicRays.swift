import DESICore
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

    public init(psfGradients: [Double], nsig: Double = 6, cfudge: Double = 3, c2fudge: Double = 0.5, niter: Int = 100, dilate: Bool = true) {
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
        let n = ny * nx
        var tivar = [Double](repeating: 0, count: n)
        var rejected = [Bool](repeating: false, count: n)
        guard ny > 2, nx > 2 else { return rejected }
        let threshold = nsig
        // first pass over every interior pixel with S/N > nsig
        let blocks = min(ny - 2, 64)
        var found = [[Int]](repeating: [], count: blocks)
        pix.withUnsafeBufferPointer { pp in
        ivar.withUnsafeBufferPointer { ip in
        mask.withUnsafeBufferPointer { mp in
        tivar.withUnsafeMutableBufferPointer { tp in
        found.withUnsafeMutableBufferPointer { fp in
            nonisolated(unsafe) let p = pp, iv = ip, m = mp, t = tp, f = fp
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                let r0 = (ny * b) / blocks, r1 = (ny * (b + 1)) / blocks
                for i in (r0 * nx)..<(r1 * nx) { t[i] = (m[i] == 0 && iv[i] > 0) ? iv[i] : 0 }
            }
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                let r0 = 1 + (ny - 2) * b / blocks, r1 = 1 + (ny - 2) * (b + 1) / blocks
                var local: [Int] = []
                for i0 in r0..<r1 {
                    for i1 in 1..<(nx - 1) {
                        let c = i0 * nx + i1
                        guard p[c] * t[c].squareRoot() > threshold else { continue }
                        if isCosmic(c, nx: nx, pix: p, ivar: UnsafeBufferPointer(t), nsig: nsig, cfudge: cfudge) { local.append(c) }
                    }
                }
                f[b] = local
            }
        }}}}}
        var list = found.flatMap { $0 }
        for c in list { rejected[c] = true }
        // then, until nothing changes, the neighbours of rejected pixels with nsig = 3 and cfudge = 0, rejected pixels
        // being ignored as neighbours (desispec recomputes the neighbours of all rejected pixels at each iteration)
        var newly = list
        var mark = [Bool](repeating: false, count: n)
        if niter > 0 {
            for _ in 0..<niter {
                for c in newly { tivar[c] = 0 }
                var candidates: [Int] = []
                for c in list {
                    let i0 = c / nx, i1 = c % nx
                    guard i0 >= 1, i0 < ny - 1, i1 >= 1, i1 < nx - 1 else { continue }
                    for d0 in -1...1 { for d1 in -1...1 where d0 != 0 || d1 != 0 {
                        let q = c + d0 * nx + d1
                        let q0 = i0 + d0, q1 = i1 + d1
                        guard !rejected[q], !mark[q], q0 >= 1, q0 < ny - 1, q1 >= 1, q1 < nx - 1 else { continue }
                        mark[q] = true; candidates.append(q)
                    } }
                }
                for q in candidates { mark[q] = false }
                let chunks = max(1, min(64, candidates.count / 1024))
                var results = [[Int]](repeating: [], count: chunks)
                let cands = candidates
                pix.withUnsafeBufferPointer { pp in
                tivar.withUnsafeBufferPointer { tp in
                results.withUnsafeMutableBufferPointer { rp in
                    nonisolated(unsafe) let p = pp, t = tp, r = rp
                    DispatchQueue.concurrentPerform(iterations: chunks) { k in
                        let lo = cands.count * k / chunks, hi = cands.count * (k + 1) / chunks
                        var local: [Int] = []
                        for j in lo..<hi {
                            let q = cands[j]
                            if t[q] > 0, isCosmic(q, nx: nx, pix: p, ivar: t, nsig: 3, cfudge: 0) { local.append(q) }
                        }
                        r[k] = local
                    }
                }}}
                newly = results.flatMap { $0 }
                if newly.isEmpty { break }
                for q in newly { rejected[q] = true }
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
                    if !rejected[q] { rejected[q] = true; grown.append(q) }
                } }
            }
            CosmicMaskRepair.standard.repair(&rejected, set: grown, ny: ny, nx: nx)
        }
        return rejected
    }

    /// The test of one interior pixel `c` (desispec.cosmics._reject_cosmic_rays_ala_sdss_single_numba) with ivar > 0.
    @inline(__always)
    func isCosmic(_ c: Int, nx: Int, pix p: UnsafeBufferPointer<Double>, ivar iv: UnsafeBufferPointer<Double>,
                  nsig: Double, cfudge: Double) -> Bool {
        let civ = iv[c]
        guard civ > 0 else { return false }
        let cval = p[c]
        let cerr = 1 / civ.squareRoot()
        var first = 0
        var second = false
        // axes: horizontal (0,1), vertical (1,0), diagonals (1,1) and (1,-1)
        for a in 0..<4 {
            let off = a == 0 ? 1 : (a == 1 ? nx : (a == 2 ? nx + 1 : nx - 1))
            var nval = 0.0, nerr = 0.0
            for k in [c - off, c + off] {
                let t = iv[k]
                if t > 0 { nval += p[k]; nerr += 1 / t } else { nval += cval; nerr += cerr * cerr }
            }
            nval *= 0.5
            nerr = nerr.squareRoot() * 0.5
            if cval > nval + nsig * cerr { first += 1 }
            if (cval - cfudge * cerr) * c2fudge * psfGradients[a] > nval + cfudge * nerr { second = true }
        }
        return first >= 2 && second
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
    /// erode = {q : q + s in the dilated set or outside the image, for all s}. Work is proportional to the set pixels.
    public func repair(_ m: [Bool], ny: Int, nx: Int) -> [Bool] {
        var out = m
        repair(&out, set: m.indices.filter { m[$0] }, ny: ny, nx: nx)
        return out
    }

    /// In-place closing of `m`, whose set pixels are exactly `set` (any order).
    public func repair(_ m: inout [Bool], set: [Int], ny: Int, nx: Int) {
        guard !set.isEmpty else { return }
        var dil = [Bool](repeating: false, count: ny * nx)
        var add: [Int] = []
        for se in elements {
            var touched: [Int] = []
            for p in set {
                let r = p / nx, c = p % nx
                for (dr, dc) in se {
                    let rr = r + dr, cc = c + dc
                    guard rr >= 0, rr < ny, cc >= 0, cc < nx else { continue }
                    let k = rr * nx + cc
                    if !dil[k] { dil[k] = true; touched.append(k) }
                }
            }
            for q in touched where !m[q] {
                let r = q / nx, c = q % nx
                var keep = true
                for (dr, dc) in se {
                    let rr = r + dr, cc = c + dc
                    if rr < 0 || rr >= ny || cc < 0 || cc >= nx { continue }
                    if !dil[rr * nx + cc] { keep = false; break }
                }
                if keep { add.append(q) }
            }
            for k in touched { dil[k] = false }
        }
        // every closing is computed from the input mask: apply the additions at the end
        for q in add { m[q] = true }
    }
}
