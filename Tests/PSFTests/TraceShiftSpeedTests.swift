import DESICore
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

    /// The rebinned image (vector lanes, row blocks on all cores) holds the plain loop's sums: rows added in order,
    /// ivar 0 where a pixel of the group is masked or has no weight, NaN kept; widths around the lanes' 4, a last
    /// partial group of rows dropped, with and without a mask.
    func testRebinnedImageEqualsThePlainSums() {
        var rng = SplitMix64(seed: 31)
        for (ny, nx, rebin) in [(41, 37, 4), (16, 8, 4), (30, 5, 3), (9, 130, 1)] {
            let n = ny * nx
            let pix = (0..<n).map { _ in Float(Double(rng.next() % 100_000) / 37 - 500) }
            var ivar = (0..<n).map { _ in Float(Double(rng.next() % 1000) / 999) }
            ivar[3] = .nan
            let mask = (0..<n).map { _ in UInt32(rng.next() % 17 == 0 ? 4 : 0) }
            for m in [mask, []] {
                let image = Image(ny: ny, nx: nx, pix: pix, ivar: ivar, mask: m, readnoise: [])
                let r = RebinnedImage(image, rebin: rebin)
                XCTAssertEqual(r.nrow, ny / rebin)
                for row in 0..<r.nrow {
                    for i in 0..<nx {
                        var s = 0.0, w = 0.0, bad = false
                        for k in 0..<rebin {
                            let p = (row * rebin + k) * nx + i
                            s += Double(pix[p])
                            let iv = m.isEmpty || m[p] == 0 ? Double(ivar[p]) : 0
                            if iv == 0 { bad = true }
                            w += iv
                        }
                        XCTAssertEqual(r.pix[row * nx + i].bitPattern, s.bitPattern, "\(ny)x\(nx) rebin \(rebin) (\(row), \(i))")
                        XCTAssertEqual(r.ivar[row * nx + i].bitPattern, (bad ? 0 : w).bitPattern,
                                       "\(ny)x\(nx) rebin \(rebin) (\(row), \(i))")
                    }
                }
            }
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

    /// The two-sorted-blocks ring on spectra like the y passes' (4x resampled, sky lines on a continuum, noise),
    /// at the windows the trace shifts use (36 internal, 18 external) and odd ones.
    func testRunningAnnulusMedianOnSpectraEqualsASortPerSample() {
        var rng = SplitMix64(seed: 23)
        for window in [36, 18, 35, 9, 2] {
            let n = 3000
            let a = (0..<n).map { k -> Double in
                let w = Double(k) * 0.2
                let lines = 80 * exp(-0.5 * pow((w - 150) / 0.7, 2)) + 30 * exp(-0.5 * pow((w - 420) / 0.7, 2))
                return 10 + 0.01 * w + lines + Double(rng.next() % 10_000) / 2_000 - 2.5
            }
            XCTAssertEqual(runningAnnulusMedian(a, window: window), bruteAnnulusMedian(a, window: window), "window \(window)")
        }
    }

    func testMedianOfTwoSortedEqualsTheSortedMedian() {
        var rng = SplitMix64(seed: 29)
        for m in [1, 2, 3, 4, 5, 6, 8, 9, 17, 18, 36] {
            for range in [2, 5, 1_000_000] {
                for _ in 0..<200 {
                    let x = (0..<m).map { _ in Double(rng.next() % UInt64(range)) }.sorted()
                    let y = (0..<m).map { _ in Double(rng.next() % UInt64(range)) }.sorted()
                    let got = x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { medianOfTwoSorted(xb, $0) } }
                    XCTAssertEqual(got, median(x + y), "m \(m) range \(range)")
                }
            }
        }
    }

    /// The plain form of one step of the sliding sorted window: the first copy of `old` removed, `new` inserted
    /// before the first value greater than it (what the running median did before slideSortedWindow).
    func replaceInSorted(_ s: [Double], old: Double, new: Double) -> [Double] {
        var t = s
        t.remove(at: t.firstIndex(of: old)!)
        t.insert(new, at: t.firstIndex { $0 > new } ?? t.count)
        return t
    }

    func testSlideSortedWindowEqualsRemoveAndInsert() {
        var rng = SplitMix64(seed: 31)
        for m in [1, 2, 3, 4, 5, 8, 9, 18, 36] {
            for range in [3, 1_000_000] {
                var s = (0..<m).map { _ in Double(rng.next() % UInt64(range)) - Double(range / 2) }.sorted()
                let ring = SortedWindowRing(slots: 2, count: m)
                defer { ring.deallocate() }
                for q in 0..<m { ring.values(0)[q] = s[q] }
                var slot = 0
                for _ in 0..<300 {
                    let old = s[Int(rng.next() % UInt64(m))], new = Double(rng.next() % UInt64(range)) - Double(range / 2)
                    let expected = replaceInSorted(s, old: old, new: new)
                    // padding and lanes past m hold other numbers: they must not count
                    for c in [-1, ring.nchunk] { ring.chunks(slot)[c] = SIMD4(repeating: Double(rng.next() % 7) - 3) }
                    slideSortedWindow(from: ring.chunks(slot), to: ring.chunks(1 - slot), chunks: ring.nchunk, count: m,
                                      old: old, new: new)
                    slot = 1 - slot
                    s = Array(UnsafeBufferPointer(start: ring.values(slot), count: m))
                    XCTAssertEqual(s, expected, "m \(m) range \(range)")
                    for q in m..<(4 * ring.nchunk) { ring.values(slot)[q] = Double(rng.next() % 5) - 2 }
                }
            }
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

    /// Columns like the continuum-subtracted spectra over fibers (a smooth median moving along, sky lines, noise,
    /// ties, a block of zeros, a column with NaN, odd and even counts): the bracketed medians equal the sorted ones.
    func testBracketedMedianEqualsTheSortedMedianColumnByColumn() {
        var rng = SplitMix64(seed: 37)
        for n in [5, 64, 65, 201, 500] {
            var medians = BracketedMedian(count: n)
            for k in 0..<3000 {
                let w = Double(k) * 0.25
                let level = 3 * sin(w / 40) + 60 * exp(-0.5 * pow((w - 300) / 0.8, 2))
                var column = (0..<n).map { _ in level + Double(rng.next() % 2000) / 100 - 10 }
                if k % 97 == 0 { for q in 0..<(n / 3) { column[q] = Double(q % 3) } }       // ties
                if (1000..<1040).contains(k) { column = column.map { _ in 0 } }               // a masked block
                if k == 2000 { column[n / 2] = .nan }
                let expected = median(column)
                let got = column.withUnsafeMutableBufferPointer { medians.median($0) }
                if k == 2000 { XCTAssertTrue(got.isNaN == expected.isNaN || got == expected, "n \(n) k \(k)"); continue }
                XCTAssertEqual(got, expected, "n \(n) column \(k)")
            }
        }
    }

    /// Columns whose median jumps by tens of ranks (a middle rank below or above the bracket, the two middle ranks in
    /// different groups) or by nothing, with integer values (ties on the bracket's edges): still the sorted medians.
    func testBracketedMedianFollowsJumpsAndTies() {
        var rng = SplitMix64(seed: 41)
        for n in [65, 66, 200, 501] {
            var medians = BracketedMedian(count: n)
            var level = 0.0
            for k in 0..<4000 {
                switch k % 7 {
                case 0: level += Double(rng.next() % 41) - 20       // a jump of up to 20 (the spread is 10)
                case 3: level += Double(rng.next() % 3) - 1
                default: break
                }
                let integers = k % 5 == 0
                var column = (0..<n).map { _ -> Double in
                    let noise = Double(rng.next() % 2001) / 100 - 10
                    return integers ? (level + noise).rounded() : level + noise
                }
                let expected = median(column)
                XCTAssertEqual(column.withUnsafeMutableBufferPointer { medians.median($0) }, expected, "n \(n) column \(k)")
            }
        }
    }

    func testMedianInPlaceEqualsTheSortedMedian() {
        var rng = SplitMix64(seed: 11)
        for n in [1, 2, 3, 4, 5, 8, 17, 36, 101, 500] {
            for range in [3, 1_000_000] {
                var a = (0..<n).map { _ in Double(rng.next() % UInt64(range)) - Double(range / 3) }
                let expected = median(a)
                XCTAssertEqual(a.withUnsafeMutableBufferPointer { Statistics.medianInPlace($0) }, expected, "n \(n) range \(range)")
            }
        }
        var sorted = (0..<40).map(Double.init), reversed = Array(sorted.reversed())
        XCTAssertEqual(sorted.withUnsafeMutableBufferPointer { Statistics.medianInPlace($0) }, 19.5)
        XCTAssertEqual(reversed.withUnsafeMutableBufferPointer { Statistics.medianInPlace($0) }, 19.5)
    }

    /// The chi2 scan as it was written before the four-shift loop: one shift at a time.
    func plainChi2(flux: [Double], ref: [Double], ivar: [Double], ihw: Int, dwave: Double, priorWidth: Double?) -> [Double] {
        let n = flux.count
        return (-ihw...ihw).map { d -> Double in
            var s = 0.0
            for i in ihw..<(n - ihw) { let r = flux[i] - ref[i + d]; s += ivar[i] * r * r }
            if let p = priorWidth { s += (dwave * Double(d) / p) * (dwave * Double(d) / p) }
            return s
        }
    }

    func testChi2ScanOffsetEqualsTheOneShiftAtATimeScan() {
        var rng = SplitMix64(seed: 17)
        let n = 900
        let wave = (0..<n).map { 6000 + 0.15 * Double($0) }
        let dwave = wave[1] - wave[0]    // the grid step as the scan takes it (0.15 to rounding)
        func line(_ w: Double, _ c: Double) -> Double { 40 * exp(-0.5 * pow((w - c) / 0.8, 2)) }
        let ref = wave.map { 5 + line($0, 6030) + line($0, 6075) + line($0, 6110) }
        let flux = wave.map { 5 + line($0 - 0.37, 6030) + line($0 - 0.37, 6075) + line($0 - 0.37, 6110)
            + Double(rng.next() % 1000) / 5000 }
        let ivar = wave.map { _ in 1 + Double(rng.next() % 100) / 100 }
        for (hw, prior) in [(3.0, nil), (2.0, 0.1), (1.0, nil)] as [(Double, Double?)] {
            let ihw = Int(hw / dwave) + 1
            let chi2 = plainChi2(flux: flux, ref: ref, ivar: ivar, ihw: ihw, dwave: dwave, priorWidth: prior)
            let i = chi2.indices.min { chi2[$0] < chi2[$1] }!
            let hh = Int(0.6 / dwave) + 1
            let e = min(i + hh + 1, 2 * ihw + 1), b = max(e - (2 * hh + 1), 0)
            let xs = (b..<e).map { dwave * Double($0 - ihw) }
            let c = try! Polynomial.fit(x: xs, y: Array(chi2[b..<e]), degree: 2)
            let (dw, err) = chi2ScanOffset(flux: flux, wave: wave, ref: ref, ivar: ivar, hw: hw, priorWidth: prior)
            XCTAssertEqual(dw, -c[1] / (2 * c[0]), "hw \(hw)")             // the same numbers to the last bit
            XCTAssertEqual(err, (1 / c[0] + 0.0001).squareRoot(), "hw \(hw)")
            // flux(w) = ref(w - 0.37): the reference matches at w - 0.37, an offset of -0.37 A
            if prior == nil { XCTAssertEqual(dw, -0.37, accuracy: 0.02) }
        }
    }

    func testTraceCurveEqualsTraceSet() {
        var rng = SplitMix64(seed: 19)
        for ncoef in [1, 2, 4, 6] {
            let c = (0..<(3 * ncoef)).map { k -> Double in
                k % ncoef == 0 ? 2000 : (k % ncoef == 1 ? 1800 : Double(rng.next() % 1000) / 100 - 5) }
            let t = TraceSet(coefficients: c, ntrace: 3, ncoef: ncoef, domainMin: 5500, domainMax: 7800)
            for fiber in 0..<3 {
                let curve = TraceCurve(t, fiber: fiber)
                for w in stride(from: 5400.0, through: 7900, by: 37.3) {
                    XCTAssertEqual(curve.eval(w), t.eval(fiber, w))
                    XCTAssertEqual(curve.derivative(w), t.derivative(fiber, w))
                }
                if ncoef > 1 {
                    for y in stride(from: 300.0, through: 3700, by: 211) {
                        XCTAssertEqual(curve.solve(target: y, start: 6000), t.solve(fiber, target: y, start: 6000))
                    }
                }
            }
        }
    }
}
