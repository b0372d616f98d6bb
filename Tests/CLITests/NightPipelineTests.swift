import DESICore
import FITS
import Foundation
import LinearAlgebra
import XCTest

/// The whole pipeline on a simulated night, with the real executable: `desispec demo` (simulate, then reduce every
/// camera to cframes, coadds and QA), a night run killed half way and resumed, and a corrupt input.
///
/// These run a full reduction several times, so they need an optimised build: they use $DESISPEC_RELEASE_BIN (set by
/// scripts/test.sh to the `swift build -c release` binary) and are skipped without it.
final class NightPipelineTests: XCTestCase {
    static let cameras = ["b0", "r0", "z0"]
    static let night = "20250101"
    static let nspec = 20

    /// The demo's output folder, made once for the whole class.
    nonisolated(unsafe) static var demoRoot: URL?
    nonisolated(unsafe) static var demoResult: CLIResult?

    static var releaseBinary: String? { CLIRunner.releaseExecutable?.path }

    static var testData: String? {
        ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"].flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
    }

    func binary() throws -> String {
        guard let b = Self.releaseBinary else {
            throw XCTSkip("set DESISPEC_RELEASE_BIN to a release build of desispec to run the end-to-end night (scripts/test.sh does)")
        }
        return b
    }

    func run(_ args: [String], environment: [String: String] = [:]) throws -> CLIResult {
        return try CLIRunner.run(args, environment: environment, executable: URL(fileURLWithPath: try binary()))
    }

    /// Runs `desispec demo` once; later tests reuse its simulated night and its production.
    func demo() throws -> (root: URL, result: CLIResult) {
        if let root = Self.demoRoot, let r = Self.demoResult { return (root, r) }
        _ = try binary()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("desispec-night-\(UUID().uuidString)")
        var args = ["demo", "--outdir", root.path, "--cameras", Self.cameras.joined(separator: ","),
                    "--nspec", String(Self.nspec), "--json", "--quiet"]
        if let data = Self.testData { args += ["--data-dir", data] }
        let r = try run(args)
        Self.demoRoot = root
        Self.demoResult = r
        return (root, r)
    }

    override class func tearDown() {
        if let root = demoRoot { try? FileManager.default.removeItem(at: root) }
        super.tearDown()
    }

    func e8(_ expid: Int) -> String { FileLayout.expidString(expid) }

    // MARK: - the demo

    func testDemoReducesEveryCameraAndItsCoaddsMatchTheTruth() throws {
        let (root, r) = try demo()
        XCTAssertEqual(r.status, 0, r.stderr)
        let prod = root.appendingPathComponent("redux/demo").path
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual((summary["tasksFailed"] as? [String])?.count, 0)
        XCTAssertEqual(summary["tasksNotRun"] as? Int, 0)
        // every simulated camera has its cframes and QA
        for expid in [4, 5] {
            for cam in Self.cameras {
                let exposureDir = "\(Self.night)/\(e8(expid))"
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(prod)/exposures/\(exposureDir)/cframe-\(cam)-\(e8(expid)).fits"))
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(prod)/QA/exposures/\(exposureDir)/qa-\(cam)-\(e8(expid)).json"))
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(prod)/QA/qa-\(Self.night).html"))
        // the coadd recovers the input spectra: <3% rms in 50-pixel blocks, pulls of unit width, no bias
        let coadds = try XCTUnwrap(summary["coadds"] as? [[String: Any]])
        XCTAssertEqual(coadds.count, 1)
        let bands = try XCTUnwrap(coadds[0]["bands"] as? [[String: Any]])
        XCTAssertEqual(Set(bands.compactMap { $0["band"] as? String }.map { $0.lowercased() }), ["b", "r", "z"])
        for b in bands {
            let name = b["band"] as? String ?? "?"
            let rms = try XCTUnwrap(b["blockRelativeRMS"] as? Double)
            XCTAssertLessThan(rms, 0.03, "band \(name): coadd vs truth relative rms")
            XCTAssertGreaterThan(b["blocksUsed"] as? Int ?? 0, 20, "band \(name): too few bright blocks to judge")
            let nmad = try XCTUnwrap(b["pullNMAD"] as? Double)
            XCTAssertEqual(nmad, 1, accuracy: 0.2, "band \(name): (coadd - R truth) / sigma should have unit width")
            let median = try XCTUnwrap(b["medianPull"] as? Double)
            XCTAssertEqual(median, 0, accuracy: 0.2, "band \(name): coadd biased against the truth")
            XCTAssertEqual(b["targets"] as? Int, Self.nspec - 2, "band \(name): every non-sky target compared")
        }
    }

    /// The simulator puts the objects' light in the observatory frame of the exposure; the science extractions'
    /// --barycentric-correction puts it back: the coadds sit in the truth's barycentric frame, with no velocity offset.
    func testDemoCoaddsHaveNoVelocityOffsetAgainstTheTruth() throws {
        let (root, r) = try demo()
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let coadd = try XCTUnwrap((summary["coadds"] as? [[String: Any]])?.first)
        let v = try XCTUnwrap(coadd["barycentricVelocity"] as? Double, "the truth records the simulated correction")
        XCTAssertGreaterThan(abs(v), 5, "the demo's date and pointing should make the check meaningful")
        let offset = try XCTUnwrap(coadd["velocityOffset"] as? Double)
        XCTAssertLessThan(abs(offset), 2, "median velocity offset of the coadds against the truth, km/s")
        XCTAssertGreaterThanOrEqual(coadd["velocityTargets"] as? Int ?? 0, 2, "too few bright targets measured")
        let prod = root.appendingPathComponent("redux/demo").path
        for cam in Self.cameras {
            let frame = try Frame.read("\(prod)/exposures/\(Self.night)/\(e8(4))/frame-\(cam)-\(e8(4)).fits")
            let heliocor = try XCTUnwrap(frame.header.double("HELIOCOR"), "science frame \(cam) lacks HELIOCOR")
            XCTAssertEqual((heliocor - 1) * BarycentricCorrection.speedOfLight / 1000, v, accuracy: 0.01)
        }
    }

    // MARK: - killed and resumed

    /// Files of a production that a reader would trip on: FITS files whose size is not a whole number of 2880-byte
    /// records or that cfitsio cannot walk, and left-over temporary files under a final name.
    func brokenFiles(under dir: String) -> [String] {
        var broken: [String] = []
        let e = FileManager.default.enumerator(atPath: dir)
        while let rel = e?.nextObject() as? String {
            let path = "\(dir)/\(rel)"
            guard rel.hasSuffix(".fits"), !(rel as NSString).lastPathComponent.hasPrefix(".tmp-") else { continue }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            if size == 0 || size % 2880 != 0 { broken.append(rel); continue }
            do {
                let f = try FITSFile.open(path)
                for i in 0..<f.hduNames().count { try f.moveTo(index: i); _ = try f.readHeader() }
            } catch { broken.append(rel) }
        }
        return broken
    }

    /// SIGKILLs a process and all its descendants (found through /proc), as a node crash would.
    func killTree(_ root: Int32) {
        var parentOf: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let ppid = Int32(fields[1]) { parentOf[pid] = ppid }
        }
        var tree: Set<Int32> = [root], grew = true
        while grew {
            grew = false
            for (pid, ppid) in parentOf where tree.contains(ppid) && !tree.contains(pid) { tree.insert(pid); grew = true }
        }
        kill(root, SIGKILL)
        for pid in tree where pid != root { kill(pid, SIGKILL) }
    }

    func productionOutputs(_ prod: String) -> [String] {
        var out: [String] = []
        let e = FileManager.default.enumerator(atPath: prod)
        while let rel = e?.nextObject() as? String {
            if rel.hasSuffix(".fits") && !rel.hasPrefix("run/") { out.append(rel) }
        }
        return out.sorted()
    }

    func testNightKilledHalfWayResumesAndFinishesWithIdenticalOutputs() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let b = try binary()
        let prod = root.appendingPathComponent("redux/killed").path
        let raw = root.appendingPathComponent("raw").path
        let location = ["--raw-root", raw, "--prod-root", prod]
        // same options as the demo's production (starting PSFs, fibers, templates)
        let demoOptions = root.appendingPathComponent("redux/demo/run/options.json")
        try FileManager.default.createDirectory(atPath: "\(prod)/run", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: demoOptions.path, toPath: "\(prod)/run/options.json")

        // start the night, and SIGKILL it and every step it runs once some frames exist
        let p = Process()
        p.executableURL = URL(fileURLWithPath: b)
        p.arguments = ["run", "night", Self.night, "--quiet", "-j", "2"] + location
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let frames = "\(prod)/exposures/\(Self.night)"
        let deadline = Date().addingTimeInterval(600)
        var killedAt: [String] = []
        while Date() < deadline && p.isRunning {
            let made = productionOutputs(prod).filter { $0.contains("/frame-") }
            if made.count >= 4 { killTree(p.processIdentifier); killedAt = productionOutputs(prod); break }
            usleep(200_000)
        }
        p.waitUntilExit()
        usleep(500_000)   // the killed group's last file operations settle
        killedAt = productionOutputs(prod)
        func modified(_ rel: String) -> Date? {
            try? FileManager.default.attributesOfItem(atPath: "\(prod)/\(rel)")[.modificationDate] as? Date
        }
        let before = Dictionary(uniqueKeysWithValues: killedAt.map { ($0, modified($0)) })
        XCTAssertFalse(killedAt.isEmpty, "the night finished or stalled before 4 frames were extracted in \(frames)")
        XCTAssertEqual(brokenFiles(under: prod), [], "half-written files after SIGKILL")

        // run again: only what had no output is done, and the result equals the uninterrupted demo's
        let again = try run(["run", "night", Self.night, "--json", "--quiet", "-j", "2"] + location)
        XCTAssertEqual(again.status, 0, again.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any], again.stdout)
        let redone = Set(summary["done"] as? [String] ?? [])
        let skipped = Set(summary["skipped"] as? [String] ?? [])
        XCTAssertFalse(skipped.isEmpty)
        for task in skipped { XCTAssertFalse(redone.contains(task)) }
        XCTAssertTrue(redone.contains { $0.hasPrefix("coadd_") })
        for (rel, date) in before {
            XCTAssertEqual(modified(rel), date, "\(rel) was complete before the kill and must not be made again")
        }

        let demoProd = root.appendingPathComponent("redux/demo").path
        let products = productionOutputs(demoProd).filter { $0.contains("/cframe-") || $0.contains("/coadd-") || $0.contains("/psfnight-") }
        XCTAssertEqual(products.count, 3 * 2 + 1 + 3)
        for rel in products {
            let d = try run(["diff", "\(demoProd)/\(rel)", "\(prod)/\(rel)"])
            XCTAssertEqual(d.status, 0, "\(rel) differs between the resumed and the uninterrupted run: \(d.stdout)")
        }
    }

    // MARK: - a corrupt input

    func testCorruptFrameFailsItsTasksTheRestCompletesAndTheExitCodeSaysSo() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        _ = try binary()
        // a copy of the demo's production whose science frame z0 of exposure 5 is truncated, with what depends on
        // it removed; one independent product (cframe b0 of exposure 4) is removed too, and must be made again
        let source = root.appendingPathComponent("redux/demo").path
        let prod = root.appendingPathComponent("redux/corrupt").path
        try FileManager.default.copyItem(atPath: source, toPath: prod)
        try FileManager.default.removeItem(atPath: "\(prod)/run/tasks.sqlite")
        let exp5 = "\(prod)/exposures/\(Self.night)/\(e8(5))"
        let frame = "\(exp5)/frame-z0-\(e8(5)).fits"
        let data = try Data(contentsOf: URL(fileURLWithPath: frame))
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: frame))
        let fm = FileManager.default
        for f in try fm.contentsOfDirectory(atPath: exp5)
            where f.hasPrefix("sky-z0") || f.hasPrefix("stdstars") || f.hasPrefix("fluxcalib") || f.hasPrefix("cframe") {
            try fm.removeItem(atPath: "\(exp5)/\(f)")
        }
        try fm.removeItem(atPath: "\(prod)/tiles")
        try fm.removeItem(atPath: "\(prod)/exposures/\(Self.night)/\(e8(4))/cframe-b0-\(e8(4)).fits")
        try? fm.removeItem(atPath: "\(prod)/QA")

        let r = try run(["run", "night", Self.night, "--json", "--quiet", "--raw-root", root.appendingPathComponent("raw").path,
                                   "--prod-root", prod])
        XCTAssertEqual(r.status, 2, "a failed task gives exit code 2: \(r.stderr)")
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(summary["failed"] as? [String], ["sky_\(Self.night)_\(e8(5))_z0"])
        let blocked = Set(summary["blocked"] as? [String] ?? [])
        XCTAssertTrue(blocked.contains("stdstars_\(Self.night)_\(e8(5))_sp0"))
        XCTAssertTrue(blocked.contains("cframe_\(Self.night)_\(e8(5))_b0"))
        XCTAssertTrue(blocked.contains { $0.hasPrefix("coadd_") })
        XCTAssertFalse(fm.fileExists(atPath: "\(exp5)/sky-z0-\(e8(5)).fits"), "a failed step leaves no output")
        let done = Set(summary["done"] as? [String] ?? [])
        XCTAssertTrue(done.contains("cframe_\(Self.night)_\(e8(4))_b0"), "independent work still runs")
        XCTAssertTrue(done.contains("qa_\(Self.night)_\(e8(4))_z0"))

        // the state database and the task's log say what happened
        let status = try run(["prod", "status", "--prod-root", prod, "--raw-root", root.appendingPathComponent("raw").path,
                                        "--state", "failed", "--json"])
        XCTAssertEqual(status.status, 0, status.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: String]])
        XCTAssertEqual(rows.map { $0["name"] }, ["sky_\(Self.night)_\(e8(5))_z0"])
        let log = try String(contentsOfFile: try XCTUnwrap(rows.first?["log"]), encoding: .utf8)
        XCTAssertTrue(log.contains("frame-z0-\(e8(5)).fits"), "the log names the bad file: \(log)")
    }

    // MARK: - extraction where the deconvolution is nearly singular

    /// The demo's narrow CCDs leave some extraction patches nearly singular (condition number ~1e14, at specter's
    /// eigenvalue floor). Their fluxes must still carry sane uncertainties and resolution rows: once, the exact
    /// inverse of such a patch gave ivar 1e8-5e10 (thousands of times the fiber's median) and |R| up to 8.
    func testDemoFramesHaveSaneIvarAndResolutionEverywhere() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        for expid in [4, 5] {
            for camera in Self.cameras {
                let relative = "redux/demo/exposures/\(Self.night)/\(e8(expid))/frame-\(camera)-\(e8(expid)).fits"
                let path = root.appendingPathComponent(relative).path
                let frame = try Frame.read(path)
                let resolution = try XCTUnwrap(frame.resolution, path)
                let maxR = resolution.data.map { abs($0) }.max() ?? 0
                XCTAssertLessThan(maxR, 1.5, "\(camera) \(expid): a resolution element of \(maxR)")
                for f in 0..<frame.nspec {
                    let ivar = frame.ivar[(f * frame.nwave)..<((f + 1) * frame.nwave)].filter { $0 > 0 }.sorted()
                    guard let top = ivar.last else { continue }
                    let median = ivar[ivar.count / 2]
                    XCTAssertLessThan(top, 20 * median, "\(camera) \(expid) fiber \(f): ivar up to \(top), median \(median)")
                }
            }
        }
    }

    // MARK: - a clean night: no warning, graded spectra

    /// A clean simulated night raises no QA warning at all (before the simulator's fiber throughputs were brought
    /// inside desispec's fiber-flat thresholds, the flat raised MAX_SCALE_OFF and MAX_MEAN_OFF on every camera), and its
    /// spectra are graded: at least 98 % of the cframes' fibers grade 0, the coadd carries the grade columns.
    func testCleanDemoNightRaisesNoWarningAndItsSpectraAreGraded() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let prod = root.appendingPathComponent("redux/demo").path
        let nightQA = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(prod)/QA/qa-\(Self.night).json"))) as? [String: Any])
        XCTAssertEqual((nightQA["WARNINGS"] as? [String]) ?? ["no WARNINGS key"], [])
        XCTAssertNotNil(nightQA["GRADES_PER_PETAL"])
        var good = 0, total = 0
        for expid in [4, 5] {
            for camera in Self.cameras {
                let relative = "exposures/\(Self.night)/\(e8(expid))/cframe-\(camera)-\(e8(expid)).fits"
                let q = try XCTUnwrap(try Frame.read("\(prod)/\(relative)", skipResolution: true).quality, relative)
                good += q.filter { $0.grade == .good }.count
                total += q.count
                for (i, x) in q.enumerated() where x.grade != .good { print("\(relative) row \(i): grade \(x.grade) \(x.reasonsText)") }
            }
        }
        XCTAssertGreaterThanOrEqual(Double(good), 0.98 * Double(total), "\(good) of \(total) demo fibers graded 0")
        let coadds = try FileManager.default.subpathsOfDirectory(atPath: "\(prod)/tiles").filter {
            ($0 as NSString).lastPathComponent.hasPrefix("coadd-") && $0.hasSuffix(".fits")
        }
        XCTAssertFalse(coadds.isEmpty)
        for c in coadds {
            let f = try FITSFile.open("\(prod)/tiles/\(c)")
            let fm = try f.readTable("FIBERMAP")
            try f.close()
            XCTAssertNotNil(fm["QUALITY_GRADE"], c)
            XCTAssertEqual(fm["QUALITY_NGRADE"]?.cellShape, [6], c)
        }
    }

    /// The cframe step on the demo's r0 frame of exposure 5: a flux calibration marked as a fallback (FCFALLBK = T)
    /// makes every fiber grade 1 FCFALLBK; a fiber made dead in the frame (BROKENFIBER, read noise only) keeps the
    /// grade 3 (FIBERSTATUS, NOLIGHT) the extraction gave it.
    func testCframeStepGradesAFallbackCalibrationAndADeadFiber() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let prod = root.appendingPathComponent("redux/demo").path
        let dir = "\(prod)/exposures/\(Self.night)/\(e8(5))"
        let work = root.appendingPathComponent("grades-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var calib = try FluxCalibration.read("\(dir)/fluxcalib-r0-\(e8(5)).fits")
        calib.header.set("FCFALLBK", true)
        try calib.write("\(work)/fluxcalib-r0-\(e8(5)).fits")
        var frame = try Frame.read("\(dir)/frame-r0-\(e8(5)).fits")
        var rng = SplitMix64(seed: 3)
        let dead = 7, nwave = frame.nwave
        for j in 0..<nwave { frame.flux[dead * nwave + j] = Float(3 * rng.gaussian()); frame.ivar[dead * nwave + j] = 1.0 / 9 }
        var table = try XCTUnwrap(frame.fibermap?.table)
        var status = try XCTUnwrap(table["FIBERSTATUS"]?.data.ints)
        status[dead] |= Int(FiberStatus.brokenFiber)
        table["FIBERSTATUS"] = FITSColumn("FIBERSTATUS", .int32(status.map { Int32($0) }))
        frame.fibermap = Fibermap(table: table)
        frame.addQuality(QualityGrading.extraction(frame))   // as `desispec extract` grades it
        try frame.write(to: "\(work)/frame-r0-\(e8(5)).fits")
        let out = "\(work)/cframe-r0-\(e8(5)).fits"
        let r = try run(["cframe", "-i", "\(work)/frame-r0-\(e8(5)).fits",
                         "--fiberflat", "\(prod)/calibnight/\(Self.night)/fiberflatnight-r0-\(Self.night).fits",
                         "--sky", "\(dir)/sky-r0-\(e8(5)).fits", "--calib", "\(work)/fluxcalib-r0-\(e8(5)).fits", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let q = try XCTUnwrap(try Frame.read(out, skipResolution: true).quality)
        // the sky and flat steps mask the fiber FIBERSTATUS rejects: no NODATA / NEGFLUX on top of its status
        XCTAssertEqual(q[dead].grade, .badFiber)
        XCTAssertEqual(q[dead].reasons, ["FCFALLBK", "FIBERSTATUS", "NOLIGHT"])
        let others = q.indices.filter { $0 != dead }
        XCTAssertTrue(others.allSatisfy { q[$0].reasons.contains("FCFALLBK") })
        XCTAssertGreaterThanOrEqual(others.filter { q[$0] == FiberQuality(grade: .recovered, reasons: ["FCFALLBK"]) }.count,
                                    others.count - 1)
    }

    // MARK: - the frame diagnosis on realistic spectra

    /// The demo's cframes (bright standard stars among faint targets, real stellar templates) are clean: the
    /// diagnosis flags nothing. The same cframe with a broad sky-model defect in six neighbouring fibers is flagged,
    /// with those fibers (less the bright star among them, whose own spectrum hides a defect this small) and the
    /// defect's wavelengths.
    func testDiagnosisPassesTheDemoCframesAndFindsAnInjectedSkyDefect() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        let prod = root.appendingPathComponent("redux/demo")
        for expid in [4, 5] {
            for camera in Self.cameras {
                let path = prod.appendingPathComponent("QA/exposures/\(Self.night)/\(e8(expid))/qa-\(camera)-\(e8(expid)).json")
                let qa = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any], path.path)
                let diagnosis = try XCTUnwrap(qa["DIAGNOSIS"] as? [String: Any], path.path)
                let features = (diagnosis["FEATURES"] as? [[String: Any]] ?? []).compactMap { $0["SUMMARY"] as? String }
                XCTAssertEqual(diagnosis["FLAGGED"] as? Bool, false, "\(camera) \(expid): \(features)")
            }
        }

        let source = prod.appendingPathComponent("exposures/\(Self.night)/\(e8(4))/cframe-r0-\(e8(4)).fits")
        var frame = try Frame.read(source.path)
        let affected = 2...7
        for f in affected {
            for j in 0..<frame.nwave {
                frame.flux[f * frame.nwave + j] -= Float(1.0 * exp(-0.5 * pow((frame.wave[j] - 6300) / 60, 2)))
            }
        }
        let dir = try CLIRunner.temporaryDirectory(self)
        let defective = dir.appendingPathComponent("cframe-r0-\(e8(4)).fits").path
        try frame.write(to: defective)
        let qaPath = dir.appendingPathComponent("qa.json").path
        let r = try run(["qa-frame", defective, "-o", qaPath, "--no-search", "--fail-on-flag", "--quiet"])
        XCTAssertEqual(r.status, 3, "a flagged frame gives exit code 3 with --fail-on-flag: \(r.stderr)")
        let qa = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: qaPath))) as? [String: Any])
        let features = try XCTUnwrap((qa["DIAGNOSIS"] as? [String: Any])?["FEATURES"] as? [[String: Any]])
        XCTAssertEqual(features.count, 1, "\(features)")
        let feature = try XCTUnwrap(features.first)
        let fibers = Set(feature["FIBERS"] as? [Int] ?? [])
        let bright = Set(affected.filter { f in
            Statistics.median(Array(frame.flux[(f * frame.nwave)..<((f + 1) * frame.nwave)])) > 10 })
        XCTAssertEqual(fibers, Set(affected).subtracting(bright), "\(feature["SUMMARY"] ?? "")")
        let range = try XCTUnwrap(feature["WAVE_RANGE"] as? [Double])
        XCTAssertLessThan(abs((range[0] + range[1]) / 2 - 6300), 40, "\(range)")
        XCTAssertEqual(feature["SIGN"] as? Int, -1)
    }

    // MARK: - a real Slurm

    /// Runs a shell command line; returns its status and output. The output goes through files, not pipes, so that
    /// daemons it starts cannot keep the test waiting for end of file. A script that starts daemons must also close
    /// every other inherited descriptor first (scripts/slurm-local.sh does): Foundation's Process learns that a child
    /// has exited when the child's end of a socket closes, and a daemon holding that end (munged did, once) keeps
    /// waitUntilExit waiting for ever.
    func shell(_ command: String) throws -> CLIResult {
        let dir = FileManager.default.temporaryDirectory
        let out = dir.appendingPathComponent("shell-\(UUID().uuidString).out")
        let err = dir.appendingPathComponent("shell-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", command]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// The night's Slurm scripts (`run night --slurm --submit`: one job array per step, chained by afterok) on a
    /// single-node Slurm started on this machine by scripts/slurm-local.sh; skipped where Slurm cannot start.
    func testSlurmJobsReduceTheNightLikeTheLocalRunner() throws {
        let (root, demoRun) = try demo()
        try XCTSkipIf(demoRun.status != 0 && demoRun.status != 3, "the demo did not complete its reduction: \(demoRun.stderr)")
        _ = try binary()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let slurmState = root.appendingPathComponent("slurm-state").path
        let start = try shell("'\(repo.path)/scripts/slurm-local.sh' start '\(slurmState)'")
        guard start.status == 0 else {
            let reason = start.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw XCTSkip("Slurm cannot start on this machine (scripts/slurm-local.sh: \(reason))")
        }
        defer { _ = try? shell("'\(repo.path)/scripts/slurm-local.sh' stop '\(slurmState)'") }

        let prod = root.appendingPathComponent("redux/slurm").path
        let location = ["--raw-root", root.appendingPathComponent("raw").path, "--prod-root", prod]
        try FileManager.default.createDirectory(atPath: "\(prod)/run", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root.appendingPathComponent("redux/demo/run/options.json").path,
                                         toPath: "\(prod)/run/options.json")
        let submit = try run(["run", "night", Self.night, "--slurm", "--submit"] + location)
        XCTAssertEqual(submit.status, 0, submit.stderr)
        XCTAssertTrue(submit.stdout.contains("submitted coadd"), submit.stdout)

        // wait for the queue to drain (a failed job leaves its dependents pending forever: give up after 15 minutes)
        let deadline = Date().addingTimeInterval(900)
        var queue = ""
        repeat {
            sleep(3)
            queue = try shell("squeue -h -o '%i %T %r'").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if queue.contains("DependencyNeverSatisfied") { break }
        } while !queue.isEmpty && Date() < deadline
        XCTAssertEqual(queue, "", "Slurm jobs left in the queue")

        let status = try run(["prod", "status", "--json"] + location)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: String]], status.stdout)
        XCTAssertEqual(rows.count, 95)   // 89 steps (6 arc trace shifts), 3 viewer pages (2 exposures, 1 coadd), 3 fiber-page tasks
        XCTAssertEqual(rows.filter { $0["state"] != "done" }.map { $0["name"] ?? "" }, [])
        let demoProd = root.appendingPathComponent("redux/demo").path
        for rel in ["tiles/cumulative/1000/\(Self.night)/coadd-0-1000-thru\(Self.night).fits",
                    "exposures/\(Self.night)/\(e8(5))/cframe-z0-\(e8(5)).fits"] {
            let d = try run(["diff", "\(demoProd)/\(rel)", "\(prod)/\(rel)"])
            XCTAssertEqual(d.status, 0, "\(rel) differs between Slurm and the local runner: \(d.stdout)")
        }
    }
}
