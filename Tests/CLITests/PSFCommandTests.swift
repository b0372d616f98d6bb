import DESICore
import FITS
import Foundation
import XCTest

/// `desispec psf` and `desispec psfnight` on simulated arcs, against the PSF the simulator used (truth).
final class PSFCommandTests: XCTestCase {
    /// Simulated arcs shared by the tests of this class (simulated once per test run).
    struct Arcs {
        let dir: URL
        let truth: String            // truth-psf-r0.fits of the first arc (both arcs use the same PSF)
        let start: String            // truth with traces shifted (+0.3, -0.4) pixel and sigmas x 1.1
        let preprocs: [String]
    }
    nonisolated(unsafe) static var shared: Arcs?

    static func arcs() throws -> Arcs {
        if let a = shared { return a }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-psfcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var preprocs = [String]()
        for expid in [1, 2] {
            let sim = try CLIRunner.run(["simulate", "--flavor", "arc", "--cameras", "r0", "--nspec", "12", "--ccd-size", "small",
                                         "--night", "20250101", "--expid", "\(expid)", "--seed", "\(expid)", "--outdir", dir.path, "-q"])
            XCTAssertEqual(sim.status, 0, sim.stderr)
            let e = FileLayout.expidString(expid)
            let pre = dir.appendingPathComponent("preproc-r0-\(e).fits").path
            let p = try CLIRunner.run(["preproc", "-i", dir.appendingPathComponent("20250101/\(e)/desi-\(e).fits.fz").path,
                                       "--cameras", "r0", "-o", pre, "-q", "--no-calib-config"])
            XCTAssertEqual(p.status, 0, p.stderr)
            preprocs.append(pre)
        }
        let truth = dir.appendingPathComponent("20250101/00000001/truth-psf-r0.fits").path
        let start = dir.appendingPathComponent("start-psf-r0.fits").path
        try perturb(truth, to: start, dx: 0.3, dy: -0.4, sigmaScale: 1.1)
        let a = Arcs(dir: dir, truth: truth, start: start, preprocs: preprocs)
        shared = a
        return a
    }

    override class func tearDown() {
        if let a = shared { try? FileManager.default.removeItem(at: a.dir) }
        shared = nil
        super.tearDown()
    }

    /// Copies a PSFVER 3 file with XTRACE + dx, YTRACE + dy (constant terms) and GHSIGX, GHSIGY x sigmaScale.
    static func perturb(_ path: String, to out: String, dx: Double, dy: Double, sigmaScale: Double) throws {
        let f = try FITSFile.open(path)
        var x = try f.readImage("XTRACE", as: Double.self), y = try f.readImage("YTRACE", as: Double.self)
        var table = try f.readTable("PSF")
        try f.close()
        let nc = x.shape[1]
        for i in 0..<x.shape[0] { x.data[i * nc] += dx; y.data[i * y.shape[1]] += dy }
        guard case .string(let names)? = table["PARAM"]?.data, let k = table.columns.firstIndex(where: { $0.name == "COEFF" }),
              var coeff = table.columns[k].data.doubles else { throw XCTSkip("unexpected PSF table layout in \(path)") }
        let per = table.columns[k].valuesPerRow
        for (r, n) in names.enumerated() where ["GHSIGX", "GHSIGY"].contains(n.trimmingCharacters(in: .whitespaces)) {
            for j in (r * per)..<((r + 1) * per) { coeff[j] *= sigmaScale }
        }
        table.columns[k] = FITSColumn("COEFF", .double(coeff), cellShape: table.columns[k].cellShape)
        try FITSFile.writeAtomically(out) { w in
            try w.writeImage(x.data, shape: x.shape, name: "XTRACE", header: x.header)
            try w.writeImage(y.data, shape: y.shape, name: "YTRACE", header: y.header)
            try w.writeTable(table, name: "PSF")
        }
    }

    /// x(fiber, w), y(fiber, w), GHSIGX, GHSIGY of a PSFVER 3 file, evaluated from its Legendre coefficients.
    struct Traces {
        var x: [Double], y: [Double], sx: [Double], sy: [Double]
        var ncoef: Int, nfiber: Int, lo: Double, hi: Double
        var pncoef: Int, plo: Double, phi: Double
        init(_ path: String) throws {
            let f = try FITSFile.open(path)
            defer { try? f.close() }
            let xi = try f.readImage("XTRACE", as: Double.self), yi = try f.readImage("YTRACE", as: Double.self)
            let t = try f.readTable("PSF")
            x = xi.data; y = yi.data; nfiber = xi.shape[0]; ncoef = xi.shape[1]
            lo = xi.header.double("WAVEMIN")!; hi = xi.header.double("WAVEMAX")!
            plo = t.header.double("WAVEMIN")!; phi = t.header.double("WAVEMAX")!
            guard case .string(let names)? = t["PARAM"]?.data, let c = t["COEFF"] else { throw XCTSkip("no PARAM/COEFF in \(path)") }
            let per = c.valuesPerRow, all = c.data.doubles!
            pncoef = per / nfiber
            func row(_ n: String) -> [Double] {
                let r = names.firstIndex { $0.trimmingCharacters(in: .whitespaces) == n }!
                return Array(all[(r * per)..<((r + 1) * per)])
            }
            sx = row("GHSIGX"); sy = row("GHSIGY")
        }
        static func legendre(_ c: ArraySlice<Double>, _ u: Double) -> Double {
            var p0 = 1.0, p1 = u, s = 0.0
            for (k, ck) in c.enumerated() {
                if k == 0 { s += ck * p0 } else if k == 1 { s += ck * p1 } else {
                    let p2 = ((2 * Double(k) - 1) * u * p1 - Double(k - 1) * p0) / Double(k)
                    s += ck * p2; p0 = p1; p1 = p2
                }
            }
            return s
        }
        func eval(_ a: [Double], _ nc: Int, _ lo: Double, _ hi: Double, _ f: Int, _ w: Double) -> Double {
            Traces.legendre(a[(f * nc)..<((f + 1) * nc)], 2 * (w - lo) / (hi - lo) - 1)
        }
        func x(_ f: Int, _ w: Double) -> Double { eval(x, ncoef, lo, hi, f, w) }
        func y(_ f: Int, _ w: Double) -> Double { eval(y, ncoef, lo, hi, f, w) }
        func sx(_ f: Int, _ w: Double) -> Double { eval(sx, pncoef, plo, phi, f, w) }
        func sy(_ f: Int, _ w: Double) -> Double { eval(sy, pncoef, plo, phi, f, w) }
    }

    /// Largest |x - x_true|, |y - y_true| (pixels) and |sigma / sigma_true - 1| over every fiber and wavelength.
    static func errors(_ path: String, _ truthPath: String) throws -> (x: Double, y: Double, sx: Double, sy: Double) {
        let p = try Traces(path), t = try Traces(truthPath)
        var e = (x: 0.0, y: 0.0, sx: 0.0, sy: 0.0)
        for f in 0..<t.nfiber {
            for k in 0...40 {
                let w = t.lo + (t.hi - t.lo) * Double(k) / 40
                e.x = max(e.x, abs(p.x(f, w) - t.x(f, w))); e.y = max(e.y, abs(p.y(f, w) - t.y(f, w)))
                e.sx = max(e.sx, abs(p.sx(f, w) / t.sx(f, w) - 1)); e.sy = max(e.sy, abs(p.sy(f, w) / t.sy(f, w) - 1))
            }
        }
        return e
    }

    func fit(_ a: Arcs, _ i: Int, _ out: String) throws {
        let r = try CLIRunner.run(["psf", "-i", a.preprocs[i], "--psf", a.start, "-o", out, "--ncpu", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testPSFFitRecoversTheTruthFromAPerturbedStart() throws {
        let a = try Self.arcs()
        let start = try Self.errors(a.start, a.truth)
        XCTAssertGreaterThan(start.x, 0.29); XCTAssertGreaterThan(start.sx, 0.09)   // the start is off
        let out = a.dir.appendingPathComponent("psf-r0-00000001.fits").path
        try fit(a, 0, out)
        let e = try Self.errors(out, a.truth)
        print(String(format: "desispec psf vs truth (r0, 12 fibers, all wavelengths): max |dx| %.4f |dy| %.4f px, |sx-1| %.4f |sy-1| %.4f",
                     e.x, e.y, e.sx, e.sy))
        XCTAssertLessThan(e.x, 0.05); XCTAssertLessThan(e.y, 0.05)
        XCTAssertLessThan(e.sx, 0.03); XCTAssertLessThan(e.sy, 0.03)
        let f = try FITSFile.open(out)
        defer { try? f.close() }
        let h = try f.readTable("PSF").header
        XCTAssertEqual(h.string("PSFVER"), "3")
        XCTAssertEqual(h.string("CAMERA"), "r0")
        XCTAssertEqual(h.double("MEANDX") ?? 0, -0.3, accuracy: 0.02)
        XCTAssertEqual(h.double("MEANDY") ?? 0, 0.4, accuracy: 0.02)
    }

    func testPSFFitFindsTracesMovedSeveralPixelsWithTheShippedLines() throws {
        // The coarse scan: a start 2.5 pixels across and 6 along the dispersion off; the default (shipped) line list.
        let a = try Self.arcs()
        let moved = a.dir.appendingPathComponent("moved-psf-r0.fits").path
        try Self.perturb(a.truth, to: moved, dx: 2.5, dy: 6, sigmaScale: 1.05)
        let out = a.dir.appendingPathComponent("psf-moved-r0.fits").path
        let r = try CLIRunner.run(["psf", "-i", a.preprocs[0], "--psf", moved, "-o", out, "--ncpu", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("coarse scan"), r.stderr)
        let e = try Self.errors(out, a.truth)
        print(String(format: "desispec psf from a start moved by (+2.5, +6) px: max |dx| %.4f |dy| %.4f px", e.x, e.y))
        XCTAssertLessThan(e.x, 0.05); XCTAssertLessThan(e.y, 0.05)
        let f = try FITSFile.open(out)
        defer { try? f.close() }
        let t = try f.readTable("PSF")
        XCTAssertEqual(t.header.string("LINELIST"), "arc-lines-average-in-vacuum.fits")
        XCTAssertEqual(t.header.int("NFIBFLAG"), 0)
        guard case .string(let names)? = t["PARAM"]?.data else { return XCTFail("no PARAM column") }
        XCTAssertTrue(names.contains { $0.trimmingCharacters(in: .whitespaces) == "STATUS" })
    }

    func testPSFNightOfTwoFitsMatchesTheTruth() throws {
        let a = try Self.arcs()
        let p1 = a.dir.appendingPathComponent("n-psf-1.fits").path, p2 = a.dir.appendingPathComponent("n-psf-2.fits").path
        try fit(a, 0, p1)
        try fit(a, 1, p2)
        let night = a.dir.appendingPathComponent("psfnight-r0-20250101.fits").path
        let r = try CLIRunner.run(["psfnight", "-i", p1, p2, "-o", night])
        XCTAssertEqual(r.status, 0, r.stderr)
        let e = try Self.errors(night, a.truth)
        print(String(format: "desispec psfnight (2 arcs) vs truth: max |dx| %.4f |dy| %.4f px, |sx-1| %.4f |sy-1| %.4f",
                     e.x, e.y, e.sx, e.sy))
        XCTAssertLessThan(e.x, 0.05); XCTAssertLessThan(e.y, 0.05)
        XCTAssertLessThan(e.sx, 0.03); XCTAssertLessThan(e.sy, 0.03)
        // With two inputs the night's coefficients are their mean.
        let t1 = try Traces(p1), t2 = try Traces(p2), tn = try Traces(night)
        for k in 0..<tn.x.count {
            XCTAssertEqual(tn.x[k], 0.5 * (t1.x[k] + t2.x[k]), accuracy: 1e-12)
            XCTAssertEqual(tn.y[k], 0.5 * (t1.y[k] + t2.y[k]), accuracy: 1e-12)
        }
        for k in 0..<tn.sx.count { XCTAssertEqual(tn.sx[k], 0.5 * (t1.sx[k] + t2.sx[k]), accuracy: 1e-12) }
    }

    func testPSFNightRejectsPSFsOfOtherFibersAndWritesNothing() throws {
        let a = try Self.arcs()
        let dir = try CLIRunner.temporaryDirectory(self)
        let sim = try CLIRunner.run(["simulate", "--flavor", "arc", "--cameras", "r0", "--nspec", "10", "--ccd-size", "small",
                                     "--night", "20250101", "--expid", "9", "--outdir", dir.path, "-q"])
        XCTAssertEqual(sim.status, 0, sim.stderr)
        let other = dir.appendingPathComponent("20250101/00000009/truth-psf-r0.fits").path
        let out = dir.appendingPathComponent("night.fits").path
        let r = try CLIRunner.run(["psfnight", "-i", a.truth, other, "-o", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(other) && r.stderr.contains("fibers"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(CLIRunner.files(in: dir).filter { $0.hasSuffix(".fits") || $0.contains("tmp") }, [])
        // One input only: a usage error.
        let one = try CLIRunner.run(["psfnight", "-i", a.truth, "-o", out])
        XCTAssertEqual(one.status, 64, one.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testPSFFitRejectsAnImageOfAnotherCCDAndWritesNothing() throws {
        let a = try Self.arcs()
        let dir = try CLIRunner.temporaryDirectory(self)
        let sim = try CLIRunner.run(["simulate", "--flavor", "arc", "--cameras", "r0", "--nspec", "10", "--ccd-size", "small",
                                     "--night", "20250101", "--expid", "8", "--outdir", dir.path, "-q"])
        XCTAssertEqual(sim.status, 0, sim.stderr)
        let pre = dir.appendingPathComponent("pre.fits").path
        let p = try CLIRunner.run(["preproc", "-i", dir.appendingPathComponent("20250101/00000008/desi-00000008.fits.fz").path,
                                   "--cameras", "r0", "-o", pre, "-q", "--no-calib-config"])
        XCTAssertEqual(p.status, 0, p.stderr)
        let out = dir.appendingPathComponent("psf.fits").path
        let r = try CLIRunner.run(["psf", "-i", pre, "--psf", a.start, "-o", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains(pre) && r.stderr.contains("pixels"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // A missing line list is named.
        let l = try CLIRunner.run(["psf", "-i", a.preprocs[0], "--psf", a.start, "-o", out, "--lines", "/nonexistent/lines.txt"])
        XCTAssertEqual(l.status, 1)
        XCTAssertTrue(l.stderr.contains("/nonexistent/lines.txt"), l.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testPSFFitFromAStartBeyondTheScanLimitsStopsAndAWiderScanRecoversIt() throws {
        // 16 pixels along the dispersion: beyond the default scan (10); an error naming the image, the start and the
        // offset, no file; --scan-max-dy 20 fits it.
        let a = try Self.arcs()
        let moved = a.dir.appendingPathComponent("far-psf-r0.fits").path
        try Self.perturb(a.truth, to: moved, dx: 1.5, dy: 16, sigmaScale: 1.05)
        let out = a.dir.appendingPathComponent("psf-far-r0.fits").path
        let r = try CLIRunner.run(["psf", "-i", a.preprocs[0], "--psf", moved, "-o", out, "--ncpu", "2", "--no-shape-fit"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(a.preprocs[0]) && r.stderr.contains(moved) && r.stderr.contains("-16 along"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let w = try CLIRunner.run(["psf", "-i", a.preprocs[0], "--psf", moved, "-o", out, "--ncpu", "2", "--no-shape-fit",
                                   "--scan-max-dy", "20"])
        XCTAssertEqual(w.status, 0, w.stderr)
        let e = try Self.errors(out, a.truth)
        print(String(format: "desispec psf from a start moved by (+1.5, +16) px, --scan-max-dy 20: max |dx| %.4f |dy| %.4f px", e.x, e.y))
        XCTAssertLessThan(e.x, 0.05); XCTAssertLessThan(e.y, 0.05)
    }
}
