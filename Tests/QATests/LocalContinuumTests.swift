import LinearAlgebra
import XCTest

@testable import QA

/// LocalContinuum (medians taken in place, the positions' median from the window when no value is left out)
/// against the plain form it replaces: QAStats.median of copied arrays of values and positions.
final class LocalContinuumTests: XCTestCase {
    func plainEstimate(_ values: [Double], window: Int) -> [Double] {
        let n = values.count, w = max(2, min(window, n))
        return (0..<n).map { b -> Double in
            let lo = min(max(0, b - w / 2), n - w), hi = lo + w, mid = lo + w / 2
            let li = (lo..<mid).filter { values[$0].isFinite }, ri = (mid..<hi).filter { values[$0].isFinite }
            let left = li.map { values[$0] }, right = ri.map { values[$0] }
            switch (left.isEmpty, right.isEmpty) {
            case (true, true): return .nan
            case (false, true): return QAStats.median(left)
            case (true, false): return QAStats.median(right)
            case (false, false):
                let yl = QAStats.median(left), yr = QAStats.median(right)
                let xl = QAStats.median(li.map(Double.init)), xr = QAStats.median(ri.map(Double.init))
                return xr > xl ? yl + (yr - yl) * (Double(b) - xl) / (xr - xl) : 0.5 * (yl + yr)
            }
        }
    }

    func testEqualsThePlainMedians() {
        var rng = SplitMix64(seed: 41)
        for (n, window) in [(112, 50), (112, 51), (30, 7), (5, 50), (200, 2)] {
            var v = (0..<n).map { k in 10 + 0.05 * Double(k) + Double(rng.next() % 1000) / 100 }
            check(v, window)
            for k in stride(from: 3, to: n, by: 11) { v[k] = .nan }      // values left out: positions not consecutive
            check(v, window)
            check([Double](repeating: .nan, count: n), window)
        }
    }

    /// The sliding sorted halves against the plain medians where values repeat, where zeros of both signs sit at the
    /// median (the sign comes from the selection, as before) and with infinities left out: the same bits.
    func testSlidingHalvesGiveTheSameBits() {
        var rng = SplitMix64(seed: 7)
        for (n, window) in [(93, 50), (93, 51), (120, 10), (40, 3)] {
            let levels: [Double] = [-0.0, 0.0, 1, 2, -3]
            var v = (0..<n).map { _ in levels[Int(rng.next() % 5)] }
            checkBits(v, window)
            v = (0..<n).map { _ in Double(Int(rng.next() % 7)) - 3 + (rng.next() % 3 == 0 ? -0.0 : 0.0) }
            for k in stride(from: 5, to: n, by: 13) { v[k] = k % 2 == 0 ? .infinity : .nan }
            checkBits(v, window)
            v = (0..<n).map { k in Double(k % 9) * 0.25 - 1 }
            checkBits(v, window)
        }
    }

    func checkBits(_ v: [Double], _ window: Int) {
        let got = LocalContinuum.estimate(v, window: window), expected = plainEstimate(v, window: window)
        for k in 0..<got.count {
            XCTAssertTrue(got[k].bitPattern == expected[k].bitPattern || (got[k].isNaN && expected[k].isNaN),
                          "bin \(k) window \(window): \(got[k]) vs \(expected[k])")
        }
    }

    func check(_ v: [Double], _ window: Int) {
        let got = LocalContinuum.estimate(v, window: window), expected = plainEstimate(v, window: window)
        XCTAssertEqual(got.count, expected.count)
        for k in 0..<got.count {
            XCTAssertTrue(got[k] == expected[k] || (got[k].isNaN && expected[k].isNaN), "bin \(k) window \(window)")
        }
    }
}
