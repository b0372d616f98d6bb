import DESICore
import FITS
import Foundation
import QA
import TestSupport
import XCTest

/// The quality grades (Docs/qa.md, "Quality grades"): each injected defect gives its documented grade and reason,
/// clean fibers the best grade, and the grades survive the FIBERMAP and reach the QA summaries.
final class QualityGradeTests: XCTestCase {

    /// An extracted frame in electrons: sky-like continuum of `level` e- per pixel with Poisson-like noise, chi2pix
    /// drawn as chi2 with one degree of freedom, FIBERSTATUS 0, objtype SKY every 10th fiber.
    static func extractedFrame(nspec: Int = 100, nwave: Int = 800, level: Double = 200, seed: UInt64 = 1) -> Frame {
        var rng = TestRandom(seed: seed)
        let wave = (0..<nwave).map { 5760 + 0.8 * Double($0) }
        var flux = [Float](repeating: 0, count: nspec * nwave), ivar = flux, chi2 = flux
        for f in 0..<nspec {
            // objects of various brightness over the sky-like level
            let object = f % 10 == 0 ? 0 : level * 0.5 * rng.gaussian().magnitude
            for j in 0..<nwave {
                let k = f * nwave + j
                let mean = level * (1 + 0.3 * sin(Double(j) / 37)) + object
                let variance = mean + 9
                flux[k] = Float(mean + variance.squareRoot() * rng.gaussian())
                ivar[k] = Float(1 / variance)
                let g = rng.gaussian()
                chi2[k] = Float(g * g)
            }
        }
        let objtypes = (0..<nspec).map { $0 % 10 == 0 ? "SKY" : "TGT" }
        let fm = makeFibermap(objtypes: objtypes, x: (0..<nspec).map { Double($0) }, y: [Double](repeating: 0, count: nspec))
        var h = FITSHeader()
        h.set("CAMERA", "r0")
        return Frame(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: nspec * nwave), fibermap: fm,
                     chi2pix: chi2, header: h)
    }

    static func setStatus(_ frame: inout Frame, fiber: Int, _ bits: UInt32) {
        var t = frame.fibermap!.table
        var s = t["FIBERSTATUS"]!.data.ints!
        s[fiber] |= Int(bits)
        t["FIBERSTATUS"] = FITSColumn("FIBERSTATUS", .int32(s.map { Int32($0) }))
        frame.fibermap = Fibermap(table: t)
    }

    func testDeadFiberWithFiberStatusAndNoLightIsGradeThree() {
        var frame = Self.extractedFrame()
        let nwave = frame.nwave
        // fiber 37: broken (FIBERSTATUS) and dark (read noise only); fiber 52: dark, status not set
        Self.setStatus(&frame, fiber: 37, FiberStatus.brokenFiber)
        var rng = TestRandom(seed: 9)
        for f in [37, 52] {
            for j in 0..<nwave { frame.flux[f * nwave + j] = Float(3 * rng.gaussian()); frame.ivar[f * nwave + j] = 1 / 9 }
        }
        let q = QualityGrading.extraction(frame)
        XCTAssertEqual(q[37].grade, .badFiber)
        XCTAssertEqual(q[37].reasons, ["FIBERSTATUS", "NOLIGHT"])
        XCTAssertEqual(q[52].grade, .badFiber)
        XCTAssertEqual(q[52].reasons, ["NOLIGHT"])
        XCTAssertFalse(q[37].grade.isUsable)
        // the others, sky fibers included, are good
        XCTAssertEqual(q.indices.filter { q[$0].grade != .good }, [37, 52])
        // a fiber FIBERSTATUS rejects, masked by a later stage: its masked pixels are no further reason
        var masked = frame
        for j in 0..<nwave { masked.ivar[37 * nwave + j] = 0 }
        XCTAssertEqual(QualityGrading.skySubtracted(masked)[37], FiberQuality(grade: .badFiber, reasons: ["FIBERSTATUS"]))
        // a fiber with half the median light is not dark
        var dim = Self.extractedFrame(seed: 2)
        for j in 0..<nwave { dim.flux[10 * nwave + j] *= 0.5 }
        XCTAssertEqual(QualityGrading.extraction(dim)[10].grade, .good)
    }

    func testThirtyPercentNegativeFluxAfterSkySubtractionIsGradeFour() {
        // sky over-subtracted by 2 sigma per pixel over 30 % of fiber 23's range; 10 % of fiber 41's
        let sframe = SyntheticFrames.sframe(nspec: 150, nwave: 1000, seed: 5) { f, w in
            if f == 23 && w < 5760 + 0.3 * 800 { return -2 }
            if f == 41 && w < 5760 + 0.1 * 800 { return -2 }
            return 0
        }
        let q = QualityGrading.skySubtracted(sframe)
        XCTAssertEqual(q[23].grade, .negativeFlux)
        XCTAssertEqual(q[23].reasons, ["NEGFLUX"])
        XCTAssertEqual(q[41].grade, .good, "10 % of the spectrum negative is below the 20 % threshold")
        XCTAssertEqual(q.indices.filter { q[$0].grade != .good }, [23])
    }

    func testCosmicRayRiddledTraceIsGradeTwoWithMaskedPixelsAndExtractionChi2() {
        var frame = Self.extractedFrame(seed: 3)
        let nwave = frame.nwave
        // fiber 64: a cosmic hit every ~5 pixels along the trace: the pixels preproc flagged are masked in the frame,
        // the others leave the 2D fit's chi2 high
        var rng = TestRandom(seed: 4)
        for j in 0..<nwave where rng.uniform() < 0.2 {
            frame.mask[64 * nwave + j] = SpecMask.cosmic; frame.ivar[64 * nwave + j] = 0
        }
        for j in 0..<nwave { frame.chi2pix![64 * nwave + j] = Float(8 + 4 * rng.uniform()) }
        let q = QualityGrading.extraction(frame)
        XCTAssertEqual(q[64].grade, .minorProblem)
        XCTAssertEqual(q[64].reasons, ["MASKED", "CHI2PIX"])
        XCTAssertTrue(q[64].grade.isUsable)
        XCTAssertEqual(q.indices.filter { q[$0].grade != .good }, [64])
        // most of the trace masked: not usable
        for j in 0..<(nwave * 6 / 10) { frame.mask[64 * nwave + j] = SpecMask.cosmic }
        XCTAssertEqual(QualityGrading.extraction(frame)[64].reasons, ["MOSTLYMASKED", "CHI2PIX"])
        XCTAssertEqual(QualityGrading.extraction(frame)[64].grade, .badFiber)
        // nothing valid: a failure upstream
        for j in 0..<nwave { frame.ivar[64 * nwave + j] = 0 }
        XCTAssertEqual(QualityGrading.extraction(frame)[64].grade, .upstreamFailure)
    }

    func testCalibrationFallbackIsGradeOneOnEveryFiberAndMergesWithTheFramesGrades() {
        var cframe = SyntheticFrames.sframe(nspec: 60, nwave: 600, seed: 8)
        // the frame's grades travel: fiber 5 was graded 3 at extraction
        cframe.addQuality((0..<60).map { $0 == 5 ? FiberQuality(reasons: [.noLight]) : FiberQuality() })
        cframe.addQuality(QualityGrading.skySubtracted(cframe, fallbackCalibration: true))
        let q = cframe.quality!
        XCTAssertEqual(q[0], FiberQuality(grade: .recovered, reasons: ["FCFALLBK"]))
        XCTAssertEqual(Set(q.indices.filter { $0 != 5 }.map { q[$0].grade }), [.recovered])
        XCTAssertEqual(q[5].grade, .badFiber)
        XCTAssertEqual(q[5].reasons, ["FCFALLBK", "NOLIGHT"])
    }

    func testSkyFiberWithResidualsAboveItsNeighboursIsGradeTwo() {
        // sky fibers are every 10th; fiber 70's residual has twice the noise
        var rng = TestRandom(seed: 12)
        let sframe = SyntheticFrames.sframe(nspec: 150, nwave: 1000, seed: 6) { f, _ in f == 70 ? 1.7 * rng.gaussian() : 0 }
        let q = QualityGrading.skySubtracted(sframe)
        XCTAssertEqual(q[70], FiberQuality(grade: .minorProblem, reasons: ["SKYCHI2"]))
        XCTAssertEqual(q.indices.filter { q[$0].grade != .good }, [70])
    }

    func testDiagnosisFeatureGradesTheFibersItTouches() {
        // the synthetic defect the diagnosis tests use: a 60 A dip in fibers 50-99
        let sframe = SyntheticFrames.sframe(nspec: 150, nwave: 1000, seed: 2) { f, w in
            (50..<100).contains(f) && abs(w - 6000) < 30 ? -3 : 0
        }
        let fibers = Set(FrameDiagnosis.analyze(sframe).features.flatMap(\.fibers))
        XCTAssertFalse(fibers.isEmpty)
        let q = QualityGrading.skySubtracted(sframe, diagnosedFibers: fibers)
        // (the sky fibers among them also have residuals above their neighbours': SKYCHI2, same grade)
        for f in fibers {
            XCTAssertEqual(q[f].grade, .minorProblem)
            XCTAssertTrue(q[f].reasons.contains("DIAGNOSIS"))
        }
        XCTAssertTrue(fibers.isSubset(of: Set(45..<105)))
    }

    /// Clean fibers: 20 frames of 100 fibers (extraction tests) and 20 sframes of 150 fibers (sky-subtracted tests,
    /// with the diagnosis as the cframe step runs it): at least 98 % of the fibers get grade 0.
    func testCleanSimulatedFibersGetTheBestGrade() {
        var good = 0, total = 0
        for seed in 1...20 {
            let frame = Self.extractedFrame(seed: UInt64(100 + seed))
            var q = QualityGrading.extraction(frame)
            let sframe = SyntheticFrames.sframe(nspec: 150, nwave: 1000, seed: UInt64(200 + seed))
            let diagnosed = Set(FrameDiagnosis.analyze(sframe).features.flatMap(\.fibers))
            q += QualityGrading.skySubtracted(sframe, diagnosedFibers: diagnosed)
            good += q.filter { $0.grade == .good }.count
            total += q.count
        }
        print("clean synthetic fibers graded 0: \(good) of \(total)")
        XCTAssertGreaterThanOrEqual(Double(good) / Double(total), 0.98, "\(good) of \(total) clean fibers graded 0")
    }

    func testGradesSurviveTheFrameFileAndReachTheFrameQA() throws {
        var frame = Self.extractedFrame(nspec: 20, nwave: 200)
        Self.setStatus(&frame, fiber: 3, FiberStatus.badTrace)
        frame.addQuality(QualityGrading.extraction(frame))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grades-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("frame-r0-00000001.fits").path
        try frame.write(to: path)
        let back = try Frame.read(path)
        let table = try XCTUnwrap(back.fibermap?.table)
        guard case .int16(let grades)? = table["QUALITY_GRADE"]?.data else { return XCTFail("QUALITY_GRADE is not int16") }
        XCTAssertEqual(grades[3], 5)
        XCTAssertEqual(back.quality?[3].reasons, ["UPSTREAM"])
        XCTAssertEqual(grades.filter { $0 == 0 }.count, 19)
        let qa = try FrameQA.compute(frame: back, kind: .frame).qa
        XCTAssertEqual(qa["GRADES"]?["NGRADE"], .ints([19, 0, 0, 0, 0, 1]))
        XCTAssertEqual(qa["GRADES"]?["REASONS"]?.list?[3], .string("UPSTREAM"))
        XCTAssertEqual(qa["WARNINGS"]?.list?.count, 0)
    }

    func testExposureAndNightCountGradesPerPetalAtEachFibersWorstCamera() throws {
        func cameraQA(_ cam: String, _ grades: [Int]) -> (String, QAValue) {
            (cam, .dict([("CAMERA", .string(cam)), ("EXPID", .int(7)), ("NIGHT", .string("20250101")),
                         ("GRADES", .dict([("NGRADE", .ints((0...5).map { g in grades.filter { $0 == g }.count })),
                                           ("FIBER", .ints(Array(grades.indices).map { $0 + 500 * Int(cam.dropFirst())! })),
                                           ("GRADE", .ints(grades))])),
                         ("WARNINGS", .list([]))]))
        }
        let e = QAExposure(expid: 7, night: "20250101", flavor: "science", cameras: [
            cameraQA("b0", [0, 2, 0, 0]), cameraQA("r0", [0, 0, 3, 0]), cameraQA("z0", [0, 1, 0, 0]),
            cameraQA("b1", [0, 0, 0, 5]),
        ])
        let petals = QualityQA.petalCounts(e)
        XCTAssertEqual(petals.map(\.petal), [0, 1])
        XCTAssertEqual(petals[0].counts, [2, 0, 1, 1, 0, 0])
        XCTAssertEqual(petals[1].counts, [3, 0, 0, 0, 0, 1])
        let v = e.qaValue
        XCTAssertEqual(v["GRADES_PER_PETAL"]?["1"], .ints([3, 0, 0, 0, 0, 1]))
        let row = try XCTUnwrap(v["SUMMARY"]?.list?.first)
        XCTAssertEqual(row["GRADE_2"], .int(1))
        let html = HTMLIndex.exposurePage(e, figures: [])
        XCTAssertTrue(html.contains("Quality grades per petal"))
        let night = QANight(night: "20250101", exposures: [e]).qaValue(metrics: [])
        XCTAssertEqual(night["GRADES_PER_PETAL"]?["7"]?["0"], .ints([2, 0, 1, 1, 0, 0]))
    }
}
