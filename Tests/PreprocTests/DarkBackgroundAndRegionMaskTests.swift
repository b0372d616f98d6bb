import DESICore
import FITS
import Foundation
import Simulation
import XCTest

@testable import Preproc

/// `--bkgsub-for-dark` (desispec.preproc._background) and the CCD region masks (ccd-region-mask.csv).
final class DarkBackgroundAndRegionMaskTests: XCTestCase {
    /// A deterministic 1000 x 1300 image; the expected values are desispec 0.70's _global_background on it
    /// (/work/refenv/bin/python, desispec.preproc._global_background, see Docs/preproc.md), including the corners,
    /// where scipy's spline is flat beyond the outermost patch centres.
    func testBackgroundMatchesDesispec() throws {
        let ny = 1000, nx = 1300
        var pix = [Float](repeating: 0, count: ny * nx)
        for r in 0..<ny {
            for c in 0..<nx {
                let v = 20 + 5 * sin(Double(r) / 170) + 3 * cos(Double(c) / 230) + 0.002 * Double(r) + Double((r * 7 + c * 13) % 17) - 8
                pix[r * nx + c] = Float(v)
            }
        }
        let bkg = try DarkBackground.compute(pix: pix, ny: ny, nx: nx)
        let desispec: [(Int, Int, Double)] = [
            (0, 0, 25.707629203796387), (5, 7, 25.707629203796387), (100, 650, 20.580191612243652),
            (517, 1299, 22.38919511743164), (999, 0, 20.010358810424805), (999, 1299, 18.64207363128662),
            (350, 420, 24.017844941743455), (700, 1100, 17.946355531412294),
        ]
        for (r, c, v) in desispec { XCTAssertEqual(bkg[r * nx + c], v, accuracy: 1e-9, "pixel (\(r), \(c))") }
        XCTAssertEqual(bkg.reduce(0, +) / Double(ny * nx), 20.721840030598486, accuracy: 1e-9)
        XCTAssertThrowsError(try DarkBackground.compute(pix: [Float](repeating: 0, count: 500 * 1300), ny: 500, nx: 1300))
    }

    /// A smooth background (30 e, +-20% along both axes) under a dark-like frame (no traces, read noise and Poisson
    /// noise) is removed by `--bkgsub-for-dark`: the rms of what is left (beyond the noise) is a small fraction of it.
    func testDarkBackgroundRemovesInjectedBackground() throws {
        let ny = 1200, nx = 1400
        let bg: (Int, Int) -> Double = { r, c in
            30 * (1 + 0.2 * sin(Double.pi * Double(r) / Double(ny))) * (1 + 0.2 * cos(Double.pi * Double(c) / Double(nx)))
        }
        let cam = SimulatedCamera.make(ny: ny, nx: nx, seed: 3, level: 0, peak: 0, configure: { c in
            for i in c.amplifiers.indices { c.amplifiers[i].darkCurrent = 0 }
        }, modify: { e, rng in
            for r in 0..<ny { for c in 0..<nx { e[r * nx + c] = Float(rng.poisson(bg(r, c))) } }
        })
        var options = PreprocOptions()
        options.nocosmic = true
        options.bkgsubDark = true
        let img = try Preprocessor.run(cam.rawImage, options: options).image
        // residual: the background-subtracted image averaged over 50 x 50 boxes (the noise averages out), inside the
        // outermost patch centres (~120 pixels from the edges; beyond them scipy's spline, and ours, is flat) and outside
        func boxes(interior: Bool) -> (mean: Double, rms: Double, worst: Double) {
            var s = 0.0, s2 = 0.0, worst = 0.0, n = 0.0
            for r0 in stride(from: 0, to: ny - 49, by: 50) {
                for c0 in stride(from: 0, to: nx - 49, by: 50) {
                    let inside = r0 >= 150 && r0 + 50 <= ny - 150 && c0 >= 150 && c0 + 50 <= nx - 150
                    guard inside == interior else { continue }
                    var t = 0.0
                    for r in r0..<(r0 + 50) { for c in c0..<(c0 + 50) { t += Double(img.pix[r * nx + c]) } }
                    let m = t / 2500
                    s += m; s2 += m * m; worst = max(worst, abs(m)); n += 1
                }
            }
            return (s / n, (s2 / n).squareRoot(), worst)
        }
        let inner = boxes(interior: true), edges = boxes(interior: false)
        print(String(format: "--bkgsub-for-dark, 30 e background: residual of 50x50 box means inside the patch centres: mean %.3f e, "
                     + "rms %.3f e (%.2f%%), largest %.3f e; near the edges: rms %.3f e, largest %.3f e",
                     inner.mean, inner.rms, 100 * inner.rms / 30, inner.worst, edges.rms, edges.worst))
        // a patch median of Poisson counts (+ read noise) is ~1/6 e below their mean: the residual's mean
        XCTAssertEqual(inner.mean, 1.0 / 6, accuracy: 0.1)
        // the rest is the quadratic spline through ~240-pixel patch medians (measured 0.39 e rms, 1.1 e at most,
        // desispec's algorithm, which this port matches to 1e-9 above); a wrong knot or axis gives several electrons
        XCTAssertLessThan(inner.rms, 0.5)
        XCTAssertLessThan(inner.worst, 1.5)
        XCTAssertLessThan(edges.worst, 3)      // flat beyond the outermost patch centres: 2.3 e (8%) measured here
    }

    func testRegionMaskTable() throws {
        let dir = temporaryDirectory()
        let table = CCDRegionMask.tablePath(calibrationDirectory: dir)
        try FileManager.default.createDirectory(atPath: "\(dir)/ccd", withIntermediateDirectories: true)
        try """
            NIGHT,EXPID,CAMERA,XMIN,XMAX,YMIN,YMAX,COMMENT
            20240101,1234,r0,10,20,30,45,a glow
            20240101,1234,r0,-5,200,0,3,numpy slices
            20240101,1235,r0,0,50,0,50,another exposure
            20240101,1234,b0,0,50,0,50,another camera
            """.write(toFile: table, atomically: true, encoding: .utf8)
        let cam = SimulatedCamera.make(ny: 100, nx: 120)
        let regions = try CCDRegionMask.regions(table: table, headers: [cam.rawImage.header, cam.rawImage.primaryHeader])
        XCTAssertEqual(regions, [CCDRegionMask(xmin: 10, xmax: 20, ymin: 30, ymax: 45),
                                 CCDRegionMask(xmin: -5, xmax: 200, ymin: 0, ymax: 3)])
        var options = PreprocOptions()
        options.nocosmic = true
        let plain = try Preprocessor.run(cam.rawImage, options: options).image
        options.regionMasks = regions
        let masked = try Preprocessor.run(cam.rawImage, options: options).image
        var flagged = 0
        for r in 0..<100 {
            for c in 0..<120 {
                let i = r * 120 + c
                let inside = (30..<45).contains(r) && (10..<20).contains(c) || (0..<3).contains(r) && (115..<120).contains(c)
                XCTAssertEqual(masked.mask[i] & CCDMask.bad != 0, inside || plain.mask[i] & CCDMask.bad != 0, "pixel (\(r), \(c))")
                if inside { flagged += 1 }
            }
        }
        XCTAssertEqual(flagged, 15 * 10 + 3 * 5)
        XCTAssertEqual(masked.pix, plain.pix)
        try "NIGHT,EXPID,CAMERA,XMIN,XMAX,YMIN\n".write(toFile: table, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CCDRegionMask.regions(table: table, headers: [cam.rawImage.header]))
    }
}
