import DESICore
import FITS
import Foundation
import TestSupport
import XCTest
@testable import Sky

/// `--fit-offsets` (desispec fit_offsets): constant + ramp offsets in CCD sectors, fitted with the sky, against the
/// offsets injected into a frame.
final class SkySectorOffsetTests: XCTestCase {
    static let nspec = 48, nwave = 1200

    /// Synthetic trace positions: fiber f at column 4 f + 2, wavelength index i at row 30 + 1.5 i.
    static func traces() -> (x: [Double], y: [Double]) {
        var x = [Double](), y = [Double]()
        for f in 0..<nspec { for i in 0..<nwave { x.append(Double(4 * f + 2)); y.append(30 + 1.5 * Double(i)) } }
        return (x, y)
    }

    /// Sector: rows 900..<2064 (wavelength index 580 to the end), columns 60..<140 (fibers 15 to 34).
    static let sector = CCDOffsetSector(amplifier: "A", key: "OFFCOLSA", rows: 900..<2064, cols: 60..<140)
    static let injected = (constant: 30.0, ramp: 12.0)

    /// A flat-fielded frame (fiber flat `flat`) with the CCD offset constant + ramp * i / i_max divided by the flat
    /// added on the sector's pixels. Returns the frame, the object truth through R, the flat and the noiseless sky
    /// model each fiber should get (R sky + offsets).
    static func frame(seed: UInt64) -> (frame: Frame, objectConvolved: [[Double]], flat: [Double], skyTruth: [Double]) {
        let n = nspec, w = (0..<nwave).map { 6000 + 0.8 * Double($0) }
        let lines = skyLineWavelengths.filter { $0 > w[0] + 5 && $0 < w[nwave - 1] - 5 }
        let sky = w.map { x -> Double in
            var s = 60.0
            for (k, c) in lines.enumerated() { s += Double(800 + 400 * (k % 4)) * exp(-0.5 * pow((x - c) / 0.7, 2)) }
            return s
        }
        let objtype = (0..<n).map { $0 % 3 == 0 ? "SKY" : "TGT" }
        func object(_ f: Int) -> [Double] {
            if objtype[f] == "SKY" { return [Double](repeating: 0, count: nwave) }
            let center = 6100 + 9 * Double(f)
            return w.map { (x: Double) -> Double in 20 + 50 * exp(-0.5 * pow((x - center) / 2, 2)) }
        }
        let obj = (0..<n).map(object)
        let res = gaussianResolution(sigmas: (0..<n).map { 1.2 + 0.1 * sin(Double($0)) }, nwave: nwave)
        let fm = makeFibermap(objtypes: objtype, x: (0..<n).map { Double($0) }, y: (0..<n).map { _ in 0 })
        let out = makeFrame(wave: w, truth: { f in zip(sky, obj[f]).map { $0 + $1 } }, throughput: { _, _ in 1 },
                            resolution: res, readnoise: 3, seed: seed, fibermap: fm)
        var made = out.frame
        let flat = (0..<(n * nwave)).map { k in 0.9 + 0.2 * Double((k / nwave) % 5) / 4 }
        let (x, y) = traces()
        let t = SkySectorTemplates(sectors: [sector], x: x, y: y, nspec: n, nwave: nwave, fiberflat: flat)
        let offset = t.evaluate([injected.constant, injected.ramp])
        for k in 0..<(n * nwave) { made.flux[k] += Float(offset[k]) }
        let objConv = (0..<n).map { res.apply(spec: $0, to: obj[$0]) }
        let skyTruth = (0..<(n * nwave)).map { k in out.noiseless[k] - objConv[k / nwave][k % nwave] + offset[k] }
        return (made, objConv, flat, skyTruth)
    }

    func testTemplatesFollowDesispecSectorMasks() {
        let (x, y) = Self.traces()
        let t = SkySectorTemplates(sectors: [Self.sector], x: x, y: y, nspec: Self.nspec, nwave: Self.nwave, fiberflat: nil)
        XCTAssertEqual(t.count, 2)
        let inside = (0..<Self.nspec).filter { !t.values[0][$0].isEmpty }
        XCTAssertEqual(inside, Array(15...34))
        // rows 900..<2064: 30 + 1.5 i >= 900 from i = 580; < 2064 up to i = 1355 (beyond the frame: the last index)
        let c = t.values[0][20], r = t.values[1][20]
        XCTAssertEqual(c.firstIndex(of: 1), 580)
        XCTAssertEqual(c[579], 0)
        XCTAssertEqual(r[1199], 1, accuracy: 1e-12)
        XCTAssertEqual(r[600], 600.0 / 1199, accuracy: 1e-12)   // i / i_max, no minimum subtracted (as desispec)
        XCTAssertEqual(r[579], 0)
    }

    func testSectorsFromCalibrationKeys() throws {
        var h = FITSHeader()
        h.set("BIASSECA", "[4115:4164,1:2064]"); h.set("CCDSECA", "[1:2057,1:2064]")
        h.set("BIASSECB", "[4165:4214,1:2064]"); h.set("CCDSECB", "[2058:4114,1:2064]")
        let values = ["OFFCOLSA": "1779:2057", "CTECOLSB": "2000:2100,3000:3010"]
        let s = try CCDOffsetSector.sectors(header: h, path: "sm1-r.yaml") { values[$0] }
        XCTAssertEqual(s, [CCDOffsetSector(amplifier: "A", key: "OFFCOLSA", rows: 0..<2064, cols: 1779..<2057),
                           CCDOffsetSector(amplifier: "B", key: "CTECOLSB", rows: 0..<2064, cols: 2057..<2100),
                           CCDOffsetSector(amplifier: "B", key: "CTECOLSB", rows: 0..<2064, cols: 3000..<3010)])
        XCTAssertThrowsError(try CCDOffsetSector.sectors(header: h, path: "sm1-r.yaml") { $0 == "OFFCOLSA" ? "1779-2057" : nil }) {
            XCTAssertTrue("\($0)".contains("cannot decode OFFCOLSA=1779-2057"), "\($0)")
        }
        XCTAssertEqual(try CCDOffsetSector.sectors(header: h, path: "y") { _ in nil }, [])
    }

    func testFittedOffsetsRecoverTheInjectedOnes() throws {
        let (frame, objConv, flat, skyTruth) = Self.frame(seed: 7)
        let (x, y) = Self.traces()
        var o = SkyOptions()
        o.sectorOffsets = SkySectorTemplates(sectors: [Self.sector], x: x, y: y, nspec: Self.nspec, nwave: Self.nwave, fiberflat: flat)
        let logged = LockedLines()
        let with = try computeSky(frame: frame, options: o, log: { logged.append($0) })
        let without = try computeSky(frame: frame)
        // the coefficients, as desispec logs them
        let line = try XCTUnwrap(logged.lines.first { $0.hasPrefix("sectors:") })
        let values = line.split(separator: " ").suffix(2).compactMap { Double($0) }
        XCTAssertEqual(values.count, 2)
        XCTAssertEqual(values[0], Self.injected.constant, accuracy: 1.0, line)
        XCTAssertEqual(values[1], Self.injected.ramp, accuracy: 1.5, line)
        // target fibers in the sector: the model is R sky + the injected offset; the sframe is the object
        var dModel = [Double](), rWith = [Double](), rWithout = [Double]()
        let nw = Self.nwave
        for f in 15...34 where f % 3 != 0 {
            for i in 600..<(nw - 10) where with.ivar[f * nw + i] > 0 {
                let k = f * nw + i
                dModel.append(with.flux[k] - skyTruth[k])
                rWith.append(Double(frame.flux[k]) - with.flux[k] - objConv[f][i])
                rWithout.append(Double(frame.flux[k]) - without.flux[k] - objConv[f][i])
            }
        }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let rms = (dModel.map { $0 * $0 }.reduce(0, +) / Double(dModel.count)).squareRoot()
        // measured (seed 7): coefficients 30.30, 11.43; model - truth mean -0.27, rms 3.2 (the sky model's own noise:
        // sky lines up to 2000 electrons seen by 16 sky fibers); sframe - object mean 0.67 with, 23.8 without
        XCTAssertLessThan(rms, 4, "model vs R sky + injected offsets (offsets ~\(Self.injected.constant + Self.injected.ramp / 2))")
        XCTAssertEqual(mean(dModel), 0, accuracy: 1)
        XCTAssertEqual(mean(rWith), 0, accuracy: 1)
        // without the sector terms a part of the offset stays in the targets' sframes, the rest biases every fiber's sky
        XCTAssertGreaterThan(mean(rWithout), 10, "without --fit-offsets the sector's offset stays in the sframe")
        // wavelengths the sector does not reach: the same sky either way
        XCTAssertEqual(with.flux[3 * nw + 300], without.flux[3 * nw + 300], accuracy: 0.3)
    }

    func testOffsetsNeedAUniformSky() {
        let (frame, _, flat, _) = Self.frame(seed: 3)
        let (x, y) = Self.traces()
        var o = SkyOptions()
        o.angularVariationDegree = 1
        o.sectorOffsets = SkySectorTemplates(sectors: [Self.sector], x: x, y: y, nspec: Self.nspec, nwave: Self.nwave, fiberflat: flat)
        XCTAssertThrowsError(try computeSky(frame: frame, options: o)) {
            XCTAssertTrue("\($0)".contains("uniform sky"), "\($0)")
        }
    }
}

/// Log lines collected from a closure that may be called from several threads.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ s: String) { lock.lock(); stored.append(s); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}
