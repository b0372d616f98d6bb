import DESICore
import FITS
import Foundation
import LinearAlgebra
import XCTest

/// applyFiberFlat and subtractSky build the flat and the sky model one fiber at a time (a reused row); these
/// tests compare them bit for bit with the plain forms they replaced (whole-array copies of the flat and model).
final class FlatSkyRowTests: XCTestCase {
    let nspec = 7, nwave = 300

    func randomFrame(camera: String, helio: Double?, seed: UInt64) -> Frame {
        var g = FlatSkyRowRandom(seed: seed)
        let n = nspec * nwave
        let wave = (0..<nwave).map { 6290 + 0.8 * Double($0) }   // covers several sky lines above 5700 A
        let flux = (0..<n).map { _ in Float(g.uniform(-5, 400)) }
        let ivar = (0..<n).map { k in k % 37 == 0 ? 0 : Float(g.uniform(0.001, 2)) }
        let mask = (0..<n).map { k in k % 53 == 0 ? UInt32(4) : 0 }
        var h = FITSHeader()
        h.set("CAMERA", camera)
        if let helio { h.set("HELIOCOR", helio) }
        return Frame(wave: wave, flux: flux, ivar: ivar, mask: mask, header: h)
    }

    func randomFlat(wave: [Double], seed: UInt64) throws -> FiberFlat {
        var g = FlatSkyRowRandom(seed: seed)
        let n = nspec * nwave
        let flat = (0..<n).map { k in k % 41 == 0 ? 0 : g.uniform(0.5, 1.5) }
        // fiber 3 has no good pixel (its flat is kept as stored under HELIOCOR)
        let ivar = (0..<n).map { k in (k % 29 == 0 || k / nwave == 3) ? 0 : g.uniform(10, 1000) }
        let mask = (0..<n).map { k in k % 61 == 0 ? UInt32(1) : 0 }
        return try FiberFlat(wave: wave, flat: flat, ivar: ivar, mask: mask)
    }

    func randomSky(wave: [Double], seed: UInt64) throws -> SkyModel {
        var g = FlatSkyRowRandom(seed: seed)
        let n = nspec * nwave
        let flux = (0..<n).map { _ in g.uniform(0, 300) }
        let ivar = (0..<n).map { k in k % 43 == 0 ? 0 : g.uniform(0.01, 5) }
        let mask = (0..<n).map { k in k % 47 == 0 ? UInt32(8) : 0 }
        let tc = (0..<nspec).map { _ in g.uniform(0.9, 1.1) }
        return try SkyModel(wave: wave, flux: flux, ivar: ivar, mask: mask, throughputCorrections: tc)
    }

    /// The former applyFiberFlat after its checks (whole flat copied, rows replaced under HELIOCOR).
    func plainApplyFiberFlat(_ frame: inout Frame, _ fiberflat: FiberFlat) {
        let nwave = frame.nwave
        var flat = fiberflat.flat
        if let helio = frame.header.double("HELIOCOR") {
            let shifted = fiberflat.wave.map { $0 * helio }
            for f in 0..<fiberflat.nspec {
                let good = (0..<nwave).filter { fiberflat.ivar[f * nwave + $0] > 0 }
                if good.isEmpty { continue }
                let row = Interpolation.linear(x: good.map { shifted[$0] }, y: good.map { fiberflat.flat[f * nwave + $0] }, at: frame.wave)
                for i in 0..<nwave { flat[f * nwave + i] = row[i] }
            }
        }
        for k in 0..<frame.flux.count {
            let c = flat[k], civ = fiberflat.ivar[k]
            let iv = Double(frame.ivar[k]), fl = Double(frame.flux[k])
            if iv > 0 && civ > 0 && c > 0 {
                frame.ivar[k] = Float(1 / (1 / (iv * c * c) + fl * fl / (civ * c * c * c * c)))
            } else {
                frame.ivar[k] = 0
            }
            if c > 0 { frame.flux[k] = Float(fl / c) }
            if c == 0 || civ == 0 || fiberflat.mask[k] != 0 { frame.mask[k] |= SpecMask.badFiberFlat }
        }
    }

    /// The former model part of subtractSky (whole model array), applied after the ivar zeroing, which is unchanged.
    func plainSubtractModel(_ frame: inout Frame, _ sky: SkyModel, applyThroughputCorrection: Bool, lines: Bool) {
        let nspec = frame.nspec, nwave = frame.nwave
        var model = sky.flux
        if let tc = sky.throughputCorrections {
            if applyThroughputCorrection {
                for f in 0..<nspec { for i in 0..<nwave { model[f * nwave + i] *= tc[f] } }
            } else if lines && frame.camera?.arm != .b {
                var inCont = [Bool](repeating: true, count: nwave)
                for line in skyLineWavelengths where line >= 5700 {
                    for i in 0..<nwave where abs(sky.wave[i] - line) <= 2 { inCont[i] = false }
                }
                let idx = (0..<nwave).filter { inCont[$0] }
                if !idx.isEmpty {
                    let xc = idx.map { sky.wave[$0] }
                    for f in 0..<nspec {
                        let cont = Interpolation.linear(x: xc, y: idx.map { sky.flux[f * nwave + $0] }, at: sky.wave)
                        for i in 0..<nwave {
                            let l = max(0, sky.flux[f * nwave + i] - cont[i])
                            model[f * nwave + i] += (tc[f] - 1) * l
                        }
                    }
                }
            }
        }
        for k in 0..<frame.flux.count {
            frame.flux[k] = Float(Double(frame.flux[k]) - model[k])
            frame.ivar[k] = Float(combineIvar(Double(frame.ivar[k]), sky.ivar[k]))
            frame.mask[k] |= sky.mask[k]
        }
    }

    func assertSameBits(_ a: Frame, _ b: Frame, _ what: String) {
        XCTAssertEqual(a.flux.map(\.bitPattern), b.flux.map(\.bitPattern), "\(what): flux")
        XCTAssertEqual(a.ivar.map(\.bitPattern), b.ivar.map(\.bitPattern), "\(what): ivar")
        XCTAssertEqual(a.mask, b.mask, "\(what): mask")
    }

    func testApplyFiberFlatMatchesPlainForm() throws {
        for helio in [nil, 1.0000627270784412, 0.99991] as [Double?] {
            let frame = randomFrame(camera: "r0", helio: helio, seed: 3)
            let flat = try randomFlat(wave: frame.wave, seed: 5)
            var ours = frame, plain = frame
            try applyFiberFlat(&ours, flat)
            plainApplyFiberFlat(&plain, flat)
            assertSameBits(ours, plain, "HELIOCOR \(String(describing: helio))")
        }
    }

    func testSubtractSkyMatchesPlainForm() throws {
        for camera in ["r0", "b0"] {
            for (whole, lines) in [(false, true), (true, true), (false, false)] {
                let frame = randomFrame(camera: camera, helio: nil, seed: 7)
                let sky = try randomSky(wave: frame.wave, seed: 9)
                var ours = frame
                try subtractSky(&ours, sky, applyThroughputCorrection: whole, applyThroughputCorrectionToLines: lines, zeroIvar: false)
                var plain = frame
                plainSubtractModel(&plain, sky, applyThroughputCorrection: whole, lines: lines)
                assertSameBits(ours, plain, "\(camera) whole \(whole) lines \(lines)")
            }
        }
    }
}

/// A small seeded generator (splitmix64) for the random test data.
struct FlatSkyRowRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * Double(next() >> 11) / Double(1 << 53) }
}
