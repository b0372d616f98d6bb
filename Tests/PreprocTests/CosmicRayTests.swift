import DESICore
import FITS
import Foundation
import Simulation
import XCTest

@testable import Preproc

final class CosmicRayTests: XCTestCase {
    /// The line elements of the gap repair are those of desispec.joincosmics.LinearSelectionElement(11, 11, angle)
    /// (offsets printed by desispec 0.70, as (drow, dcol)).
    func testRepairElementsMatchDesispec() {
        let expected: [[(Int, Int)]] = [
            (-5...5).map { (0, $0) },
            [(-2, -5), (-2, -4), (-2, -3), (-1, -2), (-1, -1), (0, 0), (0, 1), (0, 2), (1, 3), (1, 4), (1, 5)],
            (-5...5).map { ($0, $0) },
            [(-5, -2), (-4, -2), (-3, -2), (-2, -1), (-1, -1), (0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1)],
            [(-5, 2), (-4, 2), (-3, 2), (-2, 1), (-1, 1), (0, 0), (1, 0), (2, 0), (3, -1), (4, -1), (5, -1)],
            (-5...5).map { ($0, -$0) },
            [(-2, 3), (-2, 4), (-2, 5), (-1, 1), (-1, 2), (0, -2), (0, -1), (0, 0), (1, -5), (1, -4), (1, -3)],
        ]
        let got = CosmicMaskRepair.standard.elements
        XCTAssertEqual(got.count, expected.count)
        for (g, e) in zip(got, expected) {
            XCTAssertEqual(Set(g.map { "\($0.0),\($0.1)" }), Set(e.map { "\($0.0),\($0.1)" }))
        }
    }

    /// The closings on bit rows (BitRowClosing) add exactly the pixels of the definition, computed pixel by pixel
    /// here: D = {p + s}, E = {q : q + s in D or outside the image, for all s}, added = E and D minus the set pixels,
    /// OR-ed over desispec's seven 11-pixel line elements. Sizes around the 64-pixel words (narrower than a word, a
    /// multiple of it, one more, wider than 64 words), masks from sparse to dense, set pixels on the edges.
    func testBitRowClosingMatchesDefinition() {
        let repair = CosmicMaskRepair.standard
        var rng = SimulationRandom(seed: 7)
        for (ny, nx, density) in [(40, 37, 0.05), (30, 64, 0.2), (50, 65, 0.02), (64, 130, 0.08), (200, 191, 0.01), (9, 3, 0.3),
                                  (14, 4161, 0.003)] {   // more than 64 words a row, a sparse mask
            var m = [Bool](repeating: false, count: ny * nx)
            for i in 0..<(ny * nx) where rng.uniform() < density { m[i] = true }
            // short tracks with gaps, what the repair is for
            for _ in 0..<4 {
                let r = Int(rng.uniform() * Double(ny)), c = Int(rng.uniform() * Double(nx))
                for k in 0..<12 where k % 4 != 3 { let cc = c + k; if cc < nx { m[r * nx + cc] = true } }
            }
            var expected = Set<Int>()
            for se in repair.elements {
                var dil = [Bool](repeating: false, count: ny * nx)
                for p in 0..<(ny * nx) where m[p] {
                    for (dr, dc) in se {
                        let r = p / nx + dr, c = p % nx + dc
                        if r >= 0, r < ny, c >= 0, c < nx { dil[r * nx + c] = true }
                    }
                }
                for q in 0..<(ny * nx) where dil[q] && !m[q] {
                    let all = se.allSatisfy { (dr, dc) in
                        let r = q / nx + dr, c = q % nx + dc
                        return r < 0 || r >= ny || c < 0 || c >= nx || dil[r * nx + c]
                    }
                    if all { expected.insert(q) }
                }
            }
            let set = (0..<(ny * nx)).filter { m[$0] }
            let got = repair.closingAdditions(set: set, ny: ny, nx: nx)
            XCTAssertEqual(got, expected.sorted(), "\(ny) x \(nx), density \(density)")
            XCTAssertFalse(expected.isEmpty && nx > 10, "\(ny) x \(nx): the closings should add pixels")
        }
    }

    /// Synthetic tracks on a frame with fiber-like traces: >= 95% of hit pixels flagged, < 1e-3 false positives.
    /// 10 tracks in 240 x 220 pixels is about the rate of a 900 s exposure. (With many more, desispec's gap repair,
    /// which we reproduce exactly, bridges tracks less than 11 pixels apart and flags the pixels between them.)
    /// The Float prefilter of the first pass never drops a pixel that the exact Double test accepts, on images built
    /// to sit on its edges: sharp peaks scaled around the PSF test's threshold, neighbours masked or without weight,
    /// negative and huge values; and it does drop most smooth bright pixels (else it would be useless).
    func testFirstPassPrefilterKeepsEveryPixelTheExactTestAccepts() {
        let ny = 60, nx = 77, n = ny * nx
        var rng = SimulationRandom(seed: 41)
        for trial in 0..<6 {
            var pix = [Float](repeating: 0, count: n), ivar = [Float](repeating: 0, count: n)
            var mask = [UInt32](repeating: 0, count: n)
            let scale: Float = [1, 30, 1e4, 3e5, 0.01, 200][trial]
            for i in 0..<n {
                pix[i] = scale * Float(1 + 0.2 * rng.gaussian())
                ivar[i] = Float(100 / (Double(scale) * Double(scale) * (0.5 + rng.uniform())))   // background S/N ~ 10
                if rng.uniform() < 0.05 { mask[i] = 1 }
                if rng.uniform() < 0.03 { ivar[i] = 0 }
                if rng.uniform() < 0.03 { pix[i] = -pix[i] }
                // peaks whose sharpness straddles the PSF test (neighbours / centre around 0.4 x 0.5 x gradient)
                if rng.uniform() < 0.08 { pix[i] *= Float(2 + 40 * rng.uniform()) }
            }
            let rejector = CosmicRayRejector(psfGradients: CosmicRayRejector.psfGradients(arm: .r))
            pix.withUnsafeBufferPointer { p in ivar.withUnsafeBufferPointer { iv in mask.withUnsafeBufferPointer { m in
                let state = [UInt8](repeating: 0, count: n)
                state.withUnsafeBufferPointer { st in
                    let image = CosmicImage(pix: p, ivar: iv, mask: m, state: st)
                    let marks = UnsafeMutableBufferPointer<Bool>.allocate(capacity: nx)
                    let nv = UnsafeMutablePointer<Float>.allocate(capacity: 3 * nx)
                    defer { marks.deallocate(); nv.deallocate() }
                    var accepted = 0, bright = 0, kept = 0
                    for i0 in 1..<(ny - 1) {
                        for k in 0..<3 { rejector.neighbourValues(row: i0 - 1 + k, nx: nx, image: image, into: nv + k * nx) }
                        rejector.markFirstPassCandidates(row: i0, nx: nx, image: image, above: nv, here: nv + nx,
                                                         below: nv + 2 * nx, candidate: marks)
                        for i1 in 1..<(nx - 1) {
                            let c = i0 * nx + i1
                            let sn = image.value(c) * Double(iv[c]).squareRoot() > rejector.nsig && m[c] == 0
                            if sn { bright += 1; if marks[i1] { kept += 1 } }
                            guard sn, rejector.isCosmic(c, nx: nx, image: image, nsig: rejector.nsig, cfudge: rejector.cfudge) else {
                                continue
                            }
                            accepted += 1
                            XCTAssertTrue(marks[i1],
                                          "trial \(trial): pixel \(i0),\(i1) accepted by the exact test, dropped by the prefilter")
                        }
                    }
                    XCTAssertGreaterThan(accepted, 0, "trial \(trial): the images must hold cosmic-like peaks")
                    XCTAssertLessThan(Double(kept), 0.5 * Double(bright),
                                      "trial \(trial): the prefilter should drop most bright smooth pixels")
                }
            }}}
        }
    }

    func testSyntheticTracksAreFlagged() throws {
        var deposit: [Float] = []
        var hits: [Int] = []
        let sim = SimulatedCamera.make(ny: 240, nx: 220, seed: 31, modify: { e, rng in
            let before = e
            hits = CosmicRayInjector().inject(into: &e, ny: 240, nx: 220, count: 10, rng: &rng)
            deposit = zip(e, before).map { $0 - $1 }
        })
        XCTAssertGreaterThan(hits.count, 100)
        let img = try Preprocessor.run(sim.rawImage).image
        let flagged = Set(img.mask.indices.filter { img.mask[$0] & CCDMask.cosmic != 0 })
        let found = hits.filter { flagged.contains($0) }.count
        XCTAssertGreaterThanOrEqual(Double(found) / Double(hits.count), 0.95, "\(found) of \(hits.count) hit pixels flagged")
        // clean pixels: farther than 6 pixels from any deposited charge. Closer ones may be flagged by design: the
        // +1 px dilation, and desispec's gap repair (binary closing with 11-px lines) that bridges gaps of up to
        // 10 px between nearby tracks and, at the image edge, treats outside pixels as set.
        let reach = 6
        var near = [Bool](repeating: false, count: deposit.count)
        for i in deposit.indices where deposit[i] > 0 {
            let y = i / 220, x = i % 220
            for dy in -reach...reach { for dx in -reach...reach {
                let yy = y + dy, xx = x + dx
                if yy >= 0, yy < 240, xx >= 0, xx < 220 { near[yy * 220 + xx] = true }
            } }
        }
        let clean = near.indices.filter { !near[$0] }
        let falsePositives = clean.filter { flagged.contains($0) }.count
        XCTAssertLessThan(Double(falsePositives) / Double(clean.count), 1e-3,
                          "\(falsePositives) false positives in \(clean.count) clean pixels")
        XCTAssertLessThan(Double(flagged.count), 4 * Double(hits.count), "\(flagged.count) flagged for \(hits.count) hit pixels")
    }

    /// The detector on a clean frame flags nothing.
    func testNoFalsePositivesWithoutCosmics() throws {
        let sim = SimulatedCamera.make(ny: 200, nx: 220, seed: 41)
        let result = try Preprocessor.run(sim.rawImage)
        XCTAssertEqual(result.cosmicCount, 0)
    }

    /// Real SDSS cosmic-ray hits (48 masked pixels in one cut-out): each cut-out is placed at the centre of a
    /// 60x60 frame of the same noise level, so that the gap repair does not act on the cut-out's edges.
    func testRealCosmicHits() throws {
        for band in ["r", "z"] {
            let path = testDataDirectory() + "/cosmics/cosmics-dark-\(band).fits"
            guard FileManager.default.fileExists(atPath: path) else {
                throw XCTSkip("cosmic-ray cut-outs not found at \(path) (set DESISPEC_TESTDATA)")
            }
            let f = try FITSFile.open(path)
            var totalMasked = 0, totalFound = 0, totalFalse = 0
            for name in f.hduNames() where name.hasPrefix("IMAGE-") {
                let suffix = name.dropFirst(6)
                let im = try f.readImage(name, as: Double.self)
                let iv = try f.readImage("IVAR-\(suffix)", as: Double.self)
                let mk = try f.readImage("MASK-\(suffix)", as: Int32.self)
                let cy = im.shape[0], cx = im.shape[1], n = 60, o = 20
                let sorted = iv.data.sorted()
                let medIvar = 0.5 * (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2])
                var pix = [Double](repeating: 0, count: n * n), ivar = [Double](repeating: medIvar, count: n * n)
                var rng = SimulationRandom(seed: 99)
                for i in pix.indices { pix[i] = rng.gaussian() / medIvar.squareRoot() }
                for y in 0..<cy {
                    for x in 0..<cx { pix[(y + o) * n + x + o] = im.data[y * cx + x]; ivar[(y + o) * n + x + o] = iv.data[y * cx + x] }
                }
                let rejector = CosmicRayRejector(psfGradients: CosmicRayRejector.psfGradients(arm: .r))
                let rej = rejector.reject(pix: pix, ivar: ivar, mask: [UInt32](repeating: 0, count: n * n), ny: n, nx: n)
                for y in 0..<cy { for x in 0..<cx {
                    let r = rej[(y + o) * n + x + o]
                    if mk.data[y * cx + x] != 0 { totalMasked += 1; if r { totalFound += 1 } } else if r { totalFalse += 1 }
                } }
            }
            XCTAssertEqual(totalMasked, 48)
            XCTAssertGreaterThanOrEqual(Double(totalFound) / Double(totalMasked), 0.95, "\(band): \(totalFound)/\(totalMasked)")
            XCTAssertLessThanOrEqual(totalFalse, 10, "\(band): \(totalFalse) false positives (the +1 px dilation flags neighbours)")
        }
    }
}

/// The prefilter's eight-lane form (Float images) marks exactly the pixels its scalar form marks: the same image
/// given as Double (the same Float values, so the same Float arithmetic) takes only the scalar loop. Values cover
/// masked and weightless neighbours (NaN neighbour values), negative and zero pixels, peaks on the PSF test's edge,
/// widths around a multiple of eight.
final class CosmicPrefilterLanesTests: XCTestCase {
    func testEightLaneMarksEqualTheScalarMarks() {
        var rng = SimulationRandom(seed: 77)
        let rejector = CosmicRayRejector(psfGradients: CosmicRayRejector.psfGradients(arm: .b))
        for nx in [10, 17, 64, 91] {
            let ny = 9, n = ny * nx
            var pix = [Float](repeating: 0, count: n), ivar = [Float](repeating: 0, count: n)
            var mask = [UInt32](repeating: 0, count: n)
            for i in 0..<n {
                pix[i] = Float(500 * (1 + 0.3 * rng.gaussian()))
                ivar[i] = Float(1 / (500 * (0.5 + rng.uniform())))
                if rng.uniform() < 0.1 { mask[i] = 4 }
                if rng.uniform() < 0.08 { ivar[i] = 0 }
                if rng.uniform() < 0.05 { pix[i] = -pix[i] }
                if rng.uniform() < 0.03 { pix[i] = 0 }
                if rng.uniform() < 0.15 { pix[i] *= Float(1 + 6 * rng.uniform()) }
            }
            let pixD: [Double] = pix.map { Double($0) }, ivarD: [Double] = ivar.map { Double($0) }
            let state = [UInt8](repeating: 0, count: n)
            var lanes = [Bool](), scalar = [Bool]()
            func marks<T: BinaryFloatingPoint>(_ p: [T], _ w: [T]) -> [Bool] {
                var out = [Bool](repeating: false, count: ny * nx)
                p.withUnsafeBufferPointer { pb in w.withUnsafeBufferPointer { wb in mask.withUnsafeBufferPointer { mb in
                    state.withUnsafeBufferPointer { sb in
                        let image = CosmicImage(pix: pb, ivar: wb, mask: mb, state: sb)
                        let row = UnsafeMutableBufferPointer<Bool>.allocate(capacity: nx)
                        let nv = UnsafeMutablePointer<Float>.allocate(capacity: 3 * nx)
                        defer { row.deallocate(); nv.deallocate() }
                        for i0 in 1..<(ny - 1) {
                            row.update(repeating: false)
                            for k in 0..<3 { rejector.neighbourValues(row: i0 - 1 + k, nx: nx, image: image, into: nv + k * nx) }
                            rejector.markFirstPassCandidates(row: i0, nx: nx, image: image, above: nv, here: nv + nx,
                                                             below: nv + 2 * nx, candidate: row)
                            for i1 in 1..<(nx - 1) { out[i0 * nx + i1] = row[i1] }
                        }
                    }
                }}}
                return out
            }
            lanes = marks(pix, ivar)
            scalar = marks(pixD, ivarD)
            XCTAssertEqual(lanes, scalar, "width \(nx)")
            XCTAssertTrue(lanes.contains(true) && lanes.contains(false), "width \(nx): marks of both kinds")
        }
    }
}
