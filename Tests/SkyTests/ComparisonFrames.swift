import DESICore
import FITS
import Foundation
import Sky
import TestSupport
import XCTest

/// Writes the synthetic frames that scripts/compare_fiberflat.py, scripts/compare_sky.py and scripts/bench/calib.sh
/// run through both desispec and this package. Runs only when DESISPEC_TEST_OUT names a folder;
/// DESISPEC_TEST_NSPEC and DESISPEC_TEST_NWAVE set the size (default 50 x 1000).
final class ComparisonFramesWriter: XCTestCase {
    func testWriteComparisonFrames() throws {
        let env = ProcessInfo.processInfo.environment
        guard let out = env["DESISPEC_TEST_OUT"] else { throw XCTSkip("DESISPEC_TEST_OUT not set: no comparison frames written") }
        let nspec = Int(env["DESISPEC_TEST_NSPEC"] ?? "") ?? 50
        let nwave = Int(env["DESISPEC_TEST_NWAVE"] ?? "") ?? 1000
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let wave = (0..<nwave).map { 5800 + 0.8 * Double($0) }
        let sigmas = (0..<nspec).map { 1.0 + 0.5 * Double(($0 * 37) % nspec) / Double(max(1, nspec - 1)) }
        let res = gaussianResolution(sigmas: sigmas, nwave: nwave)
        func throughput(_ f: Int, _ i: Int) -> Double {
            (0.85 + 0.3 * Double((f * 13) % nspec) / Double(nspec)) * (1 + 0.04 * sin(Double(f)) * (Double(i) / Double(nwave) - 0.5))
        }
        let isSky = (0..<nspec).map { $0 % 5 == 0 }
        var rng = TestRandom(seed: 5)
        let fm = makeFibermap(objtypes: isSky.map { $0 ? "SKY" : "TGT" }, x: (0..<nspec).map { _ in -200 + 400 * rng.uniform() },
                              y: (0..<nspec).map { _ in -200 + 400 * rng.uniform() })
        // flat lamp
        let lamp = wave.map { 8e4 * (1 + 0.3 * sin(($0 - 5800) / 300)) }
        let flat = makeFrame(wave: wave, truth: { _ in lamp }, throughput: throughput, resolution: res, readnoise: 3,
                             seed: 21, fibermap: fm).frame
        try writeFrame(flat, flavor: "flat", expid: 1, to: out + "/frame-r0-00000001.fits")
        // science: sky with lines, objects in the target fibers
        let lines = skyLineWavelengths.filter { $0 > wave[0] + 2 && $0 < wave[nwave - 1] - 2 }
        let sky = wave.map { w -> Double in
            var s = 150 * (1 + 0.2 * (w - 6800) / 1000)
            for (n, c) in lines.enumerated() { s += (200 + 1500 * Double((n * 7) % 5) / 4) * exp(-0.5 * pow((w - c) / 0.4, 2)) }
            return s
        }
        func object(_ f: Int) -> [Double] {
            let center = 6000 + 20 * Double(f % 50)
            let level = 10 + Double(f % 7) * 3
            return wave.map { (w: Double) -> Double in level + 60 * exp(-0.5 * pow((w - center) / 1.5, 2)) }
        }
        let science = makeFrame(wave: wave, truth: { f in isSky[f] ? sky : zip(sky, object(f)).map { $0 + $1 } },
                                throughput: throughput, resolution: res, readnoise: 3, seed: 22, fibermap: fm).frame
        try writeFrame(science, flavor: "science", expid: 2, to: out + "/frame-r0-00000002.fits")
    }

    func writeFrame(_ frame: Frame, flavor: String, expid: Int, to path: String) throws {
        var h = frame.header
        h.set("FLAVOR", flavor); h.set("EXPID", expid); h.set("NIGHT", 20201214); h.set("SPECMIN", 0)
        h.set("BUNIT", "electron/Angstrom")
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(frame.flux, shape: [frame.nspec, frame.nwave], name: "FLUX", header: h)
            try f.writeImage(frame.ivar, shape: [frame.nspec, frame.nwave], name: "IVAR")
            try f.writeImage(frame.mask, shape: [frame.nspec, frame.nwave], name: "MASK")
            var hw = FITSHeader(); hw.set("BUNIT", "Angstrom")
            try f.writeImage(frame.wave, shape: [frame.nwave], name: "WAVELENGTH", header: hw)
            let r = frame.resolution!
            try f.writeImage(r.data, shape: [r.nspec, r.ndiag, r.nwave], name: "RESOLUTION")
            try f.writeTable(frame.fibermap!.table, name: "FIBERMAP")
        }
    }
}
