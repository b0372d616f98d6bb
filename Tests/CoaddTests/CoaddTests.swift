import DESICore
import FITS
import Foundation
import LinearAlgebra
import XCTest
@testable import Coadd

final class CoaddTests: XCTestCase {
    /// Coadding N exposures: ivar is the sum of the inputs and the flux matches R * truth within the noise.
    func testExposureCoaddIvarAndChi2() throws {
        let wave = Sim.grid(3950, 0.8, 200)
        var (s, conv) = try Sim.exposures(ntarget: 3, nexp: 4, bands: [("b", wave)], seed: 7)
        s.scores = FITSTable(columns: [FITSColumn("TSNR2_ELG_B", .float((0..<12).map { Float($0) })),
                                       FITSColumn("TSNR2_ELG_R", .float([Float](repeating: 1, count: 12)))])
        let c = try Coaddition.coadd(s, cosmicsNsig: 0)
        XCTAssertEqual(c.numSpectra, 3)
        let b = c.data["b"]!, nw = wave.count
        var chi2 = 0.0
        for t in 0..<3 {
            let expected = (0..<4).map { e -> Double in
                let sig = 0.5 + 0.3 * Double(e) + 0.1 * Double(t); return 1 / (sig * sig)
            }.reduce(0, +)
            for i in 0..<nw {
                XCTAssertEqual(Double(b.ivar[t * nw + i]), expected, accuracy: expected * 0.01)
                let d = Double(b.flux[t * nw + i]) - conv["b"]![t][i]
                chi2 += d * d * Double(b.ivar[t * nw + i])
            }
        }
        let chi2dof = chi2 / Double(3 * nw)
        print("exposure coadd: chi2/dof vs R*truth = \(chi2dof)")
        XCTAssertEqual(chi2dof, 1.0, accuracy: 0.2, "chi2/dof of coadd vs truth = \(chi2dof)")
        // Identical resolutions combine to themselves.
        let r0 = s.data["b"]!.resolution!, rc = b.resolution!
        for k in stride(from: 0, to: 11 * nw, by: 37) where k % nw > 6 && k % nw < nw - 6 {
            XCTAssertEqual(rc.data[k], r0.data[k], accuracy: 1e-5)
        }
        // Fibermap: one row per target, COADD_NUMEXP 4, EXP_FIBERMAP with the 12 exposures.
        XCTAssertEqual(c.fibermap["COADD_NUMEXP"]?.data.ints, [4, 4, 4])
        XCTAssertEqual(c.fibermap["COADD_NUMNIGHT"]?.data.ints, [2, 2, 2])
        XCTAssertEqual(c.fibermap["COADD_EXPTIME"]?.data.doubles, [3600, 3600, 3600])
        XCTAssertEqual(c.expFibermap?.rowCount, 12)
        XCTAssertNil(c.fibermap["NIGHT"])
        // SCORES: median S/N per Angstrom^0.5 in the b window.
        XCTAssertNotNil(c.scores?["MEDIAN_COADD_SNR_B"])
        // TSNR2 summed over the exposures of each target (rows t, t+3, t+6, t+9), then over bands.
        XCTAssertEqual(c.scores?["TSNR2_ELG_B"]?.data.doubles, [18, 22, 26])
        XCTAssertEqual(c.scores?["TSNR2_ELG"]?.data.doubles, [22, 26, 30])
    }

    /// A cosmic ray in one exposure is rejected with --nsig 4, and the other pixels keep their full ivar.
    func testCosmicRejection() throws {
        let wave = Sim.grid(3600, 0.8, 150)
        var (s, conv) = try Sim.exposures(ntarget: 1, nexp: 5, bands: [("b", wave)], seed: 3)
        let nw = wave.count
        s.data["b"]!.flux[2 * nw + 70] += 200
        let c = try Coaddition.coadd(s, cosmicsNsig: 4)
        let b = c.data["b"]!
        XCTAssertEqual(Double(b.flux[70]), conv["b"]![0][70], accuracy: 2.0, "cosmic not rejected")
        let full = (0..<5).map { e -> Double in let sig = 0.5 + 0.3 * Double(e); return 1 / (sig * sig) }.reduce(0, +)
        XCTAssertLessThan(Double(b.ivar[70]), full * 0.999)
        let untouched = (0..<nw).filter { Double(b.ivar[$0]) >= full * 0.999 }.count
        XCTAssertGreaterThan(untouched, nw - 8)
    }

    /// Exposures with a fatal FIBERSTATUS bit for a band are left out, and the bits match desispec's.
    func testFiberStatusExclusion() throws {
        XCTAssertEqual(Coaddition.badFiberStatusBits(band: "b"), 8323844)
        XCTAssertEqual(Coaddition.badFiberStatusBits(band: "r"), 12518148)
        XCTAssertEqual(Coaddition.badFiberStatusBits(band: "z"), 20906756)
        let wave = Sim.grid(3600, 0.8, 50)
        var (s, _) = try Sim.exposures(ntarget: 1, nexp: 3, bands: [("b", wave)], seed: 5)
        s.fibermap["FIBERSTATUS"] = FITSColumn("FIBERSTATUS", .int32([0, Int32(FiberStatus.badAmpB), 0]))
        let c = try Coaddition.coadd(s, cosmicsNsig: 0)
        let expected = 1 / (0.5 * 0.5) + 1 / (1.1 * 1.1)
        XCTAssertEqual(Double(c.data["b"]!.ivar[10]), expected, accuracy: expected * 1e-4)
        XCTAssertEqual(c.expFibermap?["IN_COADD_B"]?.data.ints, [1, 0, 1])
        XCTAssertEqual(c.expFibermap?["IN_COADD_R"]?.data.ints, [1, 1, 1])
    }

    /// The camera coadd is continuous across the b/r and r/z overlaps and sums ivar there.
    func testCameraCoaddContinuity() throws {
        let step = 0.8
        let wb = Sim.grid(3600, step, 150), wr = Sim.grid(3600 + 120 * step, step, 150), wz = Sim.grid(3600 + 240 * step, step, 150)
        let (s, _) = try Sim.exposures(ntarget: 2, nexp: 3, bands: [("b", wb), ("r", wr), ("z", wz)], seed: 11)
        let c = try Coaddition.coadd(s, cosmicsNsig: 0)
        let cc = try Coaddition.coaddCameras(c)
        XCTAssertEqual(cc.bands, ["brz"])
        let d = cc.data["brz"]!
        XCTAssertEqual(d.nwave, 390)
        let nw = d.nwave
        var chi2 = 0.0
        // Truth of the combined grid convolved with the same resolution (edges excluded).
        let res = Sim.resolution(nspec: 1, nwave: nw, sigma: 1.2)
        for t in 0..<2 {
            let conv = res.apply(spec: 0, to: d.wave.map { Sim.truth($0, target: t) })
            for i in 6..<(nw - 6) {
                let e = Double(d.flux[t * nw + i]) - conv[i]
                chi2 += e * e * Double(d.ivar[t * nw + i])
            }
            // Overlap pixel: ivar of b plus ivar of r.
            let ib = Double(c.data["b"]!.ivar[t * 150 + 130]), ir = Double(c.data["r"]!.ivar[t * 150 + 10])
            XCTAssertEqual(Double(d.ivar[t * nw + 130]), ib + ir, accuracy: (ib + ir) * 1e-5)
            // No jump at the band edges: mean residual over 20 pixels on each side within 4 sigma.
            for edge in [150, 270] {
                for range in [(edge - 20)..<edge, edge..<(edge + 20)] {
                    var m = 0.0, w = 0.0
                    for i in range {
                        m += (Double(d.flux[t * nw + i]) - conv[i]) * Double(d.ivar[t * nw + i]); w += Double(d.ivar[t * nw + i])
                    }
                    XCTAssertLessThan(abs(m / w), 4 / w.squareRoot(), "jump near pixel \(edge)")
                }
            }
        }
        let chi2dof = chi2 / Double(2 * (nw - 12))
        print("camera coadd: chi2/dof vs R*truth = \(chi2dof)")
        XCTAssertEqual(chi2dof, 1.0, accuracy: 0.2)
        // Misaligned grids are refused.
        var bad = c
        bad.data["r"]!.wave = wr.map { $0 + 0.3 }
        XCTAssertThrowsError(try Coaddition.coaddCameras(bad)) { XCTAssertTrue("\($0)".contains("not aligned")) }
    }

    /// Spectro-perfect resampling keeps flux = R_new * truth (noise-free), with resolution rows of unit sum.
    func testSpectroPerfectResampling() throws {
        let wave = Sim.grid(3600, 0.6, 300)
        let (s, _) = try Sim.exposures(ntarget: 1, nexp: 2, bands: [("b", wave)], seed: 2, noise: false)
        let c = try Coaddition.coadd(s, cosmicsNsig: 0)
        let newWave = Sim.grid(3600, 0.8, 225)
        let r = try SpectroPerfResample.resample(c, wave: newWave)
        let d = r.data["b"]!, nw = newWave.count
        let truth = newWave.map { Sim.truth($0, target: 0) }
        let rt = d.resolution!.apply(spec: 0, to: truth)
        var maxRel = 0.0
        for i in 20..<(nw - 20) {
            maxRel = max(maxRel, abs(Double(d.flux[i]) - rt[i]) / rt[i])
            XCTAssertGreaterThan(d.ivar[i], 0)
        }
        print("spectro-perfect resampling: max |flux - R_new truth| / R_new truth = \(maxRel)")
        XCTAssertLessThan(maxRel, 0.01, "max relative deviation from R_new*truth: \(maxRel)")
        // Each row of the new resolution sums to 1.
        let ones = d.resolution!.apply(spec: 0, to: [Double](repeating: 1, count: nw))
        for i in 20..<(nw - 20) { XCTAssertEqual(ones[i], 1, accuracy: 1e-3) }
        // ivar: the information is conserved: sum over new pixels ~ sum over old (x old/new pixel ratio not needed,
        // ivar per bin scales with the bin width): mean ivar_new / mean ivar_old ~ 0.8/0.6.
        let oldMean = c.data["b"]!.ivar[20..<280].map(Double.init).reduce(0, +) / 260
        let newMean = d.ivar[20..<(nw - 20)].map(Double.init).reduce(0, +) / Double(nw - 40)
        XCTAssertEqual(newMean / oldMean, 0.8 / 0.6, accuracy: 0.1)
    }

    /// Write then read gives back the same spectra, and the DESI HDU names.
    func testSpectraRoundTrip() throws {
        let (s, _) = try Sim.exposures(ntarget: 2, nexp: 2, bands: [("b", Sim.grid(3600, 0.8, 40)), ("r", Sim.grid(5800, 0.8, 30))])
        var s2 = s
        s2.scores = FITSTable(columns: [FITSColumn("TSNR2_ELG_B", .float([1, 2, 3, 4]))])
        s2.header.set("TILEID", 1000)
        let dir = Sim.tempDir(), path = dir + "/spectra-0-1000-20201214.fits"
        try s2.write(path, history: ["test"])
        let f = try FITSFile.open(path)
        let expectedHDUs = ["PRIMARY", "FIBERMAP", "B_WAVELENGTH", "B_FLUX", "B_IVAR", "B_MASK", "B_RESOLUTION",
                            "R_WAVELENGTH", "R_FLUX", "R_IVAR", "R_MASK", "R_RESOLUTION", "SCORES"]
        XCTAssertEqual(f.hduNames().map { $0.uppercased() },
                       expectedHDUs.map { $0 == "PRIMARY" ? f.hduNames()[0].uppercased() : $0 })
        try f.close()
        let r = try Spectra.read(path)
        XCTAssertEqual(r.bands, ["b", "r"])
        for b in ["b", "r"] {
            XCTAssertEqual(r.data[b]!.wave, s.data[b]!.wave)
            XCTAssertEqual(r.data[b]!.flux, s.data[b]!.flux)
            XCTAssertEqual(r.data[b]!.ivar, s.data[b]!.ivar)
            XCTAssertEqual(r.data[b]!.mask!, s.data[b]!.mask!)
            XCTAssertEqual(r.data[b]!.resolution, s.data[b]!.resolution)
        }
        XCTAssertEqual(r.targetIDRows, s.targetIDRows)
        XCTAssertEqual(r.fibermap["OBJTYPE"]?.data, .string(["TGT", "TGT", "TGT", "TGT"]))
        XCTAssertEqual(r.scores?["TSNR2_ELG_B"]?.data.doubles, [1, 2, 3, 4])
        XCTAssertEqual(r.header.int("TILEID"), 1000)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Grouping frames: rows per exposure, exposure columns added, healpix selection, grid mismatch refused.
    func testGroupingFrames() throws {
        func frame(cam: String, expid: Int, wave: [Double], fibers: Int = 4) -> FrameInput {
            let n = fibers * wave.count
            var h = FITSHeader(); h.set("CAMERA", cam); h.set("NIGHT", 20201214); h.set("EXPID", expid)
            h.set("TILEID", 1000); h.set("EXPTIME", 900.0)
            let fm = FITSTable(columns: [FITSColumn("TARGETID", .int64((0..<fibers).map { 100 + Int64($0) })),
                                         FITSColumn("FIBER", .int32((0..<fibers).map(Int32.init))),
                                         FITSColumn("TARGET_RA", .double([10.0, 10.0, 200.3, 200.3])),
                                         FITSColumn("TARGET_DEC", .double([-30, -30, 60, 60]))])
            let f = Frame(wave: wave, flux: [Float](repeating: Float(expid), count: n), ivar: [Float](repeating: 1, count: n),
                          mask: [UInt32](repeating: 0, count: n), resolution: Sim.resolution(nspec: fibers, nwave: wave.count, sigma: 1),
                          fibermap: Fibermap(table: fm), header: h)
            return FrameInput(frame: f, path: "cframe-\(cam)-\(expid).fits")
        }
        let wb = Sim.grid(3600, 0.8, 20), wr = Sim.grid(5800, 0.8, 20)
        let frames = [frame(cam: "r0", expid: 2, wave: wr), frame(cam: "b0", expid: 1, wave: wb),
                      frame(cam: "b0", expid: 2, wave: wb), frame(cam: "r0", expid: 1, wave: wr)]
        let s = try SpectraGrouping.group(frames)
        XCTAssertEqual(s.bands, ["b", "r"])
        XCTAssertEqual(s.numSpectra, 8)
        XCTAssertEqual(s.fibermap["EXPID"]?.data.ints, [1, 1, 1, 1, 2, 2, 2, 2])
        XCTAssertEqual(s.data["r"]!.flux[0], 1); XCTAssertEqual(s.data["r"]!.flux[4 * 20], 2)
        XCTAssertEqual(s.header.int("TILEID"), 1000)
        let h = try SpectraGrouping.group(frames, healpix: 16469, nside: 64)
        XCTAssertEqual(h.numSpectra, 4)
        XCTAssertEqual(h.targetIDs, [100, 101])
        XCTAssertEqual(h.header.int("HPXPIXEL"), 16469)
        // Missing camera: r of exposure 2 absent -> zero-ivar rows.
        let m = try SpectraGrouping.group(Array(frames[1...]))
        XCTAssertEqual(m.data["r"]!.ivar[4 * 20 ..< 8 * 20].allSatisfy { $0 == 0 }, true)
        let mr = m.data["r"]!.resolution!
        XCTAssertEqual(mr.data[(4 * mr.ndiag * 20)...].allSatisfy { $0 == 0 }, true)
        // The frames read from files (their resolution mapped, converted row by row into the spectra's) give the
        // same spectra as the frames in memory: all rows, a healpix's rows, a missing camera.
        let dir = NSTemporaryDirectory() + "grouping-stored-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let read = try frames.map { input -> FrameInput in
            let path = dir + "/" + input.path
            try input.frame.write(to: path)
            let r = try FrameInput.read(path)
            XCTAssertNotNil(r.storedResolution); XCTAssertNil(r.frame.resolution)
            return r
        }
        for (a, b) in [(s, try SpectraGrouping.group(read)), (h, try SpectraGrouping.group(read, healpix: 16469, nside: 64)),
                       (m, try SpectraGrouping.group(Array(read[1...])))] {
            for band in ["b", "r"] {
                XCTAssertEqual(b.data[band]!.resolution, a.data[band]!.resolution, band)
                XCTAssertEqual(b.data[band]!.flux, a.data[band]!.flux, band)
            }
        }
        // Different grids for one band.
        let bad = frames + [frame(cam: "b0", expid: 3, wave: Sim.grid(3601, 0.8, 20))]
        XCTAssertThrowsError(try SpectraGrouping.group(bad)) { XCTAssertTrue("\($0)".contains("wavelength grids differ"), "\($0)") }
        XCTAssertThrowsError(try SpectraGrouping.group(frames, healpix: 1, nside: 64)) {
            XCTAssertTrue("\($0)".contains("no spectrum selected"))
        }
    }

    /// Nested HEALPix numbers match healpy.ang2pix(64, ra, dec, nest=True, lonlat=True).
    func testHealpixNested() {
        let cases: [(Double, Double, Int)] = [(10, -30, 16469), (200.3, 60, 11816), (359.9, 89, 16381), (45, 0, 23210)]
        for (ra, dec, pix) in cases { XCTAssertEqual(HEALPix.ang2pixNested(nside: 64, ra: ra, dec: dec), pix, "ra \(ra) dec \(dec)") }
    }

    /// chi2 quantiles match scipy.stats.
    func testChi2Quantiles() {
        XCTAssertEqual(Distributions.chi2ISF(Distributions.normalCDF(-4), dof: 2), 20.720202973054587, accuracy: 1e-7)
        XCTAssertEqual(Distributions.chi2ISF(Distributions.normalCDF(-4), dof: 9), 36.54883849303324, accuracy: 1e-7)
        XCTAssertEqual(Distributions.chi2PPF(0.5, dof: 4), 3.3566939800333224, accuracy: 1e-8)
    }

    /// Bad inputs: corrupt file, mixed grids, unknown targets -> clear errors and no output.
    func testBadInputs() throws {
        let dir = Sim.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corrupt = dir + "/spectra-corrupt.fits"
        try Data("SIMPLE  =                    T / not really FITS".utf8).write(to: URL(fileURLWithPath: corrupt))
        XCTAssertThrowsError(try Coaddition.loadInputs([corrupt])) { XCTAssertTrue("\($0)".contains("spectra-corrupt.fits"), "\($0)") }
        XCTAssertThrowsError(try Coaddition.loadInputs([dir + "/missing.fits"])) { XCTAssertTrue("\($0)".contains("no such file")) }
        let (a, _) = try Sim.exposures(ntarget: 1, nexp: 2, bands: [("b", Sim.grid(3600, 0.8, 30))])
        let (b, _) = try Sim.exposures(ntarget: 1, nexp: 2, bands: [("b", Sim.grid(3600, 0.7, 30))])
        try a.write(dir + "/spectra-a.fits"); try b.write(dir + "/spectra-b.fits")
        XCTAssertThrowsError(try Coaddition.loadInputs([dir + "/spectra-a.fits", dir + "/spectra-b.fits"])) {
            XCTAssertTrue("\($0)".contains("wavelength grids differ"), "\($0)")
        }
        var opts = CoaddOptions(); opts.targetIDs = [42]
        XCTAssertThrowsError(try Coaddition.run(a, options: opts)) { XCTAssertTrue("\($0)".contains("TARGETID"), "\($0)") }
        // A failing write leaves nothing behind.
        let out = dir + "/coadd-x.fits"
        XCTAssertThrowsError(try FITSFile.writeAtomically(out) { _ in throw DESIError.failed("boom") })
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }
}
