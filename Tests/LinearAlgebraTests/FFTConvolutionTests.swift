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
