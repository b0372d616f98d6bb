import LinearAlgebra
import XCTest

@testable import PSF

/// TraceCurve.solve4 (four rows per Newton pass) against TraceCurve.solve lane by lane, bit for bit.
final class TraceShiftNewtonTests: XCTestCase {
    private func traces() -> [TraceSet] {
        var rng = SystemRandomNumberGenerator()
        var sets = [
            TraceSet(coefficients: [2000, 2100, 30, -4, 1.5, -0.3, 0.02, 2010, 2095, 28, 3, -1, 0.2, 0.01],
                     ntrace: 2, ncoef: 7, domainMin: 5600, domainMax: 9900),
            TraceSet(coefficients: [2000, 2100, 2010, 2095], ntrace: 2, ncoef: 2, domainMin: 5600, domainMax: 9900),
            TraceSet(coefficients: [2000, 2100, 5, 1], ntrace: 1, ncoef: 4, domainMin: 3600, domainMax: 5900),
            TraceSet(coefficients: [2000], ntrace: 1, ncoef: 1, domainMin: 5600, domainMax: 9900),
            // a derivative that vanishes inside the domain (Newton may stop on d = 0 or run all 20 steps)
            TraceSet(coefficients: [2000, 0, 2100], ntrace: 1, ncoef: 3, domainMin: 5600, domainMax: 9900),
        ]
        for _ in 0..<20 {
            let ncoef = Int.random(in: 3...9, using: &rng)
            var c: [Double] = [2000, 2100]
            for k in 2..<ncoef {
                let r: Double = Double.random(in: -40...40, using: &rng)
                c.append(r / Double(k * k))
            }
            sets.append(TraceSet(coefficients: c, ntrace: 1, ncoef: ncoef, domainMin: 5600, domainMax: 9900))
        }
        return sets
    }

    func testSolve4MatchesSolveBitForBit() {
        var rng = SystemRandomNumberGenerator()
        for t in traces() {
            for fiber in 0..<t.ntrace {
                let curve = TraceCurve(t, fiber: fiber)
                for _ in 0..<500 {
                    let target = SIMD4<Double>((0..<4).map { _ in Double.random(in: -200...4300, using: &rng) })
                    var start = SIMD4<Double>((0..<4).map { _ in Double.random(in: 5000...10500, using: &rng) })
                    if Bool.random(using: &rng) { start[1] = .nan }
                    if Bool.random(using: &rng) { start[2] = 7750 }
                    let got = curve.solve4(target: target, start: start)
                    for q in 0..<4 {
                        let want = curve.solve(target: target[q], start: start[q])
                        XCTAssertEqual(got[q].bitPattern, want.bitPattern, "lane \(q): \(got[q]) vs \(want)")
                    }
                }
            }
        }
    }

    func testEvalAllMatchesEvalBitForBit() {
        for t in traces() {
            for fiber in 0..<t.ntrace {
                let curve = TraceCurve(t, fiber: fiber)
                for n in [0, 1, 3, 4, 5, 9, 1000] {
                    let v = (0..<n).map { _ in Double.random(in: 5000...10500) }
                    XCTAssertEqual(curve.evalAll(v).map(\.bitPattern), v.map { curve.eval($0).bitPattern })
                }
            }
        }
    }

    /// TraceSet.eval(_:at:) (four wavelengths per Legendre recurrence) equals eval one value at a time, bit for bit.
    func testTraceSetEvalAtManyMatchesEvalBitForBit() {
        for t in traces() {
            for fiber in 0..<t.ntrace {
                for n in [0, 1, 3, 4, 5, 9, 1000] {
                    let v = (0..<n).map { _ in Double.random(in: 5000...10500) }
                    XCTAssertEqual(t.eval(fiber, at: v).map(\.bitPattern), v.map { t.eval(fiber, $0).bitPattern })
                }
            }
        }
    }

    func testRowWavelengthsMatchesRowByRowNewton() {
        // increasing traces only (as boxcarFrame requires): not the constant one nor the one with d = 0 inside
        for (i, t) in traces().enumerated() where i != 3 && i != 4 {
            for fiber in 0..<t.ntrace {
                for nrow in [1, 3, 7, 64, 4096] {
                    let got = rowWavelengths(t, fiber: fiber, nrow: nrow)
                    let want = plainRowWavelengths(t, fiber: fiber, nrow: nrow)
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern))
                }
            }
        }
    }

    /// rowWavelengths before solve4: every row solved on its own.
    private func plainRowWavelengths(_ yTrace: TraceSet, fiber: Int, nrow: Int) -> [Double] {
        let curve = TraceCurve(yTrace, fiber: fiber)
        let nt = max(nrow, 64)
        let tw = (0..<nt).map { yTrace.domainMin + (yTrace.domainMax - yTrace.domainMin) * Double($0) / Double(nt - 1) }
        let ty = tw.map { curve.eval($0) }
        return (0..<nrow).map { j -> Double in
            let y = Double(j)
            let start: Double
            if y <= ty[0] { start = tw[0] + (tw[1] - tw[0]) / (ty[1] - ty[0]) * (y - ty[0]) }
            else if y >= ty[nt - 1] {
                start = tw[nt - 1] + (tw[nt - 2] - tw[nt - 1]) / (ty[nt - 2] - ty[nt - 1]) * (y - ty[nt - 1])
            } else { start = Interpolation.linear(x: ty, y: tw, at: [y])[0] }
            return curve.solve(target: y, start: start)
        }
    }
}
