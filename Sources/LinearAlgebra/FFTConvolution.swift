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
        var re = [Double](repeating: 0, count: size), im = re
        for i in 0..<length { re[i] = a[i]; im[i] = b[i] }
        fft.transform(&re, &im, inverse: false)
        for k in 0..<size {
            let r = re[k] * kernelRe[k] - im[k] * kernelIm[k]
            let i = re[k] * kernelIm[k] + im[k] * kernelRe[k]
            re[k] = r; im[k] = i
        }
        fft.transform(&re, &im, inverse: true)
        let off = (kernelLength - 1) / 2, scale = 1 / Double(size)
        var outA = [Double](repeating: 0, count: length), outB = outA
        for i in 0..<length {
            let t = (i + off) % size
            outA[i] = re[t] * scale; outB[i] = im[t] * scale
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
    private let bitReversed: [Int]

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
        let n = size
        re.withUnsafeMutableBufferPointer { xrb in
            im.withUnsafeMutableBufferPointer { xib in
                twiddleCos.withUnsafeBufferPointer { ctb in
                    (inverse ? twiddleSinInverse : twiddleSinForward).withUnsafeBufferPointer { stb in
                        let xr = xrb.baseAddress!, xi = xib.baseAddress!
                        for i in 0..<n {
                            let j = bitReversed[i]
                            if j > i { xrb.swapAt(i, j); xib.swapAt(i, j) }
                        }
                        var halfLen = 1
                        while 2 * halfLen <= n {
                            let ct = ctb.baseAddress! + (halfLen - 1), st = stb.baseAddress! + (halfLen - 1)
                            var start = 0
                            while start < n {
                                var k = 0
                                if halfLen >= 4 {
                                    while k < halfLen {
                                        let p = start &+ k, q = p &+ halfLen
                                        let wr = load4(ct + k), wi = load4(st + k)
                                        let qr = load4(xr + q), qi = load4(xi + q), pr = load4(xr + p), pi = load4(xi + p)
                                        let tr = qr * wr - qi * wi
                                        let ti = qr * wi + qi * wr
                                        store4(pr - tr, xr + q); store4(pi - ti, xi + q)
                                        store4(pr + tr, xr + p); store4(pi + ti, xi + p)
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

    @inline(__always) private func load4(_ p: UnsafePointer<Double>) -> SIMD4<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
    }
    @inline(__always) private func load4(_ p: UnsafeMutablePointer<Double>) -> SIMD4<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
    }
    @inline(__always) private func store4(_ v: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Double>.self)
    }
}
