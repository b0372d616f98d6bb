import Foundation
import XCTest

@testable import LinearAlgebra

/// SameModeConvolution against the direct sum of "same" mode (sample i = sum_j a[j] k[i + (m - 1) / 2 - j]).
final class FFTConvolutionTests: XCTestCase {
    func directSame(_ a: [Double], _ k: [Double]) -> [Double] {
        let n = a.count, m = k.count, off = (m - 1) / 2
        return (0..<n).map { i in
            var s = 0.0
            for j in 0..<n where i + off - j >= 0 && i + off - j < m { s += a[j] * k[i + off - j] }
            return s
        }
    }

    func testMatchesTheDirectSumForOddEvenAndLongKernels() {
        var rng = SplitMix64(seed: 7)
        for (n, m) in [(1, 1), (8, 3), (100, 100), (257, 64), (1000, 1001), (2743, 2743), (50, 7)] {
            let a = (0..<n).map { _ in Double(rng.next() % 10_000) / 100 - 20 }
            let b = (0..<n).map { _ in Double(rng.next() % 10_000) / 50 }
            let k = (0..<m).map { i -> Double in let x = (Double(i) - Double(m / 2)) / max(1, Double(m) / 3); return exp(-x * x / 2) }
            let conv = SameModeConvolution(kernel: k, length: n)
            let (fa, fb) = conv.apply(a, b)
            let (da, db) = (directSame(a, k), directSame(b, k))
            let scale = k.reduce(0) { $0 + abs($1) } * 200
            for i in 0..<n {
                XCTAssertEqual(fa[i], da[i], accuracy: 1e-13 * scale, "n \(n) m \(m) i \(i)")
                XCTAssertEqual(fb[i], db[i], accuracy: 1e-13 * scale, "n \(n) m \(m) i \(i)")
            }
            XCTAssertEqual(conv.apply(a), fa.indices.map { fa[$0] }, accuracy: 1e-13 * scale)
        }
    }

    /// The plain radix-2 transform (one butterfly at a time, twiddles read from one table of size / 2 with a stride):
    /// what RadixTwoFFT did before its per-stage tables and SIMD4 butterflies.
    func plainTransform(_ re: inout [Double], _ im: inout [Double], inverse: Bool) {
        let n = re.count, sign = inverse ? 1.0 : -1.0
        let ct = (0..<max(1, n / 2)).map { cos(2 * Double.pi * Double($0) / Double(n)) }
        let st = (0..<max(1, n / 2)).map { sin(2 * Double.pi * Double($0) / Double(n)) }
        var bits = 0
        while 1 << bits < n { bits += 1 }
        for i in 0..<n {
            var j = 0, v = i
            for _ in 0..<bits { j = (j << 1) | (v & 1); v >>= 1 }
            if j > i { re.swapAt(i, j); im.swapAt(i, j) }
        }
        var len = 2
        while len <= n {
            let half = len / 2, stride = n / len
            for start in Swift.stride(from: 0, to: n, by: len) {
                for k in 0..<half {
                    let wr = ct[k * stride], wi = sign * st[k * stride], p = start + k, q = p + half
                    let tr = re[q] * wr - im[q] * wi, ti = re[q] * wi + im[q] * wr
                    re[q] = re[p] - tr; im[q] = im[p] - ti; re[p] += tr; im[p] += ti
                }
            }
            len *= 2
        }
    }

    func testTransformEqualsThePlainButterfliesToTheLastBit() {
        var rng = SplitMix64(seed: 13)
        for size in [1, 2, 4, 8, 16, 64, 1024, 8192] {
            let fft = RadixTwoFFT(size: size)
            for inverse in [false, true] {
                let re0 = (0..<size).map { _ in Double(rng.next() % 1_000_000) / 997 - 300 }
                let im0 = (0..<size).map { _ in Double(rng.next() % 1_000_000) / 991 - 300 }
                var re = re0, im = im0, pre = re0, pim = im0
                fft.transform(&re, &im, inverse: inverse)
                plainTransform(&pre, &pim, inverse: inverse)
                XCTAssertEqual(re.map(\.bitPattern), pre.map(\.bitPattern), "size \(size) inverse \(inverse)")
                XCTAssertEqual(im.map(\.bitPattern), pim.map(\.bitPattern), "size \(size) inverse \(inverse)")
            }
        }
    }

    /// apply (inputs and the product written in bit-reversed order, butterflies only) against the plain transforms
    /// of the zero-padded inputs, their product with the kernel's transform and the inverse, to the last bit.
    func testApplyEqualsThePlainTransformsToTheLastBit() {
        var rng = SplitMix64(seed: 17)
        for (n, m) in [(1, 1), (3, 2), (8, 3), (100, 100), (257, 64), (2743, 2743), (4100, 4100)] {
            let a = (0..<n).map { _ in Double(rng.next() % 10_000) / 100 - 20 }
            let b = (0..<n).map { _ in Double(rng.next() % 10_000) / 50 }
            let k = (0..<m).map { i -> Double in let x = (Double(i) - Double(m / 2)) / max(1, Double(m) / 3); return exp(-x * x / 2) }
            let (fa, fb) = SameModeConvolution(kernel: k, length: n).apply(a, b)
            let off = (m - 1) / 2
            var size = 1
            while size < n + m - 1 - off { size *= 2 }
            var kr = [Double](repeating: 0, count: size), ki = kr, re = kr, im = kr
            for (j, v) in k.enumerated() { kr[j] = v }
            for j in 0..<n { re[j] = a[j]; im[j] = b[j] }
            plainTransform(&kr, &ki, inverse: false)
            plainTransform(&re, &im, inverse: false)
            for j in 0..<size {
                let r = re[j] * kr[j] - im[j] * ki[j], i = re[j] * ki[j] + im[j] * kr[j]
                re[j] = r; im[j] = i
            }
            plainTransform(&re, &im, inverse: true)
            let scale = 1 / Double(size)
            XCTAssertEqual(fa.map(\.bitPattern), (0..<n).map { (re[$0 + off] * scale).bitPattern }, "n \(n) m \(m)")
            XCTAssertEqual(fb.map(\.bitPattern), (0..<n).map { (im[$0 + off] * scale).bitPattern }, "n \(n) m \(m)")
        }
    }

    func testAnImpulseReturnsTheCentredKernel() {
        let k = [1.0, 2, 3, 4, 5]
        var a = [Double](repeating: 0, count: 9)
        a[4] = 1
        let out = SameModeConvolution(kernel: k, length: 9).apply(a)
        XCTAssertEqual(out, [0, 0, 1, 2, 3, 4, 5, 0, 0], accuracy: 1e-14)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
