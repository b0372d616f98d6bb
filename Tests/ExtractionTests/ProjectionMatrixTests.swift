import DESICore
import Foundation
import LinearAlgebra
import PSF
import XCTest

@testable import Extraction

/// Issue 16's speed work on the patch's sparse algebra, on a real-PSF patch: the spot cache's windows (evicted in
/// place, filled out of order) return the spots the PSF computes, and the one-pass A^T u, A^T v, A^T w equals the
/// dense A^T x written from the pixel-major (CSR) form, sum by sum.
/// The patch of fibers 0-6 (core 1-5) at 6000-6079.2 A of the real r0 PSF, on a CCD window around it.
func realR0Patch(options: ExtractionOptions = ExtractionOptions()) throws -> (PatchGeometry, Patch) {
    let full = try readPSF(try realPSFPath())
    let grid = WaveGrid(wmin: 6000, wmax: 6079.2, dw: 0.8)
    let ylo = Int(full.y(fiber: 0, wavelength: 5980).rounded(.down)) - 30
    let yhi = Int(full.y(fiber: 7, wavelength: 6100).rounded(.up)) + 30
    let xhi = Int(full.x(fiber: 7, wavelength: 6040).rounded(.up)) + 30
    let psf = CroppedPSF(base: full, x0: 0, y0: ylo, npixX: xhi, npixY: yhi - ylo)
    let geometry = PatchGeometry(psf: psf, grid: grid, fibers: 0..<7, options: options)
    return (geometry, geometry.patch(extract: 0..<7, core: 1..<6, iwave: 0))
}

final class ProjectionMatrixTests: XCTestCase {
    func testSpotCacheReturnsThePSFSpotsAfterEvictionAndOutOfOrderFills() throws {
        let (geometry, patch) = try realR0Patch()
        let cache = SpotCache(geometry: geometry)
        let waves = Array(patch.waveIndices)
        func check(_ f: Int, _ k: Int, _ label: String) {
            let fresh = geometry.spot(fiber: f, wavelength: geometry.grid.wavelength(k))
            let cached = cache.spot(fiber: f, waveIndex: k)
            XCTAssertEqual(cached == nil, fresh == nil, "\(label) fiber \(f) wave \(k)")
            guard let c = cached, let s = fresh else { return }
            XCTAssertEqual([c.x0, c.y0, c.nx, c.ny], [s.x0, s.y0, s.nx, s.ny], "\(label) fiber \(f) wave \(k)")
            XCTAssertEqual(c.values, s.values, "\(label) fiber \(f) wave \(k)")
        }
        // filled from the middle outwards (stores before the window's start and past its end), read twice
        let middle = waves.count / 2
        for i in [middle, middle + 3, middle - 5, 0, waves.count - 1] { check(2, waves[i], "fill") }
        for k in waves { check(2, k, "read") }
        // evicting below a wavelength keeps the rest (same spots) and recomputes what was dropped
        cache.evict(below: waves[middle], except: 0..<0)
        for k in waves.reversed() { check(2, k, "after eviction") }
        // a kept fiber is not evicted; a fiber outside keepOnly is forgotten and recomputed on demand
        check(3, waves[1], "kept")
        cache.evict(below: waves[10], except: 3..<4)
        check(3, waves[1], "kept after eviction")
        cache.keepOnly(fibers: 3..<4)
        check(2, waves[0], "after keepOnly")
    }

    func testOnePassTransposeEqualsTheDenseProductBitForBit() throws {
        let (geometry, patch) = try realR0Patch()
        let a = ProjectionMatrix(patch: patch, cache: SpotCache(geometry: geometry))
        XCTAssertGreaterThan(a.colValue.count, 10 * a.ncol)   // a real patch, not an empty one
        let u = (0..<a.npix).map { sin(Double($0) * 0.37) * 50 }
        let v = (0..<a.npix).map { Double($0 % 7 == 0 ? 0 : 1) }
        let w = (0..<a.npix).map { 1 / (1 + Double($0 % 13)) }
        let (tu, tv, tw) = a.applyTranspose(u, v, w)
        // dense A (npix x ncol) from the pixel-major form, then A^T x column by column, pixels in order
        var dense = [Double](repeating: 0, count: a.npix * a.ncol)
        for p in 0..<a.npix { for e in a.pixStart[p]..<a.pixStart[p + 1] { dense[p * a.ncol + Int(a.pixCol[e])] = a.pixValue[e] } }
        for (x, t) in [(u, tu), (v, tv), (w, tw)] {
            for c in 0..<a.ncol {
                var s = 0.0
                for p in 0..<a.npix where dense[p * a.ncol + c] != 0 { s += dense[p * a.ncol + c] * x[p] }
                XCTAssertEqual(t[c], s, "column \(c)")
            }
        }
    }
}
