import LinearAlgebra
import XCTest

/// The one linear interpolation against numpy.interp, and the flux-conserving resampling built on it.
final class LinearInterpolationTests: XCTestCase {
    func testMatchesNumpyInterpInsideAndAtTheEdges() {
        let x = [1.0, 2, 4], y = [10.0, 20, 0]
        // np.interp([0, 1, 1.5, 3, 4, 5], x, y) = [10, 10, 15, 10, 0, 0]
        XCTAssertEqual(Interpolation.linear(x: x, y: y, at: [0, 1, 1.5, 3, 4, 5]), [10, 10, 15, 10, 0, 0])
        // left / right replace the end values only strictly outside [x.first, x.last]
        XCTAssertEqual(Interpolation.linear(x: x, y: y, at: [0, 1, 4, 5], left: -1, right: -2), [-1, 10, 0, -2])
        XCTAssertEqual(Interpolation.linear(x: x, y: y, at: [0.5, 4.5], left: .nan, right: 0)[1], 0)
        XCTAssertTrue(Interpolation.linear(x: x, y: y, at: 0.5, left: .nan).isNaN)
    }

    func testNodesAreReturnedExactly() {
        // values whose differences do not round-trip: y[i] + (y[i+1] - y[i]) * 1 need not equal y[i+1]
        let x = [0.1, 0.7, 1.3, 2.9], y = [0.1, 0.3, 0.7, 1e-17]
        XCTAssertEqual(Interpolation.linear(x: x, y: y, at: x), y)
    }

    func testRepeatedNodesTakeTheLaterSegment() {
        // np.interp(1, [0, 1, 1, 2], [0, 5, 7, 9]) = 7 (the last of equal nodes starts the next segment)
        let x = [0.0, 1, 1, 2], y = [0.0, 5, 7, 9]
        XCTAssertEqual(Interpolation.linear(x: x, y: y, at: [0.5, 1, 1.5]), [2.5, 7, 8])
        // a repeated last node: the last value
        XCTAssertEqual(Interpolation.linear(x: [0, 1, 1], y: [0, 2, 3], at: 1), 3)
    }

    func testDegenerateInputs() {
        XCTAssertEqual(Interpolation.linear(x: [2], y: [5], at: [1, 2, 3]), [5, 5, 5])
        XCTAssertEqual(Interpolation.linear(x: [2], y: [5], at: [1, 3], left: 0, right: 1), [0, 1])
        XCTAssertEqual(Interpolation.linear(x: [], y: [], at: [1, 3]), [0, 0])
        XCTAssertTrue(Interpolation.linear(x: [0, 1], y: [0, 1], at: .nan).isNaN)
    }

    func testScalarAndArrayFormsAgree() {
        let x = stride(from: 0.0, through: 10, by: 0.37).map { $0 }
        let y = x.map { sin($0) }
        let t = stride(from: -1.0, through: 11, by: 0.113).map { $0 }
        let array = Interpolation.linear(x: x, y: y, at: t, left: 0, right: 0)
        for (k, v) in t.enumerated() { XCTAssertEqual(Interpolation.linear(x: x, y: y, at: v, left: 0, right: 0), array[k]) }
    }

    func testResampleFluxIsTheMeanOverEachBin() {
        // inside the input range the output is the bin integral of the interpolated input over the bin width
        let x = stride(from: 5000.0, through: 5100, by: 0.3).map { $0 }
        let y = x.map { 1 + 50 * exp(-0.5 * pow(($0 - 5043.3) / 0.7, 2)) }
        let xout = stride(from: 5010.0, through: 5090, by: 0.8).map { $0 }
        let r = Interpolation.resampleFlux(xout: xout, x: x, flux: y)
        var edges = [1.5 * xout[0] - 0.5 * xout[1]]
        for j in 1..<xout.count { edges.append(0.5 * (xout[j - 1] + xout[j])) }
        edges.append(1.5 * xout[xout.count - 1] - 0.5 * xout[xout.count - 2])
        for j in 0..<xout.count {
            // exact integral of the interpolant over the bin: trapezoids between the input nodes inside it and its edges
            let a = edges[j], b = edges[j + 1]
            let t = [a] + x.filter { $0 > a && $0 < b } + [b]
            let integral = Integration.trapz(Interpolation.linear(x: x, y: y, at: t), t)
            XCTAssertEqual(r[j], integral / (b - a), accuracy: 1e-11)
        }
    }

    func testResampleFluxFallsToZeroOverOneInputStepOutside() {
        // input 1 on [10, 20] step 1: beyond 20 the function falls linearly to 0 at 21 (desispec's zero padding)
        let x = stride(from: 10.0, through: 20, by: 1).map { $0 }
        let y = [Double](repeating: 1, count: x.count)
        let r = Interpolation.resampleFlux(xout: [19.5, 20.5, 21.5], x: x, flux: y)
        XCTAssertEqual(r[0], 1, accuracy: 1e-15)
        XCTAssertEqual(r[1], 0.5, accuracy: 1e-15)   // bin [20, 21]: the mean of the fall from 1 to 0
        XCTAssertEqual(r[2], 0, accuracy: 1e-15)
        // extrapolating keeps the edge value instead
        XCTAssertEqual(Interpolation.resampleFlux(xout: [19.5, 20.5, 21.5], x: x, flux: y, extrapolate: true), [1, 1, 1])
    }

    func testWeightedResamplingKeepsFluxAndInverseVarianceScale() {
        // constant flux, ivar 4 per unit-wide pixel, resampled to bins twice as wide: flux 3, ivar 8
        let x = stride(from: 0.0, through: 100, by: 1).map { $0 }
        let xout = stride(from: 10.0, through: 90, by: 2).map { $0 }
        let r = Interpolation.resampleFlux(xout: xout, x: x, flux: [Double](repeating: 3, count: x.count),
                                           ivar: [Double](repeating: 4, count: x.count))
        for j in 0..<xout.count { XCTAssertEqual(r.flux[j], 3, accuracy: 1e-12); XCTAssertEqual(r.ivar[j], 8, accuracy: 1e-12) }
        XCTAssertEqual(Interpolation.gradient([0, 1, 3, 7]), [1, 1.5, 3, 4])
    }

    func testTrapezoidAndMedianFilter() {
        XCTAssertEqual(Integration.trapz([0, 1, 4], [0, 1, 2]), 0.5 + 2.5)
        // zero padding: the ends see zeros; size 3 takes the middle of (0, 5, 1), (5, 1, 9), (1, 9, 0)
        XCTAssertEqual(Smoothing.medianFilter([5, 1, 9], size: 3, boundary: .constant(0)), [1, 5, 1])
        // reflect: (5, 5, 1), (5, 1, 9), (1, 9, 9)
        XCTAssertEqual(Smoothing.medianFilter([5, 1, 9], size: 3, boundary: .reflect), [5, 5, 9])
    }

    /// Both boundary modes against the sorted windows written out (even and odd sizes, sizes beyond the data, ties).
    func testMedianFilterMatchesSortedWindows() {
        var state: UInt64 = 12345
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 60)   // 16 levels: many ties
        }
        for n in [1, 2, 7, 60] {
            let x = (0..<n).map { _ in next() - 5 }
            for size in [2, 3, 7, 20, 150] {
                for boundary in [Smoothing.Boundary.reflect, .constant(0), .constant(2.5), .nearest] {
                    let filtered = Smoothing.medianFilter(x, size: size, boundary: boundary)
                    for i in 0..<n {
                        let window = (0..<size).map { k -> Double in
                            let j = i - size / 2 + k
                            if j >= 0 && j < n { return x[j] }
                            switch boundary {
                            case .constant(let c): return c
                            case .nearest: return x[min(max(j, 0), n - 1)]
                            case .reflect:
                                let m = ((j % (2 * n)) + 2 * n) % (2 * n)
                                return m < n ? x[m] : x[2 * n - 1 - m]
                            }
                        }
                        XCTAssertEqual(filtered[i], window.sorted()[size / 2], "n \(n) size \(size) index \(i) \(boundary)")
                    }
                }
            }
        }
    }

    /// numpy.interp by a binary search per point: the plain form the sorted walk of `linear(x:y:at:)` replaces.
    func perPoint(_ x: [Double], _ y: [Double], _ t: [Double], left: Double?, right: Double?) -> [Double] {
        x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { yb in
            t.map { Interpolation.linear(xb, yb, at: $0, left: left, right: right) }
        } }
    }

    func testSortedPointsWalkGivesTheBinarySearchValues() {
        var rng = SplitMix64(seed: 13)
        var x = [Double](), v = 100.0
        for k in 0..<300 {
            v += k % 37 == 5 ? 0 : 0.05 + Double(rng.next() % 1000) / 1000    // a few repeated nodes
            x.append(v)
        }
        let y = (0..<x.count).map { sin(x[$0] / 7) * 50 + Double($0 % 3) }
        // points before, on (every x exactly, the last x included, repeated) and after the nodes, non-decreasing
        let t = ((0..<2000).map { 95 + Double($0) * (x.last! - 90) / 2000 } + x + x).sorted()
        let cases: [(Double?, Double?)] = [(0, 0), (-3, 7), (nil, nil)]
        for (left, right) in cases {
            XCTAssertEqual(Interpolation.linear(x: x, y: y, at: t, left: left, right: right), perPoint(x, y, t, left: left, right: right))
            var out = [Double](repeating: -1, count: t.count)
            x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { yb in t.withUnsafeBufferPointer { tb in
                out.withUnsafeMutableBufferPointer {
                    Interpolation.linearAtIncreasing(x: xb, y: yb, at: tb, left: left, right: right, into: $0)
                }
            } } }
            XCTAssertEqual(out, perPoint(x, y, t, left: left, right: right))
        }
        // unsorted points (and a NaN) take the binary search: the same values as before
        let shuffled = t.reversed() + [Double.nan, 150]
        let got = Interpolation.linear(x: x, y: y, at: Array(shuffled), left: 0, right: 0)
        let expected = perPoint(x, y, Array(shuffled), left: 0, right: 0)
        XCTAssertEqual(Array(got.dropLast(2)), Array(expected.dropLast(2)))
        XCTAssertTrue(got[got.count - 2].isNaN); XCTAssertEqual(got.last, expected.last)
        XCTAssertEqual(Interpolation.linear(x: [5], y: [2], at: [4, 5, 6], left: -3, right: 7), [-3, 2, 7])
    }

    /// SortedInterpolation.values (four increasing points inside the nodes in vector lanes, the others one at a
    /// time) gives `value(at:)`'s values bit for bit: increasing points with repeats and every node, the same
    /// reversed, a NaN among them, points outside the nodes, repeated nodes (a segment of no length), a count that is
    /// not a multiple of 4.
    func testSortedInterpolationBatchEqualsPointByPoint() {
        var rng = SplitMix64(seed: 17)
        var x = [Double](), v = 50.0
        for k in 0..<200 { v += k % 23 == 4 ? 0 : 0.1 + Double(rng.next() % 1000) / 500; x.append(v) }
        let y = (0..<x.count).map { cos(x[$0] / 5) * 30 + Double($0 % 4) }
        let inside = ((0..<1001).map { 45 + Double($0) * (x.last! - 40) / 1000 } + x).sorted()
        var withNaN = inside
        withNaN.insert(.nan, at: 333)
        for t in [inside, Array(inside.reversed()), withNaN, Array(inside.prefix(7))] {
            for (left, right) in [(0.0, 0.0), (-2.0, 9.0)] as [(Double?, Double?)] + [(nil, nil)] {
                x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { yb in
                    var single = SortedInterpolation(x: xb, y: yb, left: left, right: right)
                    let expected = t.map { single.value(at: $0) }
                    var batch = SortedInterpolation(x: xb, y: yb, left: left, right: right)
                    var got = [Double](repeating: -1, count: t.count)
                    t.withUnsafeBufferPointer { tb in
                        got.withUnsafeMutableBufferPointer { batch.values(at: tb.baseAddress!, count: t.count, into: $0.baseAddress!) }
                    }
                    XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "\(t.count) points")
                } }
            }
        }
    }

    /// EvenGridInterpolation finds the binary search's segment from the grid step: the same values as `linear` (no
    /// left / right values) on a linspace grid, on an uneven grid with repeated nodes, at every node, outside, at NaN.
    func testEvenGridGivesTheBinarySearchValues() {
        var rng = SplitMix64(seed: 21)
        let linspace = (0..<8256).map { 5500.0 + (7800.0 - 5500.0) * Double($0) / 8255 }
        var uneven = [Double](), v = 10.0
        for k in 0..<500 { v += k % 41 == 7 ? 0 : 0.2 + Double(rng.next() % 1000) / 200; uneven.append(v) }
        for x in [linspace, uneven] {
            let y = (0..<x.count).map { sin(x[$0] / 3) * 40 + Double($0 % 5) }
            let span = x.last! - x.first!
            let t = (0..<20_000).map { _ in x.first! - 0.05 * span + 1.1 * span * Double(rng.next() >> 11) * 0x1.0p-53 }
                + x + x.map(\.nextUp) + x.map(\.nextDown) + [.nan, -.infinity, .infinity]
            let expected = perPoint(x, y, t, left: nil, right: nil)
            x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { yb in
                let grid = EvenGridInterpolation(x: xb)
                let got = t.map { grid.value(yb.baseAddress!, segment: grid.segment($0), at: $0) }
                XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern))
            } }
        }
    }
}
