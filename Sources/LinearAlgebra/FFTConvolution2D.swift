import Foundation

/// 2-D convolution of a real image by one fixed real kernel of odd sizes, "same" mode (as
/// scipy.signal.fftconvolve(image, kernel, mode='same'): output pixel (y, x) is the full convolution's pixel
/// (y + (kny - 1) / 2, x + (knx - 1) / 2), zero beyond the image). Overlap-add of tiles with radix-2 FFTs of one
/// square size N (the power of two, larger than the kernel, for which the tiles' transforms cost least): each tile
/// of (N - kny + 1) x (N - knx + 1) pixels is convolved without wrap-around, two tiles per complex transform (real
/// and imaginary parts: the kernel is real, so they do not mix). Tiles are added in a fixed order, so the result
/// does not depend on the thread count. Agrees with the direct sum to rounding.
public struct SameModeConvolution2D: Sendable {
    public let kny: Int, knx: Int
    let size: Int
    private let fft: RadixTwoFFT
    private let kernelRe: [Double], kernelIm: [Double]

    /// A convolver by `kernel` ([kny * knx], row-major) for images up to `imageNy` x `imageNx`.
    public init(kernel: [Double], kny: Int, knx: Int, imageNy: Int, imageNx: Int) {
        precondition(kny % 2 == 1 && knx % 2 == 1 && kernel.count == kny * knx, "2-D convolution needs an odd-sized kernel")
        self.kny = kny; self.knx = knx
        size = Self.bestSize(kny: kny, knx: knx, imageNy: imageNy, imageNx: imageNx)
        fft = RadixTwoFFT(size: size)
        var re = [Double](repeating: 0, count: size * size), im = re
        for y in 0..<kny { for x in 0..<knx { re[y * size + x] = kernel[y * knx + x] } }
        Self.transform2D(fft, &re, &im, inverse: false)
        kernelRe = re; kernelIm = im
    }

    /// The FFT size of least cost: (number of tile pairs x 2 + 1 for the kernel) transforms of N^2 log N each, over
    /// the powers of two N > max(kny, knx) up to the one that holds the whole image in one tile.
    static func bestSize(kny: Int, knx: Int, imageNy: Int, imageNx: Int) -> Int {
        var n = 8
        while n <= max(kny, knx) { n *= 2 }
        var best = n, bestCost = Double.infinity
        while true {
            let tiles = ((imageNy + n - kny) / (n - kny + 1)) * ((imageNx + n - knx) / (n - knx + 1))
            let logn = Double(n.trailingZeroBitCount)
            let cost = Double(2 * ((tiles + 1) / 2) + 1) * Double(n) * Double(n) * logn
            if cost < bestCost { best = n; bestCost = cost }
            if tiles <= 1 { break }
            n *= 2
        }
        return best
    }

    /// Rows then columns, each 1-D transform on its own slots (parallel, independent of the thread count).
    static func transform2D(_ fft: RadixTwoFFT, _ re: inout [Double], _ im: inout [Double], inverse: Bool) {
        let n = fft.size
        re.withUnsafeMutableBufferPointer { rb in
            im.withUnsafeMutableBufferPointer { ib in
                let r = SharedBuffer(rb), i = SharedBuffer(ib)
                for pass in 0..<2 {
                    parallelFor(n) { line in
                        var tr = [Double](repeating: 0, count: n), ti = tr
                        // pass 0: row `line` (stride 1); pass 1: column `line` (stride n)
                        let start = pass == 0 ? line * n : line, step = pass == 0 ? 1 : n
                        for k in 0..<n { tr[k] = r[start + k * step]; ti[k] = i[start + k * step] }
                        fft.transform(&tr, &ti, inverse: inverse)
                        for k in 0..<n { r[start + k * step] = tr[k]; i[start + k * step] = ti[k] }
                    }
                }
            }
        }
    }

    /// The same-mode convolution of `image` ([ny * nx], row-major).
    public func apply(_ image: [Double], ny: Int, nx: Int) -> [Double] {
        precondition(image.count == ny * nx, "image of \(image.count) pixels, expected \(ny) x \(nx)")
        let n = size
        let tileY = n - kny + 1, tileX = n - knx + 1
        var tiles: [(y: Int, x: Int)] = []
        for ty in stride(from: 0, to: ny, by: tileY) { for tx in stride(from: 0, to: nx, by: tileX) { tiles.append((ty, tx)) } }
        let offY = (kny - 1) / 2, offX = (knx - 1) / 2
        var out = [Double](repeating: 0, count: ny * nx)
        for p in stride(from: 0, to: tiles.count, by: 2) {
            let pair = Array(tiles[p..<min(p + 2, tiles.count)])
            var re = [Double](repeating: 0, count: n * n), im = re
            for (k, t) in pair.enumerated() {
                for y in t.y..<min(ny, t.y + tileY) {
                    for x in t.x..<min(nx, t.x + tileX) {
                        let v = image[y * nx + x]
                        if k == 0 { re[(y - t.y) * n + x - t.x] = v } else { im[(y - t.y) * n + x - t.x] = v }
                    }
                }
            }
            Self.transform2D(fft, &re, &im, inverse: false)
            for k in 0..<(n * n) {
                let a = re[k] * kernelRe[k] - im[k] * kernelIm[k]
                let b = re[k] * kernelIm[k] + im[k] * kernelRe[k]
                re[k] = a; im[k] = b
            }
            Self.transform2D(fft, &re, &im, inverse: true)
            let scale = 1 / Double(n * n)
            // full-convolution pixel (a, b) of a tile at (t.y, t.x) is output pixel (t.y + a - offY, t.x + b - offX)
            let rr = re, ii = im
            out.withUnsafeMutableBufferPointer { ob in
                let o = SharedBuffer(ob)
                for (k, t) in pair.enumerated() {
                    let src = k == 0 ? rr : ii
                    let yLo = max(0, t.y - offY), yHi = min(ny, t.y + tileY + kny - 1 - offY)
                    let xLo = max(0, t.x - offX), xHi = min(nx, t.x + tileX + knx - 1 - offX)
                    guard yLo < yHi, xLo < xHi else { continue }
                    parallelFor(yHi - yLo) { j in
                        let y = yLo + j, a = y - t.y + offY
                        for x in xLo..<xHi { o[y * nx + x] += src[a * n + x - t.x + offX] * scale }
                    }
                }
            }
        }
        return out
    }
}
