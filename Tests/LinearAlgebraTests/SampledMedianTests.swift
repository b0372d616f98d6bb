import LinearAlgebra
import XCTest

/// Statistics.sampledMedian (Floyd-Rivest pivots from a sample) against the plain quickselect median it replaces in
/// the frame scores: the same number, bit for bit, on every kind of input, and `values` left as they were.
final class SampledMedianTests: XCTestCase {
    func plain(_ v: [Double]) -> Double { var c = v; return Statistics.medianInPlace(&c) }

    func sampled(_ v: [Double]) -> Double {
        var scratch = [Double](repeating: 0, count: v.count)
        return v.withUnsafeBufferPointer { p in scratch.withUnsafeMutableBufferPointer { Statistics.sampledMedian(p, scratch: $0) } }
    }

    func assertSame(_ v: [Double], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let a = plain(v), b = sampled(v)
        XCTAssertTrue(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN), "\(label) (n \(v.count)): plain \(a), sampled \(b)",
                      file: file, line: line)
    }

    func testRandomValuesOfManySizes() {
        var rng = SystemRandomNumberGenerator()
        for n in [1, 2, 3, 4, 5, 17, 255, 256, 257, 1000, 1001, 2249, 2250, 2251, 4096, 9999] {
            for trial in 0..<20 {
                let v = (0..<n).map { _ in Double.random(in: -5...100, using: &rng) }
                assertSame(v, "uniform \(trial)")
                // heavy tails: a few huge values, as sky lines and cosmics give
                let t = v.map { $0 > 95 ? $0 * 1e6 : $0 }
                assertSame(t, "tails \(trial)")
            }
        }
    }

    func testTiesSortedAndConstantValues() {
        var rng = SystemRandomNumberGenerator()
        for n in [256, 257, 2250, 2251] {
            for trial in 0..<20 {
                // few distinct values: many equal to the median
                assertSame((0..<n).map { _ in Double(Int.random(in: 1...5, using: &rng)) }, "ties \(trial)")
            }
            let increasing = (0..<n).map { Double($0) * 0.37 + 1 }
            assertSame(increasing, "increasing")
            assertSame(increasing.reversed(), "decreasing")
            assertSame([Double](repeating: 3.25, count: n), "constant")
            // all sample values on one side of the median: the bracket misses, the plain form is used
            assertSame((0..<n).map { $0 % 64 == 0 || $0 == n - 1 ? 1e9 : Double($0) }, "sample above")
        }
    }

    func testZerosOfBothSignsAndNaNFallBackToThePlainForm() {
        var rng = SystemRandomNumberGenerator()
        for n in [256, 2250, 2251] {
            for trial in 0..<20 {
                // masked spectra: zeros (+0 and -0) around the middle
                let v = (0..<n).map { _ -> Double in
                    let r = Int.random(in: 0..<4, using: &rng)
                    return r == 0 ? 0.0 : r == 1 ? -0.0 : Double.random(in: -1...1, using: &rng)
                }
                assertSame(v, "zeros \(trial)")
                var w = (0..<n).map { _ in Double.random(in: 0...1, using: &rng) }
                w[Int.random(in: 0..<n, using: &rng)] = .nan
                assertSame(w, "one NaN \(trial)")
            }
        }
        assertSame([Double](repeating: 0, count: 2250), "all zero")
        XCTAssertTrue(sampled([]).isNaN)
    }

    func testValuesAreNotReordered() {
        let v = (0..<3000).map { Double(($0 * 7919) % 3001) }
        var scratch = [Double](repeating: 0, count: v.count)
        _ = v.withUnsafeBufferPointer { p in scratch.withUnsafeMutableBufferPointer { Statistics.sampledMedian(p, scratch: $0) } }
        XCTAssertEqual(v, (0..<3000).map { Double(($0 * 7919) % 3001) })
    }
}
