import DESICore
import FITS
import Foundation
import Simulation
import XCTest

@testable import Preproc

final class PreprocTests: XCTestCase {
    func testSectionKeywordParsing() throws {
        let r = try XCTUnwrap(CCDRegion(section: "[7:56,51:4146]"))
        XCTAssertEqual(r.rows, 50..<4146)
        XCTAssertEqual(r.cols, 6..<56)
        XCTAssertEqual(r.description, "[7:56,51:4146]")
        XCTAssertNotNil(CCDRegion(section: "[1:10, 1:20]"))
        XCTAssertNil(CCDRegion(section: "7:56,51:4146"))
        XCTAssertNil(CCDRegion(section: "[7:56]"))
    }

    func testOverscanStatistics() {
        // a=5: bias of the clipped std, 1 - 2a exp(-a^2/2)/(sqrt(2 pi) erf(a/sqrt 2)) under the root
        XCTAssertEqual(Overscan.clippedStdBias(5), 0.9999925663705352, accuracy: 1e-12)
        XCTAssertEqual(Overscan.clippedStdBias(2), 0.8796256610342398, accuracy: 1e-12)
        var rng = SimulationRandom(seed: 7)
        var pix = (0..<20000).map { _ in (1000 + 2.5 * rng.gaussian()).rounded() }
        pix[5] = 30000; pix[77] = 25000   // outliers are clipped
        let (level, rn) = Overscan.level(pix)
        XCTAssertEqual(level, 1000, accuracy: 0.05)
        XCTAssertEqual(rn, (2.5 * 2.5 + 1.0 / 12).squareRoot(), accuracy: 0.05)
        // OSTEP sees a step of 4 ADU in the middle
        let rows = (0..<400).map { $0 < 200 ? 1000.0 : 1004.0 }
        XCTAssertEqual(Overscan.step(rows), 4, accuracy: 1e-12)
        XCTAssertEqual(Overscan.step(Array(repeating: 3.0, count: 400)), 0)
    }

    /// Pull of the preprocessed image against the true electrons, read noise and gain per amplifier.
    func testPreprocRecoversElectrons() throws {
        let sim = SimulatedCamera.make()
        var opts = PreprocOptions()
        opts.nocosmic = true
        let result = try Preprocessor.run(sim.rawImage, options: opts)
        let img = result.image
        XCTAssertEqual(img.ny, 200); XCTAssertEqual(img.nx, 220)
        let truth = sim.raw.truth.electrons
        for (ai, amp) in sim.config.amplifiers.enumerated() {
            let r = sim.config.regions(amp: ai)
            // (1) against the expectation, with the full noise model (signal and dark Poisson, read noise, ADU rounding);
            // (2) against the collected electrons, with read noise and rounding only
            var s1 = 0.0, q1 = 0.0, s2 = 0.0, q2 = 0.0, n = 0.0
            let meanDark = amp.darkCurrent * sim.raw.truth.exptime
            let rn2 = amp.readNoise * amp.readNoise + amp.gain * amp.gain / 12
            for y in r.ccdRows { for x in r.ccdCols {
                let i = y * img.nx + x
                let mu = Double(sim.expected[i]) + meanDark
                let p1 = (Double(img.pix[i]) - mu) / (mu + rn2).squareRoot()
                let p2 = (Double(img.pix[i]) - Double(truth[i])) / rn2.squareRoot()
                s1 += p1; q1 += p1 * p1; s2 += p2; q2 += p2 * p2; n += 1
            } }
            for (name, s, q) in [("expectation", s1, q1), ("collected", s2, q2)] {
                let mean = s / n, rms = (q / n - mean * mean).squareRoot()
                XCTAssertLessThan(abs(mean), 0.05, "amp \(amp.name) pull vs \(name): mean \(mean)")
                XCTAssertEqual(rms, 1, accuracy: 0.05, "amp \(amp.name) pull vs \(name): rms \(rms)")
            }
            let obsrdn = try XCTUnwrap(img.header.double("OBSRDN\(amp.name)"))
            XCTAssertEqual(obsrdn / amp.readNoise, 1, accuracy: 0.05, "amp \(amp.name) read noise \(obsrdn) vs \(amp.readNoise)")
            XCTAssertEqual(img.header.double("GAIN\(amp.name)"), amp.gain)
            XCTAssertEqual(try XCTUnwrap(img.header.double("OVERSCN\(amp.name)")), amp.biasLevel, accuracy: 0.1)
            XCTAssertEqual(img.header.string("OMETH\(amp.name)"), "AVERAGE")
            // read-noise image is the measured read noise, the variance model max(image,0) + rn^2
            let i0 = r.ccdRows.lowerBound * img.nx + r.ccdCols.lowerBound + 3
            XCTAssertEqual(Double(img.readnoise[i0]), obsrdn, accuracy: 1e-4)
            let v = max(Double(img.pix[i0]), 0) + obsrdn * obsrdn
            XCTAssertEqual(Double(img.ivar[i0]), 1 / v, accuracy: 1e-6 / v)
        }
        XCTAssertEqual(img.mask.filter { $0 != 0 }.count, 0)
        XCTAssertEqual(img.header.string("CAMERA"), "r0")
        XCTAssertEqual(img.header.int("EXPID"), 1234)
    }

    func testNoGainLeavesADU() throws {
        let sim = SimulatedCamera.make(seed: 3)
        var opts = PreprocOptions(); opts.nocosmic = true; opts.nogain = true
        let img = try Preprocessor.run(sim.rawImage, options: opts).image
        let r = sim.config.regions(amp: 3), g = sim.config.amplifiers[3].gain
        var s = 0.0, t = 0.0
        for y in r.ccdRows {
            for x in r.ccdCols { s += Double(img.pix[y * img.nx + x]); t += Double(sim.raw.truth.electrons[y * img.nx + x]) }
        }
        XCTAssertEqual(s / t, 1 / g, accuracy: 0.002)
    }

    func testSaturatedPixelsMasked() throws {
        let hot = [5 * 220 + 7, 150 * 220 + 200, 120 * 220 + 30]
        let sim = SimulatedCamera.make(seed: 4, modify: { e, _ in for i in hot { e[i] = 2e5 } })
        XCTAssertEqual(sim.raw.truth.saturatedPixels, hot.sorted())
        var opts = PreprocOptions(); opts.nocosmic = true
        let img = try Preprocessor.run(sim.rawImage, options: opts).image
        let sat = img.mask.indices.filter { img.mask[$0] & CCDMask.saturated != 0 }
        XCTAssertEqual(sat, hot.sorted())
        for a in sim.config.amplifiers {
            let satE = try XCTUnwrap(img.header.double("SATUELE\(a.name)"))
            XCTAssertEqual(satE, a.gain * (65535 - a.biasLevel), accuracy: 1)
        }
    }

    /// A 200 x 220 camera with a structured bias and dark current (the tests of the calibration images).
    static func calibratedCameraConfig() -> CCDConfig {
        var config = CCDConfig.desiDefault(ny: 200, nx: 220)
        config.biasStructure = 6
        for i in config.amplifiers.indices { config.amplifiers[i].darkCurrent = 0.02 }
        return config
    }

    func testBiasDarkPixflatMask() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SimulationRandom(seed: 11)
        var config = Self.calibratedCameraConfig()
        config.badColumns = [BadColumn(column: 37, extraElectrons: 400)]
        let pixflat = CCDCalibrationImages.pixflat(config, rms: 0.03, rng: &rng)
        let sim = SimulatedCamera.make(seed: 12, pixflat: pixflat, configure: { $0 = config })
        try CCDCalibrationImages.write(CCDCalibrationImages.bias(config, rng: &rng), ny: config.rawNy, nx: config.rawNx,
                                       to: dir + "/bias.fits", kind: "bias", camera: "r0")
        try CCDCalibrationImages.write(CCDCalibrationImages.dark(config), ny: 200, nx: 220,
                                       to: dir + "/dark.fits", kind: "dark", camera: "r0")
        try CCDCalibrationImages.write(pixflat, ny: 200, nx: 220, to: dir + "/pixflat.fits", kind: "pixflat", camera: "r0")
        try CCDCalibrationImages.write(CCDCalibrationImages.mask(config), ny: 200, nx: 220,
                                       to: dir + "/mask.fits", kind: "mask", camera: "r0")
        var opts = PreprocOptions()
        opts.nocosmic = true
        opts.bias = .file(dir + "/bias.fits"); opts.dark = .file(dir + "/dark.fits")
        opts.pixflat = .file(dir + "/pixflat.fits"); opts.mask = .file(dir + "/mask.fits")
        let img = try Preprocessor.run(sim.rawImage, options: opts).image
        // the bad column is masked; elsewhere image ~ signal / pixflat
        for y in 0..<200 { XCTAssertNotEqual(img.mask[y * 220 + 37] & CCDMask.bad, 0) }
        var sum = 0.0, sum2 = 0.0, n = 0.0
        for y in 0..<200 { for x in 0..<220 where x != 37 {
            let i = y * 220 + x
            let pull = (Double(img.pix[i]) - Double(sim.expected[i])) * Double(img.ivar[i]).squareRoot()
            sum += pull; sum2 += pull * pull; n += 1
        } }
        let mean = sum / n, rms = (sum2 / n - mean * mean).squareRoot()
        // the variance model max(image, 0) + rn^2 is computed from the noisy data, so allow a little bias
        XCTAssertLessThan(abs(mean), 0.05, "pull mean \(mean)")
        XCTAssertEqual(rms, 1, accuracy: 0.05, "pull rms \(rms)")
        var deps: [String: String] = [:]
        for k in 0..<10 {
            if let n = img.header.string(String(format: "DEPNAM%02d", k)) { deps[n] = img.header.string(String(format: "DEPVER%02d", k)) }
        }
        XCTAssertEqual(deps["CCD_CALIB_BIAS"], "bias.fits")
        XCTAssertEqual(deps["CCD_CALIB_PIXFLAT"], "pixflat.fits")
    }

    /// The READNOISE plane computed a band of rows at a time (what the preproc command writes) holds the values the
    /// pixel pass stores, with a bias (its noise), a dark (its noise) and a pixel flat with unusable (<= 0.001) and low
    /// values; without the image-sized array the image has none, and the file written from the plane holds the same.
    func testReadNoisePlaneEqualsThePixelPassPlane() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SimulationRandom(seed: 31)
        let config = Self.calibratedCameraConfig()
        var pixflat = CCDCalibrationImages.pixflat(config, rms: 0.03, rng: &rng)
        let sim = SimulatedCamera.make(seed: 32, pixflat: pixflat, configure: { $0 = config })
        for (y, x) in [(10, 10), (150, 200)] { pixflat[y * 220 + x] = 0 }
        for (y, x) in [(20, 30), (120, 100)] { pixflat[y * 220 + x] = 0.0005 }
        for (y, x) in [(40, 50), (199, 219)] { pixflat[y * 220 + x] = 0.05 }
        try CCDCalibrationImages.write(CCDCalibrationImages.bias(config, rng: &rng), ny: config.rawNy, nx: config.rawNx,
                                       to: dir + "/bias.fits", kind: "bias", camera: "r0")
        try CCDCalibrationImages.write(CCDCalibrationImages.dark(config), ny: 200, nx: 220,
                                       to: dir + "/dark.fits", kind: "dark", camera: "r0")
        try CCDCalibrationImages.write(pixflat, ny: 200, nx: 220, to: dir + "/pixflat.fits", kind: "pixflat", camera: "r0")
        var opts = PreprocOptions()
        opts.bias = .file(dir + "/bias.fits"); opts.dark = .file(dir + "/dark.fits"); opts.pixflat = .file(dir + "/pixflat.fits")
        let held = try Preprocessor.run(sim.rawImage, options: opts)
        XCTAssertEqual(held.image.readnoise.count, 200 * 220)
        XCTAssertTrue(held.image.readnoise.contains { $0 > 0 })
        XCTAssertEqual(held.readNoise.values(), held.image.readnoise)
        // the flat of 0 and of 0.0005 does not divide, the flat of 0.05 does (20x its neighbours')
        XCTAssertLessThan(held.image.readnoise[150 * 220 + 200], 2 * held.image.readnoise[150 * 220 + 201])
        XCTAssertLessThan(held.image.readnoise[20 * 220 + 30], 2 * held.image.readnoise[20 * 220 + 31])
        XCTAssertGreaterThan(held.image.readnoise[40 * 220 + 50], 10 * held.image.readnoise[40 * 220 + 51])
        opts.readNoiseImage = false
        let lean = try Preprocessor.run(sim.rawImage, options: opts)
        XCTAssertEqual(lean.image.readnoise, [])
        XCTAssertEqual(lean.image.pix, held.image.pix)
        XCTAssertEqual(lean.image.ivar, held.image.ivar)
        XCTAssertEqual(lean.image.mask, held.image.mask)
        XCTAssertEqual(lean.readNoise.values(), held.image.readnoise)
        // rows of any band agree with the whole plane
        var band = [Float](repeating: -1, count: 7 * 220)
        band.withUnsafeMutableBufferPointer { lean.readNoise.rows(93..<100, into: $0) }
        XCTAssertEqual(band, Array(held.image.readnoise[(93 * 220)..<(100 * 220)]))
        let out = dir + "/preproc-r0-00001234.fits"
        let writer = PreprocFileWriter(out)
        try writer.writeImageAndIvar(pix: lean.image.pix, ivar: lean.image.ivar, ny: 200, nx: 220, header: lean.image.header)
        try writer.finish(mask: lean.image.mask) { rows, out in lean.readNoise.rows(rows, into: out) }
        let back = try Image.read(out)
        XCTAssertEqual(back.readnoise, held.image.readnoise)
        XCTAssertEqual(back.mask, held.image.mask)
        let f = try FITSFile.open(out)
        try f.moveTo(name: "READNOISE")
        XCTAssertEqual(try f.checksumState().data, .correct)
        XCTAssertEqual(try f.checksumState().hdu, .correct)
    }

    func testRawFileRoundTripAndPreprocFile() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sim = SimulatedCamera.make(seed: 21)
        let primary = RawExposureWriter.primaryHeader(night: 20240101, expid: 1234, exptime: 900)
        let path = dir + "/desi-00001234.fits.fz"
        try RawExposureWriter.writeRawExposure(path: path, primaryHeader: primary, cameras: [sim.raw])
        let raw = try RawImage.read(path: path, camera: "r0")
        XCTAssertEqual(raw.ny, sim.raw.ny); XCTAssertEqual(raw.nx, sim.raw.nx)
        XCTAssertEqual(raw.data, sim.raw.data.map(Float.init))
        XCTAssertEqual(raw.header.int("NIGHT"), 20240101)
        XCTAssertEqual(raw.header.string("BIASSECB"), sim.raw.header.string("BIASSECB"))
        let result = try Preprocessor.run(raw)
        let out = dir + "/preproc-r0-00001234.fits"
        var written = result.image
        written.header.addHistory("desispec-swift test preproc")
        try written.write(to: out)
        let back = try Image.read(out)
        XCTAssertEqual(back.pix, result.image.pix)
        XCTAssertEqual(back.ivar, result.image.ivar)
        XCTAssertEqual(back.mask, result.image.mask)
        XCTAssertEqual(back.readnoise, result.image.readnoise)
        XCTAssertEqual(back.header.string("CAMERA"), "r0")
    }

    /// The preproc command writes IMAGE and IVAR while the cosmic rays are searched: the file holds exactly what a
    /// write after the whole preprocessing holds (cosmic-ray bits included), and an error in the concurrent write
    /// is thrown by the preprocessing and leaves no file.
    func testImageWrittenDuringTheCosmicRaySearch() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sim = SimulatedCamera.make(seed: 23, modify: { electrons, _ in
            for (y, x) in [(50, 60), (120, 33), (150, 181)] { electrons[y * 220 + x] += 5000; electrons[y * 220 + x + 1] += 3000 }
        })
        let plain = try Preprocessor.run(sim.rawImage)
        XCTAssertGreaterThan(plain.cosmicCount, 0)
        let out = dir + "/preproc-r0-00001234.fits"
        let writer = PreprocFileWriter(out)
        let result = try Preprocessor.run(sim.rawImage) { final in
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
            try writer.writeImageAndIvar(pix: final.pix, ivar: final.ivar, ny: final.ny, nx: final.nx, header: final.header)
        }
        try writer.finish(mask: result.image.mask, readnoise: result.image.readnoise)
        let back = try Image.read(out)
        XCTAssertEqual(back.pix, plain.image.pix)
        XCTAssertEqual(back.ivar, plain.image.ivar)
        XCTAssertEqual(back.mask, plain.image.mask)
        XCTAssertEqual(back.mask.filter { $0 & CCDMask.cosmic != 0 }.count, plain.cosmicCount)
        XCTAssertEqual(back.readnoise, plain.image.readnoise)
        XCTAssertEqual(back.header.string("CAMERA"), "r0")

        struct DiskFull: Error {}
        let failed = dir + "/preproc-r0-00001235.fits"
        do {
            let failing = PreprocFileWriter(failed)
            XCTAssertThrowsError(try Preprocessor.run(sim.rawImage) { final in
                try failing.writeImageAndIvar(pix: final.pix, ivar: final.ivar, ny: final.ny, nx: final.nx, header: final.header)
                throw DiskFull()
            }) { XCTAssertTrue($0 is DiskFull, "\($0)") }
        }
        // a mask value above 16 bits (the MASK HDU is int16) fails the write, naming the pixel; nothing is left
        do {
            let tooWide = PreprocFileWriter(dir + "/preproc-r0-00001236.fits")
            try tooWide.writeImageAndIvar(pix: plain.image.pix, ivar: plain.image.ivar, ny: plain.image.ny, nx: plain.image.nx,
                                          header: plain.image.header)
            var mask = plain.image.mask
            mask[777] = 1 << 16
            XCTAssertThrowsError(try tooWide.finish(mask: mask, readnoise: plain.image.readnoise)) {
                XCTAssertTrue("\($0)".contains("mask value 65536 at pixel 777"), "\($0)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["preproc-r0-00001234.fits"])
    }

    func testLibraryErrors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sim = SimulatedCamera.make(ny: 40, nx: 44, seed: 5)
        let path = dir + "/desi-00000005.fits.fz"
        try RawExposureWriter.writeRawExposure(path: path,
                                               primaryHeader: RawExposureWriter.primaryHeader(night: 20240101, expid: 5, exptime: 10),
                                               cameras: [sim.raw])
        XCTAssertThrowsError(try RawImage.read(path: path, camera: "b1")) { e in
            XCTAssertTrue("\(e)".contains("camera b1 not in file"), "\(e)")
        }
        XCTAssertThrowsError(try RawImage.read(path: dir + "/missing.fits", camera: "r0"))
        // truncated file
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = dir + "/truncated.fits.fz"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try RawImage.read(path: cut, camera: "r0")) { e in XCTAssertTrue("\(e)".contains(cut), "\(e)") }
        // missing section keyword
        var raw = sim.rawImage
        raw.header.remove("CCDSECC")
        XCTAssertThrowsError(try Preprocessor.run(raw)) { e in XCTAssertTrue("\(e)".contains("CCDSECC"), "\(e)") }
        raw = sim.rawImage
        raw.header.set("DATASECA", "[8:2064,1:9999]")
        XCTAssertThrowsError(try Preprocessor.run(raw)) { e in XCTAssertTrue("\(e)".contains("DATASECA"), "\(e)") }
        raw = sim.rawImage
        raw.data[100] = .nan
        XCTAssertThrowsError(try Preprocessor.run(raw)) { e in XCTAssertTrue("\(e)".contains("non-finite"), "\(e)") }
        raw = sim.rawImage
        var opts = PreprocOptions(); opts.bias = .array([0, 1, 2])
        XCTAssertThrowsError(try Preprocessor.run(raw, options: opts)) { e in XCTAssertTrue("\(e)".contains("bias"), "\(e)") }
    }

    func testCalibrationConfigSelection() throws {
        let yaml = testDataDirectory() + "/calib/calib-sm1-r.yaml"
        guard FileManager.default.fileExists(atPath: yaml) else { throw XCTSkip("test data not found at \(yaml) (set DESISPEC_TESTDATA)") }
        var h = FITSHeader()
        h.set("CAMERA", "r1"); h.set("SPECID", 1); h.set("NIGHT", 20230101); h.set("DETECTOR", "M1-12")
        h.set("CCDCFG", "default_lbnl_20210128.cfg"); h.set("CCDTMING", "flatdark_lbnl_timing.txt")
        let c = try CalibrationConfig.select(yamlPath: yaml, headers: [h], directory: "/calib")
        XCTAssertEqual(c.version, "V20221108")
        XCTAssertEqual(c.double("GAINA"), 1.802)
        XCTAssertEqual(c.file("BIAS"), "/calib/ccd/bias-sm1-r4-20221109.fits.gz")
        h.set("NIGHT", 20220301); h.set("DETECTOR", "LBNL-PE-21"); h.set("CCDCFG", "LBNL-PE-21-20211015.cfg")
        let old = try CalibrationConfig.select(yamlPath: yaml, headers: [h])
        XCTAssertEqual(old.version, "V20220201")
        XCTAssertEqual(old.double("CROSSTALKBD"), 9.12595e-05)
        XCTAssertEqual(old.bool("USE_ORSEC"), true)
        h.set("DETECTOR", "nonexistent")
        XCTAssertThrowsError(try CalibrationConfig.select(yamlPath: yaml, headers: [h]))
    }
}

final class PreprocCalibrationTests: XCTestCase {
    /// A calibration config written like a DESI_SPECTRO_CALIB yaml for the simulated camera.
    func config(_ extra: String, dir: String) throws -> CalibrationConfig {
        let yaml = """
        sm0-r:
          VSIM:
            DATE-OBS-BEGIN: 20200101
            DATE-OBS-END: None
            DETECTOR: M1-12
        \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
        let path = dir + "/sm0-r.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        var h = FITSHeader()
        h.set("CAMERA", "r0"); h.set("SPECID", 0); h.set("NIGHT", 20240101); h.set("DETECTOR", "M1-12")
        return try CalibrationConfig.select(yamlPath: path, headers: [h])
    }

    /// Overscan per row (calibration USE_ORSEC): a 6 ADU bias jump in amp D is removed row by row.
    func testPerRowOverscanRemovesBiasJump() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sim = SimulatedCamera.make(ny: 240, nx: 220, seed: 51, configure: { $0.biasSteps = [BiasStep(amp: 3, row: 60, adu: 6)] })
        var opts = PreprocOptions(); opts.nocosmic = true
        let average = try Preprocessor.run(sim.rawImage, options: opts).image
        opts.calibration = try config("USE_ORSEC: true", dir: dir)
        let perRow = try Preprocessor.run(sim.rawImage, options: opts).image
        XCTAssertEqual(average.header.string("OMETHD"), "AVERAGE")
        XCTAssertEqual(perRow.header.string("OMETHD"), "PER_ROW")
        XCTAssertEqual(perRow.header.string("OMETHA"), "AVERAGE")
        XCTAssertEqual(try XCTUnwrap(perRow.header.double("OSTEPD")), 6, accuracy: 0.5)
        XCTAssertNotEqual(perRow.mask[230 * 220 + 200] & CCDMask.badReadnoise, 0, "OSTEP > 5 ADU masks the amplifier")
        let r = sim.config.regions(amp: 3), g = sim.config.amplifiers[3].gain
        func meanResidual(_ img: Image, rows: Range<Int>) -> Double {
            var s = 0.0, n = 0.0
            for y in rows { for x in r.ccdCols { s += Double(img.pix[y * 220 + x] - sim.raw.truth.electrons[y * 220 + x]); n += 1 } }
            return s / n
        }
        let low = r.ccdRows.lowerBound..<(r.ccdRows.lowerBound + 60), high = (r.ccdRows.lowerBound + 60)..<r.ccdRows.upperBound
        // average overscan: +-3 ADU errors on each side of the jump; per row: no jump left. USE_ORSEC also removes the
        // level of the overscan rows (ORSEC, here without the jump) minus the average overscan: -3 ADU, i.e. +3 g e-.
        XCTAssertEqual(meanResidual(average, rows: low), -6 * g * 60 / 120, accuracy: 0.3)
        XCTAssertEqual(meanResidual(average, rows: high), 6 * g * 60 / 120, accuracy: 0.3)
        XCTAssertEqual(meanResidual(perRow, rows: high) - meanResidual(perRow, rows: low), 0, accuracy: 0.3)
        XCTAssertEqual(meanResidual(perRow, rows: low), 3 * g, accuracy: 0.3)
    }

    /// Crosstalk injected by the simulator (1% from A into B, 0.5% from D into A) is removed by the CROSSTALK keys.
    func testCrosstalkCorrection() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sim = SimulatedCamera.make(ny: 200, nx: 220, seed: 52, peak: 3000, configure: {
            $0.crosstalk = [Crosstalk(from: 0, to: 1, fraction: 0.01), Crosstalk(from: 3, to: 0, fraction: 0.005)]
        })
        var opts = PreprocOptions(); opts.nocosmic = true
        let raw = try Preprocessor.run(sim.rawImage, options: opts).image
        opts.calibration = try config("CROSSTALKAB: 0.01\nCROSSTALKDA: 0.005", dir: dir)
        let corrected = try Preprocessor.run(sim.rawImage, options: opts).image
        for (amp, name) in [(1, "B"), (0, "A")] {
            let r = sim.config.regions(amp: amp)
            var before = 0.0, after = 0.0, n = 0.0
            for y in r.ccdRows { for x in r.ccdCols {
                let i = y * 220 + x, t = Double(sim.raw.truth.electrons[i])
                before += Double(raw.pix[i]) - t; after += Double(corrected.pix[i]) - t; n += 1
            } }
            XCTAssertGreaterThan(before / n, 1.0, "amp \(name) carries crosstalk before correction")
            XCTAssertEqual(after / n, 0, accuracy: 0.1, "amp \(name) after correction")
        }
    }
}
