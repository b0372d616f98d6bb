import Foundation

/// Convolution of real sequences of a fixed length by one fixed kernel, "same" mode (the output has the length of
/// the input and sample i is the full convolution's sample i + (m - 1) / 2, m the kernel length: as
/// scipy.signal.fftconvolve(a, kernel, mode='same')), computed with a radix-2 FFT in O(N log N) instead of the
/// O(n m) direct sum. The kernel's transform is computed once; `apply(_:_:)` convolves two sequences with one complex
/// transform pair (the first as the real part, the second as the imaginary part: the kernel is real, so the two
/// convolutions do not mix). Results agree with the direct sum to rounding (~1e-16 of the largest |a| * sum|kernel|).
public struct SameModeConvolution: Sendable {
    public let length: Int
    public let kernelLength: Int
    private let fft: RadixTwoFFT
    private let kernelRe: [Double]
    private let kernelIm: [Double]

    /// A convolver for inputs of `length` samples by `kernel`.
    public init(kernel: [Double], length: Int) {
        precondition(!kernel.isEmpty && length > 0, "convolution needs a kernel and an input length")
        self.length = length
        kernelLength = kernel.count
        // Only samples off ... off + n - 1 of the full convolution (support 0 ... n + m - 2) are kept, so a circular
        // convolution of size N is exact there as soon as N > n + m - 2 - off (wrap-around lands on t + N > kept range).
        let off = (kernel.count - 1) / 2
        var size = 1
        while size < length + kernel.count - 1 - off { size *= 2 }
        fft = RadixTwoFFT(size: size)
        var re = [Double](repeating: 0, count: size), im = re
        for (k, v) in kernel.enumerated() { re[k] = v }
        fft.transform(&re, &im, inverse: false)
        kernelRe = re; kernelIm = im
    }

    /// Same-mode convolutions of `a` and `b` (each `length` samples) by the kernel.
    public func apply(_ a: [Double], _ b: [Double]) -> ([Double], [Double]) {
        precondition(a.count == length && b.count == length, "convolution input of \(a.count), \(b.count) samples, expected \(length)")
        let size = fft.size
        // Both transforms take their input in bit-reversed order: the inputs and the product of the transforms are
        // written there as they are made (the same values as the transform's own reordering, without its pass of
        // swaps, a third of the transform's time in the trace shifts' profile).
        var re = [Double](repeating: 0, count: size), im = re
        var productRe = [Double](repeating: 0, count: size), productIm = productRe
        fft.bitReversed.withUnsafeBufferPointer { order in
            for i in 0..<length { re[order[i]] = a[i]; im[order[i]] = b[i] }
            fft.butterflies(&re, &im, inverse: false)
            for k in 0..<size {
                productRe[order[k]] = re[k] * kernelRe[k] - im[k] * kernelIm[k]
                productIm[order[k]] = re[k] * kernelIm[k] + im[k] * kernelRe[k]
            }
        }
        fft.butterflies(&productRe, &productIm, inverse: true)
        // sample i of the "same" output is sample i + off of the full convolution, i + off < size (see init)
        let off = (kernelLength - 1) / 2, scale = 1 / Double(size)
        var outA = [Double](repeating: 0, count: length), outB = outA
        for i in 0..<length {
            outA[i] = productRe[i + off] * scale; outB[i] = productIm[i + off] * scale
        }
        return (outA, outB)
    }

    /// Same-mode convolution of one sequence by the kernel.
    public func apply(_ a: [Double]) -> [Double] {
        apply(a, [Double](repeating: 0, count: length)).0
    }
}

/// In-place complex FFT of a power-of-two size (iterative Cooley-Tukey, decimation in time), unnormalised in both
/// directions: the inverse of `transform(inverse: false)` is `transform(inverse: true)` divided by `size`.
/// The twiddle factors of each stage are stored one after the other (stage of half length h: cos and sin of
/// 2 pi k / (2 h), k < h, the values of a table of size / 2 read with a stride), so that a stage reads them
/// contiguously, four butterflies at a time in SIMD4 (each lane the same operations as the scalar butterfly:
/// the same values).
struct RadixTwoFFT: Sendable {
    let size: Int
    /// Stage of half length h = 1, 2, 4, ...: entries h - 1 ..< 2 h - 1.
    private let twiddleCos: [Double]
    private let twiddleSinForward: [Double]
    private let twiddleSinInverse: [Double]
    /// bitReversed[i]: i with its log2(size) bits in reverse order (the transform's input order).
    let bitReversed: [Int]

    init(size: Int) {
        precondition(size > 0 && size & (size - 1) == 0, "FFT size \(size) is not a power of two")
        self.size = size
        let half = max(1, size / 2)
        let cosTable = (0..<half).map { cos(2 * Double.pi * Double($0) / Double(size)) }
        let sinTable = (0..<half).map { sin(2 * Double.pi * Double($0) / Double(size)) }
        var c = [Double](), sf = [Double](), si = [Double]()
        var halfLen = 1
        while 2 * halfLen <= size {
            let stride = size / (2 * halfLen)
            for k in 0..<halfLen {
                c.append(cosTable[k * stride]); sf.append(-1.0 * sinTable[k * stride]); si.append(1.0 * sinTable[k * stride])
            }
            halfLen *= 2
        }
        twiddleCos = c; twiddleSinForward = sf; twiddleSinInverse = si
        var bits = 0
        while 1 << bits < size { bits += 1 }
        bitReversed = (0..<size).map { i in
            var r = 0, v = i
            for _ in 0..<bits { r = (r << 1) | (v & 1); v >>= 1 }
            return r
        }
    }

    func transform(_ re: inout [Double], _ im: inout [Double], inverse: Bool) {
        re.withUnsafeMutableBufferPointer { xr in
            im.withUnsafeMutableBufferPointer { xi in
                for i in 0..<size {
                    let j = bitReversed[i]
                    if j > i { xr.swapAt(i, j); xi.swapAt(i, j) }
                }
            }
        }
        butterflies(&re, &im, inverse: inverse)
    }

    /// `transform` of data already in bit-reversed order (element i at bitReversed[i]): the butterflies only.
    func butterflies(_ re: inout [Double], _ im: inout [Double], inverse: Bool) {
        let n = size
        re.withUnsafeMutableBufferPointer { xrb in
            im.withUnsafeMutableBufferPointer { xib in
                twiddleCos.withUnsafeBufferPointer { ctb in
                    (inverse ? twiddleSinInverse : twiddleSinForward).withUnsafeBufferPointer { stb in
                        let xr = xrb.baseAddress!, xi = xib.baseAddress!
                        var halfLen = 1
                        if n >= 8 {
                            firstTwoStages(xr, xi, cos: ctb.baseAddress!, sin: stb.baseAddress!)
                            halfLen = 4
                        }
                        while 2 * halfLen <= n {
                            let ct = ctb.baseAddress! + (halfLen - 1), st = stb.baseAddress! + (halfLen - 1)
                            var start = 0
                            while start < n {
                                var k = 0
                                if halfLen >= 4 {
                                    while k < halfLen {
                                        let p = start &+ k, q = p &+ halfLen
                                        let wr = SIMD4.load(ct + k), wi = SIMD4.load(st + k)
                                        let qr = SIMD4.load(xr + q), qi = SIMD4.load(xi + q)
                                        let pr = SIMD4.load(xr + p), pi = SIMD4.load(xi + p)
                                        let tr = qr * wr - qi * wi
                                        let ti = qr * wi + qi * wr
                                        (pr - tr).store(to: xr + q); (pi - ti).store(to: xi + q)
                                        (pr + tr).store(to: xr + p); (pi + ti).store(to: xi + p)
                                        k &+= 4
                                    }
                                } else {
                                    while k < halfLen {
                                        let wr = ct[k], wi = st[k]
                                        let p = start &+ k, q = p &+ halfLen
                                        let tr = xr[q] * wr - xi[q] * wi
                                        let ti = xr[q] * wi + xi[q] * wr
                                        xr[q] = xr[p] - tr; xi[q] = xi[p] - ti
                                        xr[p] += tr; xi[p] += ti
                                        k &+= 1
                                    }
                                }
                                start &+= 2 * halfLen
                            }
                            halfLen *= 2
                        }
                    }
                }
            }
        }
    }

    /// The stages of half length 1 and 2 (size >= 8), whose butterflies pair values fewer than four apart: eight
    /// values at a time, each butterfly's operands gathered into the lanes of SIMD4 registers (each lane the same
    /// operations as the scalar butterfly, so the same values; the scalar loops were a fifth of the transform's time).
    @inline(__always)
    private func firstTwoStages(_ xr: UnsafeMutablePointer<Double>, _ xi: UnsafeMutablePointer<Double>,
                                cos c: UnsafePointer<Double>, sin s: UnsafePointer<Double>) {
        // twiddles: stage 1 entry 0 for every butterfly; stage 2 entries 1 and 2 (k = 0, 1) in each group of four
        let w1r = SIMD4<Double>(repeating: c[0]), w1i = SIMD4<Double>(repeating: s[0])
        let w2r = SIMD4<Double>(c[1], c[2], c[1], c[2]), w2i = SIMD4<Double>(s[1], s[2], s[1], s[2])
        var start = 0
        while start < size {
            let ar = SIMD4.load(xr + start), br = SIMD4.load(xr + start + 4), ai = SIMD4.load(xi + start), bi = SIMD4.load(xi + start + 4)
            // stage 1: butterflies (0, 1), (2, 3), (4, 5), (6, 7)
            let pr = SIMD4(ar[0], ar[2], br[0], br[2]), qr = SIMD4(ar[1], ar[3], br[1], br[3])
            let pi = SIMD4(ai[0], ai[2], bi[0], bi[2]), qi = SIMD4(ai[1], ai[3], bi[1], bi[3])
            let tr = qr * w1r - qi * w1i, ti = qr * w1i + qi * w1r
            let lowR = pr + tr, highR = pr - tr, lowI = pi + ti, highI = pi - ti   // values 0, 2, 4, 6 and 1, 3, 5, 7
            // stage 2: butterflies (0, 2), (1, 3), (4, 6), (5, 7)
            let p2r = SIMD4(lowR[0], highR[0], lowR[2], highR[2]), q2r = SIMD4(lowR[1], highR[1], lowR[3], highR[3])
            let p2i = SIMD4(lowI[0], highI[0], lowI[2], highI[2]), q2i = SIMD4(lowI[1], highI[1], lowI[3], highI[3])
            let t2r = q2r * w2r - q2i * w2i, t2i = q2r * w2i + q2i * w2r
            let upR = p2r + t2r, downR = p2r - t2r, upI = p2i + t2i, downI = p2i - t2i  // values 0, 1, 4, 5 and 2, 3, 6, 7
            SIMD4(upR[0], upR[1], downR[0], downR[1]).store(to: xr + start)
            SIMD4(upR[2], upR[3], downR[2], downR[3]).store(to: xr + start + 4)
            SIMD4(upI[0], upI[1], downI[0], downI[1]).store(to: xi + start)
            SIMD4(upI[2], upI[3], downI[2], downI[3]).store(to: xi + start + 4)
            start &+= 8
        }
    }

}
