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
struct RadixTwoFFT: Sendable {
    let size: Int
    private let cosTable: [Double]
    private let sinTable: [Double]
    private let bitReversed: [Int]

    init(size: Int) {
        precondition(size > 0 && size & (size - 1) == 0, "FFT size \(size) is not a power of two")
        self.size = size
        let half = max(1, size / 2)
        cosTable = (0..<half).map { cos(2 * Double.pi * Double($0) / Double(size)) }
        sinTable = (0..<half).map { sin(2 * Double.pi * Double($0) / Double(size)) }
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
        let sign = inverse ? 1.0 : -1.0
        re.withUnsafeMutableBufferPointer { xr in
            im.withUnsafeMutableBufferPointer { xi in
                cosTable.withUnsafeBufferPointer { ct in
                    sinTable.withUnsafeBufferPointer { st in
                        for i in 0..<n {
                            let j = bitReversed[i]
                            if j > i { xr.swapAt(i, j); xi.swapAt(i, j) }
                        }
                        var len = 2
                        while len <= n {
                            let halfLen = len / 2, stride = n / len
                            var start = 0
                            while start < n {
                                for k in 0..<halfLen {
                                    let wr = ct[k * stride], wi = sign * st[k * stride]
                                    let p = start + k, q = p + halfLen
                                    let tr = xr[q] * wr - xi[q] * wi
                                    let ti = xr[q] * wi + xi[q] * wr
                                    xr[q] = xr[p] - tr; xi[q] = xi[p] - ti
                                    xr[p] += tr; xi[p] += ti
                                }
                                start += len
                            }
                            len *= 2
                        }
                    }
                }
            }
        }
    }
}
