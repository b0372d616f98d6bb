import Foundation
import LinearAlgebra
import XCTest

@testable import PSF

/// The fast paths of the trace shifts against the plain computations they replace (issue 16).
final class TraceShiftSpeedTests: XCTestCase {
    /// scipy median_filter over the annulus window/2 < |d| <= window with 'reflect' edges, one sort per sample.
    func bruteAnnulusMedian(_ a: [Double], window: Int) -> [Double] {
        let n = a.count
        return (0..<n).map { k in
            var vals = [Double]()
            for d in -window...window where Double(abs(d)) > Double(window) / 2 {
                var i = k + d
                if i < 0 { i = -i - 1 }
                if i >= n { i = 2 * n - i - 1 }
                vals.append(a[min(max(i, 0), n - 1)])
            }
            return median(vals)
        }
    }

    func testRunningAnnulusMedianEqualsASortPerSample() {
        var rng = SplitMix64(seed: 3)
        for (n, window) in [(1, 36), (5, 36), (40, 36), (200, 36), (500, 18), (300, 7), (64, 1)] {
            // integers from a small range: many ties, which the sorted window must keep
            let a = (0..<n).map { _ in Double(rng.next() % 13) - 4 }
            XCTAssertEqual(runningAnnulusMedian(a, window: window), bruteAnnulusMedian(a, window: window), "n \(n) window \(window)")
            let b = (0..<n).map { _ in Double(rng.next() % 1_000_000) / 997 }
            XCTAssertEqual(runningAnnulusMedian(b, window: window), bruteAnnulusMedian(b, window: window), "n \(n) window \(window)")
        }
    }

    func testRunningAnnulusMedianWithNaNFallsBackToTheSort() {
        var a = (0..<120).map { Double(($0 * 37) % 11) }
        a[60] = .nan
        let fast = runningAnnulusMedian(a, window: 18), slow = bruteAnnulusMedian(a, window: 18)
        for k in 0..<a.count { XCTAssertTrue(fast[k] == slow[k] || (fast[k].isNaN && slow[k].isNaN), "sample \(k)") }
    }

    func testMedianOverFibersEqualsTheMedianOfEachColumn() {
        var rng = SplitMix64(seed: 5)
        let nf = 7, nw = 600
        let a = (0..<(nf * nw)).map { _ in Double(rng.next() % 1000) }
        let fibers = [0, 2, 3, 6]
        let m = medianOverFibers(a, fibers: fibers, nwave: nw)
        XCTAssertEqual(m, (0..<nw).map { k in median(fibers.map { a[$0 * nw + k] }) })
    }
}
