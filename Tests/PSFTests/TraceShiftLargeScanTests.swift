import DESICore
import Foundation
import LinearAlgebra
import XCTest

@testable import PSF

/// The large shift scan of `desispec traceshift` (desispec 0.70's, before the x passes): the arc lamp lines it
/// expects, the spots it detects, the matching, and the offsets it finds on arcs and continuum images whose
/// starting traces are off by more than the fine passes can see.
final class TraceShiftLargeScanTests: XCTestCase {
    /// Lines drawn as Gaussians of 0.5 A on a 0.1 A grid, over a faint rising continuum, come back at their centres;
    /// at most 50 lines are kept, the brightest. (On no continuum at all the threshold is 0 and the rounding ripples
    /// of the smoothing count as lines, in desispec as here.)
    func testPeakWavelengthsOfALampSpectrum() throws {
        let wave = (0..<30_000).map { 5000 + 0.1 * Double($0) }
        let lines: [(Double, Double)] = [(5200, 10), (5800, 30), (6400.0, 20), (7300, 5)]
        func continuum(_ w: Double) -> Double { 1 + 1e-5 * (w - 5000) }
        let flux = wave.map { w in lines.reduce(continuum(w)) { $0 + $1.1 * exp(-0.5 * pow((w - $1.0) / 0.5, 2)) } }
        let peaks = try arcLampPeakWavelengths(wave: wave, flux: flux)
        XCTAssertEqual(peaks.count, 4)
        for (p, l) in zip(peaks, lines) { XCTAssertEqual(p, l.0, accuracy: 1e-6) }
        // 80 lines: the threshold rises until the 50 brightest remain
        let many = (0..<80).map { (5100 + 30 * Double($0), 1 + Double($0)) }
        let f2 = wave.map { w in many.reduce(continuum(w)) { $0 + $1.1 * exp(-0.5 * pow((w - $1.0) / 0.5, 2)) } }
        let p2 = try arcLampPeakWavelengths(wave: wave, flux: f2)
        XCTAssertLessThanOrEqual(p2.count, 50)
        XCTAssertGreaterThan(p2.count, 10)
        XCTAssertEqual(p2.last ?? 0, many.last!.0, accuracy: 1e-6, "the brightest line is kept")
        // the shipped arc lamp spectrum (desispec's spec-arc-lamps.dat): its brightest lines, in order
        let (sw, sf) = try readReferenceSpectrum(ShippedReferenceSpectrum.arcLamps.path())
        XCTAssertEqual(sw.count, 65_001)
        let shipped = try arcLampPeakWavelengths(wave: sw, flux: sf)
        XCTAssertTrue(shipped.count > 10 && shipped.count <= 50, "\(shipped.count) lines")
        XCTAssertEqual(shipped, shipped.sorted())
        // Ne 7034.35 A (vacuum), the lamps' brightest line in r, is among them
        XCTAssertTrue(shipped.contains { abs($0 - 7034.35) < 0.5 }, "\(shipped)")
    }

    /// Gaussian spots (sigma 1 pixel) at sub-pixel positions: each found once, at its centre; a spot whose pixels
    /// are all masked is not. (A spot centred half-way between two pixels has no pixel above both neighbours: not a
    /// spot, in desispec as here.)
    func testSpotsDetectedAtTheirCentres() throws {
        let ny = 120, nx = 90
        let centres = [CCDPoint(x: 20.3, y: 15.8), CCDPoint(x: 60.4, y: 40.1), CCDPoint(x: 33.0, y: 90.45),
                       CCDPoint(x: 75.7, y: 100.2), CCDPoint(x: 45.2, y: 60.6)]
        var pix = [Float](repeating: 0, count: ny * nx)
        for c in centres {
            for y in 0..<ny { for x in 0..<nx {
                pix[y * nx + x] += Float(2000 * exp(-0.5 * (pow(Double(x) - c.x, 2) + pow(Double(y) - c.y, 2))))
            } }
        }
        var mask = [UInt32](repeating: 0, count: ny * nx)
        for y in 55...66 { for x in 40...51 { mask[y * nx + x] = 1 } }   // the last spot
        let image = Image(ny: ny, nx: nx, pix: pix, ivar: pix.map { 1 / ($0 + 10) }, mask: mask,
                          readnoise: [Float](repeating: 3, count: ny * nx))
        let spots = try detectArcSpots(image)
        XCTAssertEqual(spots.count, 4)
        for c in centres.prefix(4) {
            let s = try XCTUnwrap(spots.first { abs($0.x - c.x) < 1 && abs($0.y - c.y) < 1 }, "\(c)")
            // the 7 x 7 box keeps all but 3e-3 of the spot: its barycentre is the centre to 0.005 pixel
            XCTAssertEqual(s.x, c.x, accuracy: 0.005); XCTAssertEqual(s.y, c.y, accuracy: 0.005)
        }
        // the mask folded into ivar (as desispec traceshift reads images): the same spots
        let folded = Image(ny: ny, nx: nx, pix: pix, ivar: zip(image.ivar, mask).map { $1 == 0 ? $0 : 0 }, mask: [], readnoise: [])
        XCTAssertEqual(try detectArcSpots(folded), spots)
    }

    /// Matching through the cells gives the pairs of desispec's: every expected point's nearest detection over all of
    /// them, a detection claimed twice kept by the closer, the pairs closer than the radius.
    func testMatchingEqualsTheNearestOverAllPoints() {
        var rng = SplitMix64(seed: 41)
        func r(_ s: Double) -> Double { Double(rng.next() % 1_000_000) / 1_000_000 * s }
        let detected = (0..<400).map { _ in CCDPoint(x: r(300), y: r(500)) }
        let expected = (0..<300).map { _ in CCDPoint(x: r(320) - 10, y: r(520) - 10) }
        for radius in [28.0, 14, 7, 3] {
            for (dx, dy) in [(0.0, 0.0), (3.5, -1.25), (-17.5, 2)] {
                var claim: [Int: (Int, Double)] = [:]
                for (i, p) in expected.enumerated() {
                    let q = CCDPoint(x: p.x + dx, y: p.y + dy)
                    let d = detected.map { (($0.x - q.x) * ($0.x - q.x) + ($0.y - q.y) * ($0.y - q.y)).squareRoot() }
                    let j = d.indices.min { d[$0] < d[$1] }!
                    if let c = claim[j], c.1 <= d[j] { continue }
                    claim[j] = (i, d[j])
                }
                let plain = claim.filter { $0.value.1 < radius }.map { ($0.value.0, $0.key) }.sorted { $0.0 < $1.0 }
                let fast = matchSpots(expected, dx: dx, dy: dy, to: NearestNeighbours(detected, radius: radius))
                XCTAssertEqual(fast.map(\.0), plain.map(\.0), "radius \(radius) offset (\(dx), \(dy))")
                XCTAssertEqual(fast.map(\.1), plain.map(\.1), "radius \(radius) offset (\(dx), \(dy))")
            }
        }
    }

    /// An arc drawn through the analytic PSF with the measured line list: the scan from traces moved by (+12.3,
    /// -6.2) pixels finds the scan of the true traces moved back by as much (the same spots matched), and the trace
    /// shifts (desi_proc's arc settings) from the moved start end where those from the true start end.
    func testArcScanUndoesALargeMove() throws {
        let truth = try PSFFitTests.truthPSF()
        let image = PSFFitTests.arcImage(truth: truth, lines: try ArcLamps.measured(), seed: 5)
        let moved = PSFFitTests.perturbed(truth, dx: 12.3, dy: -6.2, sigmaScale: 1)
        let (lw, lf) = try readReferenceSpectrum(ShippedReferenceSpectrum.arcLamps.path())
        let fibers = Array(0..<truth.nspec)
        let atTruth = try arcLampLargeShift(image: image, xTrace: truth.xTrace, yTrace: truth.yTrace, fibers: fibers,
                                            lampWave: lw, lampFlux: lf)
        let fromMoved = try arcLampLargeShift(image: image, xTrace: moved.xTrace, yTrace: moved.yTrace, fibers: fibers,
                                              lampWave: lw, lampFlux: lf)
        print("arc scan: from the truth (\(atTruth.dx), \(atTruth.dy)), \(atTruth.matched) of \(atTruth.expected) matched; "
              + "from the moved start (\(fromMoved.dx), \(fromMoved.dy)), \(fromMoved.matched)")
        XCTAssertGreaterThan(atTruth.matched, atTruth.expected / 2)
        XCTAssertEqual(abs(atTruth.dx), 0, accuracy: 0.05)
        XCTAssertEqual(fromMoved.dx, atTruth.dx - 12.3, accuracy: 0.01)
        XCTAssertEqual(fromMoved.dy, atTruth.dy + 6.2, accuracy: 0.01)

        var o = TraceShiftOptions()
        o.degxx = 0; o.degxy = 0; o.degyx = 0; o.degyy = 0
        o.arcLamps = true; o.referenceWave = lw; o.referenceFlux = lf
        let a = try computeTraceShifts(image: image, xTrace: truth.xTrace, yTrace: truth.yTrace, psf: truth, options: o)
        let b = try computeTraceShifts(image: image, xTrace: moved.xTrace, yTrace: moved.yTrace, psf: moved, options: o)
        XCTAssertEqual(try XCTUnwrap(b.largeShift?.dx), fromMoved.dx, accuracy: 1e-12)
        for f in fibers {
            for w in stride(from: truth.wavemin, through: truth.wavemax, by: 100) {
                XCTAssertEqual(b.xTrace.eval(f, w), a.xTrace.eval(f, w), accuracy: 0.01)
                XCTAssertEqual(b.yTrace.eval(f, w), a.yTrace.eval(f, w), accuracy: 0.02)
            }
        }
    }

    /// A continuum image (straight traces 9 pixels apart, Gaussian profiles of sigma 1.2): the scan from traces
    /// moved by +12.5 and -20 pixels moves them back to within its 0.5-pixel steps.
    func testContinuumScanFindsTheTraces() throws {
        let ny = 800, nx = 200, nf = 15
        let xs = (0..<nf).map { 30 + 9.3 * Double($0) }
        var pix = [Float](repeating: 0, count: ny * nx)
        for y in 0..<ny { for x in 0..<nx {
            pix[y * nx + x] = Float(xs.reduce(0) { $0 + 500 * exp(-0.5 * pow((Double(x) - $1) / 1.2, 2)) } + 5)
        } }
        let image = Image(ny: ny, nx: nx, pix: pix, ivar: pix.map { 1 / ($0 + 10) }, mask: [UInt32](repeating: 0, count: ny * nx),
                          readnoise: [Float](repeating: 3, count: ny * nx))
        // x constant along each trace, y linear in wavelength over the rows
        let yTrace = TraceSet(coefficients: (0..<nf).flatMap { _ in [Double(ny) / 2, Double(ny) / 2] }, ntrace: nf, ncoef: 2,
                              domainMin: 5000, domainMax: 6000)
        for move in [12.5, -20.0] {
            let xTrace = TraceSet(coefficients: xs.flatMap { [$0 + move, 0] }, ntrace: nf, ncoef: 2, domainMin: 5000, domainMax: 6000)
            let dx = continuumLargeShiftX(image: image, xTrace: xTrace, yTrace: yTrace, fibers: Array(0..<nf))
            XCTAssertEqual(dx, -move, accuracy: 0.5, "move \(move)")
            // masked pixels on the traces, given as mask bits or folded into ivar: the same offset
            var masked = image
            for k in stride(from: 3, to: masked.mask.count, by: 37) { masked.mask[k] = 1 }
            let foldedIvar = zip(image.ivar, masked.mask).map { $1 == 0 ? $0 : 0 }
            let folded = Image(ny: ny, nx: nx, pix: pix, ivar: foldedIvar, mask: [], readnoise: [])
            XCTAssertEqual(continuumLargeShiftX(image: folded, xTrace: xTrace, yTrace: yTrace, fibers: Array(0..<nf)),
                           continuumLargeShiftX(image: masked, xTrace: xTrace, yTrace: yTrace, fibers: Array(0..<nf)), "move \(move)")
        }
    }
}
