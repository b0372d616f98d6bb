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

    /// out[w] = op(out[w], word w of the padded row x shifted by k) for every data word w, the shifted word's bit c
    /// being the row's bit 64 w + c + k (|k| < 64: it reads the words w - 1 ... w + 1 of the row, padding included);
    /// the shift's direction is chosen once for the row, so that the loop has no test.
    @inline(__always)
    static func combine(_ out: UnsafeMutablePointer<UInt64>, _ x: UnsafePointer<UInt64>, words: Int, shift k: Int,
                        _ op: (UInt64, UInt64) -> UInt64) {
        if k == 0 {
            for w in 0..<words { out[w] = op(out[w], x[w + 1]) }
        } else if k > 0 {
            let a = UInt64(k), b = UInt64(64 - k)
            for w in 0..<words { out[w] = op(out[w], (x[w + 1] &>> a) | (x[w + 2] &<< b)) }
        } else {
            let a = UInt64(-k), b = UInt64(64 + k)
            for w in 0..<words { out[w] = op(out[w], (x[w + 1] &<< a) | (x[w] &>> b)) }
        }
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
        // and which rows hold a set pixel (the others need no shift)
        var rowHasSet = [Bool](repeating: false, count: ny)
        for p in set {
            let r = p / nx, c = p - r * nx, w = c >> 6
            source[r * stride + 1 + w] |= UInt64(1) << UInt64(c & 63)
            rowHasSet[r] = true
        }
        let bands = max(1, min(32, ny / 64))
        let results = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: bands)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let res = results
        nonisolated(unsafe) let src = UnsafePointer(source.baseAddress!)
        let hasSet = rowHasSet
        DispatchQueue.concurrentPerform(iterations: bands) { b in
            res[b] = bandAdditions(source: src, rowHasSet: hasSet,
                                   rows: (ny * b / bands)..<(ny * (b + 1) / bands), reach: reach, elements: elements)
        }
        var out: [Int] = []
        out.reserveCapacity(results.reduce(0) { $0 + $1.count })
        for b in 0..<bands { out += results[b] }
        return out
    }

    /// `rowHasSet`: whether each source row holds a set pixel (rows without one are skipped whole). Each shift of a
    /// row is one loop over all its words, in vector lanes with no test per word: a full-size camera's grown
    /// cosmic-ray mask touches most words of most rows, where visiting the three words around each occupied word (the
    /// first form) made each word up to three times, one at a time, and the erosion stopped word by word.
    private func bandAdditions(source: UnsafePointer<UInt64>, rowHasSet: [Bool], rows: Range<Int>, reach: Int,
                               elements: [[(Int, Int)]]) -> [Int] {
        let d0 = max(0, rows.lowerBound - reach), d1 = min(ny, rows.upperBound + reach)
        let nd = d1 - d0, nr = rows.count, words = self.words
        // the dilation over rows d0 ..< d1 (padded with ones for the erosion) and the additions of the band's rows
        let dil = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: nd * stride)
        let added = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: nr * words)
        let eroded = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: words)
        added.initialize(repeating: 0)
        defer { dil.deallocate(); added.deallocate(); eroded.deallocate() }
        let dp = dil.baseAddress!, e = eroded.baseAddress!
        for se in elements {
            for i in 0..<nd {
                let r = d0 + i, row = dp + i * stride
                (row + 1).update(repeating: 0, count: words)
                for (dr, dc) in se {
                    let sr = r - dr
                    guard sr >= 0, sr < ny, rowHasSet[sr] else { continue }
                    Self.combine(row + 1, source + sr * stride, words: words, shift: -dc) { $0 | $1 }
                }
                row[words] = (row[words] & lastWordMask) | ~lastWordMask
                row[0] = ~0; row[words + 1] = ~0
            }
            for i in 0..<nr {
                let r = rows.lowerBound + i
                let d = UnsafePointer(dp + (r - d0) * stride)
                let m = source + r * stride
                var any: UInt64 = 0
                for w in 0..<words { let v = d[w + 1] & ~m[w + 1]; e[w] = v; any |= v }
                guard any != 0 else { continue }
                for (dr, dc) in se {
                    let er = r + dr
                    guard er >= 0, er < ny else { continue }   // outside the image counts as set
                    Self.combine(e, UnsafePointer(dp + (er - d0) * stride), words: words, shift: dc) { $0 & $1 }
                }
                let a = added.baseAddress! + i * words
                for w in 0..<words { a[w] |= e[w] }
                a[words - 1] &= lastWordMask
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
