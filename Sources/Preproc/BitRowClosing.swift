import Foundation

/// Binary closings of a sparse mask computed on bit rows: one bit per pixel, 64 pixels a word, so that dilating or
/// eroding a row by one offset (drow, dcol) of a structuring element is a shift and an OR (or AND) of whole words.
/// This replaces a per-pixel walk over the set pixels and their dilation (desispec.joincosmics.RepairMask's closings
/// of the cosmic-ray mask: 7 line elements of 11 pixels over a million dilated pixels on a full-size camera).
///
/// Definitions (those of `CosmicMaskRepair`, scipy.ndimage's binary_closing with the border of the erosion set):
///   D = { p + s : p set, s in S } within the image;
///   E = { q : for every s in S, q + s is in D or outside the image };
///   added = E and D, minus the set pixels (every element holds its centre, so E is within D anyway).
/// Each row is stored with one padding word on either side, so that a shift by |dcol| < 64 reads its neighbours'
/// words without bounds tests; the padding holds what lies outside the image for the operation at hand (0 for the
/// dilation's source, 1 for the erosion's).
struct BitRowClosing {
    let ny: Int, nx: Int
    /// Data words per row, and the row stride with the two padding words.
    let words: Int, stride: Int
    /// Bits of the last data word that are inside the image.
    let lastWordMask: UInt64

    init(ny: Int, nx: Int) {
        self.ny = ny; self.nx = nx
        words = (nx + 63) / 64
        stride = words + 2
        let tail = nx - 64 * (words - 1)
        lastWordMask = tail == 64 ? ~0 : (UInt64(1) << UInt64(tail)) - 1
    }

    /// Word `w` of a padded row `x` shifted so that bit c of the result is bit c + k of the row (|k| < 64).
    @inline(__always)
    static func shifted(_ x: UnsafePointer<UInt64>, _ w: Int, _ k: Int) -> UInt64 {
        let here = x[w + 1]
        if k == 0 { return here }
        if k > 0 { return (here >> UInt64(k)) | (x[w + 2] << UInt64(64 - k)) }
        let m = -k
        return (here << UInt64(m)) | (x[w] >> UInt64(64 - m))
    }

    /// Flat indices (ascending) of the pixels that the OR of the closings by `elements` adds to the set pixels
    /// `set` (flat indices, any order, repeats allowed). Rows are processed in fixed bands, each with its own
    /// dilation over the band and a halo of the elements' reach: the result does not depend on the thread count.
    func additions(set: [Int], elements: [[(Int, Int)]]) -> [Int] {
        guard !set.isEmpty, ny > 0, nx > 0, !elements.isEmpty else { return [] }
        let reach = elements.flatMap { $0.map { abs($0.0) } }.max() ?? 0
        precondition(elements.allSatisfy { $0.allSatisfy { abs($0.1) < 64 } }, "element columns within 63 pixels")
        // the set pixels as padded bit rows (padding and bits beyond nx: 0)
        let source = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: ny * stride)
        source.initialize(repeating: 0)
        defer { source.deallocate() }
        // and, per row, which of its words hold a set pixel (a cosmic-ray mask is sparse: most words are empty)
        let occupiedStride = (words + 63) / 64
        let occupied = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(1, ny * occupiedStride))
        occupied.initialize(repeating: 0)
        defer { occupied.deallocate() }
        for p in set {
            let r = p / nx, c = p - r * nx, w = c >> 6
            source[r * stride + 1 + w] |= UInt64(1) << UInt64(c & 63)
            occupied[r * occupiedStride + (w >> 6)] |= UInt64(1) << UInt64(w & 63)
        }
        let bands = max(1, min(32, ny / 64))
        let results = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: bands)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let res = results
        nonisolated(unsafe) let src = UnsafePointer(source.baseAddress!)
        nonisolated(unsafe) let occ = UnsafePointer(occupied.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: bands) { b in
            res[b] = bandAdditions(source: src, occupied: occ, occupiedStride: occupiedStride,
                                   rows: (ny * b / bands)..<(ny * (b + 1) / bands), reach: reach, elements: elements)
        }
        var out: [Int] = []
        out.reserveCapacity(results.reduce(0) { $0 + $1.count })
        for b in 0..<bands { out += results[b] }
        return out
    }

    /// `occupied`: per source row, bit w of word w / 64 set when the row's data word w holds a set pixel.
    private func bandAdditions(source: UnsafePointer<UInt64>, occupied: UnsafePointer<UInt64>, occupiedStride: Int,
                               rows: Range<Int>, reach: Int, elements: [[(Int, Int)]]) -> [Int] {
        let d0 = max(0, rows.lowerBound - reach), d1 = min(ny, rows.upperBound + reach)
        let nd = d1 - d0, nr = rows.count
        // the dilation over rows d0 ..< d1 (padded with ones for the erosion) and the additions of the band's rows
        let dil = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: nd * stride)
        let added = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: nr * words)
        added.initialize(repeating: 0)
        defer { dil.deallocate(); added.deallocate() }
        let dp = dil.baseAddress!
        for se in elements {
            for i in 0..<nd {
                let r = d0 + i, row = dp + i * stride
                for w in 0..<words { row[w + 1] = 0 }
                for (dr, dc) in se {
                    let sr = r - dr
                    guard sr >= 0, sr < ny else { continue }
                    let s = source + sr * stride
                    // a shift by |dc| < 64 moves the bits of word j into words j - 1 ... j + 1 only: the words next
                    // to an occupied one (the others would OR zero)
                    for q in 0..<occupiedStride {
                        var bits = occupied[sr * occupiedStride + q]
                        while bits != 0 {
                            let j = 64 * q + bits.trailingZeroBitCount
                            bits &= bits - 1
                            for w in max(0, j - 1)...min(words - 1, j + 1) { row[w + 1] |= Self.shifted(s, w, -dc) }
                        }
                    }
                }
                row[words] = (row[words] & lastWordMask) | ~lastWordMask
                row[0] = ~0; row[words + 1] = ~0
            }
            for i in 0..<nr {
                let r = rows.lowerBound + i
                let d = UnsafePointer(dp + (r - d0) * stride)
                let m = source + r * stride
                for w in 0..<words {
                    var e = d[w + 1] & ~m[w + 1]
                    for (dr, dc) in se where e != 0 {
                        let er = r + dr
                        guard er >= 0, er < ny else { continue }   // outside the image counts as set
                        e &= Self.shifted(UnsafePointer(dp + (er - d0) * stride), w, dc)
                    }
                    added[i * words + w] |= e
                }
                added[i * words + words - 1] &= lastWordMask
            }
        }
        var out: [Int] = []
        for i in 0..<nr {
            let base = (rows.lowerBound + i) * nx
            for w in 0..<words {
                var bits = added[i * words + w]
                while bits != 0 {
                    out.append(base + 64 * w + bits.trailingZeroBitCount)
                    bits &= bits - 1
                }
            }
        }
        return out
    }
}
