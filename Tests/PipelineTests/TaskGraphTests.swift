import DESICore
import Foundation
import XCTest

@testable import Pipeline

final class TaskGraphTests: XCTestCase {
    static let layout = ProductionLayout(rawRoot: "/raw", prodRoot: "/redux/test")
    static let cams = [Camera("b0")!, Camera("r0")!, Camera("z0")!]

    static func night() throws -> TaskGraph {
        let exposures = [
            ExposureInfo(night: "20250101", expid: 1, flavor: "arc", cameras: cams, tile: nil),
            ExposureInfo(night: "20250101", expid: 2, flavor: "flat", cameras: cams, tile: nil),
            ExposureInfo(night: "20250101", expid: 3, flavor: "science", cameras: cams, tile: 1000),
            ExposureInfo(night: "20250101", expid: 4, flavor: "science", cameras: cams, tile: 1000),
            ExposureInfo(night: "20250101", expid: 9, flavor: "arc", cameras: cams, tile: nil),
        ]
        return try TaskGraph.night("20250101", exposures: exposures, layout: layout, options: NightOptions(inputPSFDir: "/psf"))
    }

    func testCountsPerStep() throws {
        let g = try Self.night()
        let counts = Dictionary(uniqueKeysWithValues: g.countsByType.map { ($0.0, $0.1) })
        XCTAssertEqual(counts[.preproc], 15)      // 5 exposures x 3 cameras
        XCTAssertEqual(counts[.arcshift], 6)      // two arcs x 3 cameras
        XCTAssertEqual(counts[.psf], 6)
        XCTAssertEqual(counts[.psfnight], 3)
        XCTAssertEqual(counts[.traceshift], 9)    // flat + 2 science
        XCTAssertEqual(counts[.extract], 9)
        XCTAssertEqual(counts[.fiberflat], 3)
        XCTAssertEqual(counts[.fiberflatnight], 3)
        XCTAssertEqual(counts[.sky], 6)
        XCTAssertEqual(counts[.stdstars], 2)      // one spectrograph x 2 science exposures
        XCTAssertEqual(counts[.fluxcalib], 6)
        XCTAssertEqual(counts[.cframe], 6)
        XCTAssertEqual(counts[.spectra], 1)       // one tile, one spectrograph
        XCTAssertEqual(counts[.coadd], 1)
        XCTAssertEqual(counts[.qa], 12)           // flat frames and science cframes, per camera; fiber pages per exposure
        XCTAssertEqual(counts[.view], 3)          // 2 science exposures x 1 petal, 1 coadd
        XCTAssertEqual(counts[.qaexposure], 3)    // flat + 2 science
        XCTAssertEqual(counts[.qanight], 1)
    }

    /// The fiber pages of an exposure (plot-fiber --worth-a-look) follow its qa-frame tasks and precede qa-exposure.
    func testFiberPagesComeBeforeQAExposure() throws {
        let g = try Self.night()
        let pages = try XCTUnwrap(g.tasks.first { $0.name == "qa_20250101_00000003_fibers" })
        XCTAssertEqual(Array(pages.arguments.prefix(7)), ["plot-fiber", "--prod-root", "/redux/test", "--night", "20250101",
                                                          "--expid", "3"])
        XCTAssertEqual(pages.outputs, ["/redux/test/QA/exposures/20250101/00000003/fibers/fibers-00000003.json"])
        XCTAssertEqual(Set(pages.dependencies), ["qa_20250101_00000003_b0", "qa_20250101_00000003_r0", "qa_20250101_00000003_z0"])
        let exposure = try XCTUnwrap(g.tasks.first { $0.type == .qaexposure && $0.expid == 3 })
        XCTAssertTrue(exposure.dependencies.contains(pages.name))
    }

    func testANightWithOneArcUsesItsPSFAsTheNightlyPSF() throws {
        let exposures = [
            ExposureInfo(night: "20250101", expid: 1, flavor: "arc", cameras: [Self.cams[1]], tile: nil),
            ExposureInfo(night: "20250101", expid: 2, flavor: "flat", cameras: [Self.cams[1]], tile: nil),
        ]
        let g = try TaskGraph.night("20250101", exposures: exposures, layout: Self.layout, options: NightOptions(inputPSFDir: "/psf"))
        XCTAssertFalse(g.tasks.contains { $0.type == .psfnight })
        let shift = try XCTUnwrap(g.tasks.first { $0.type == .traceshift })
        XCTAssertEqual(Set(shift.dependencies), ["preproc_20250101_00000002_r0", "psf_20250101_00000001_r0"])
        XCTAssertTrue(shift.arguments.contains("/redux/test/exposures/20250101/00000001/psf-r0-00000001.fits"))
    }

    func testArcPSFIsFitFromTheShiftedStartingPSFAndQAFollowsTheCframes() throws {
        let g = try Self.night()
        // desi_proc: the starting PSF moved onto the arc by its trace shifts (shifted-input-psf), then the fit from it
        let shifted = "/redux/test/exposures/20250101/00000001/shifted-input-psf-b0-00000001.fits"
        let shift = try XCTUnwrap(g.tasks.first { $0.name == "arcshift_20250101_00000001_b0" })
        XCTAssertEqual(shift.arguments, ["traceshift", "-i", "/redux/test/preproc/20250101/00000001/preproc-b0-00000001.fits",
                                         "--psf", "/psf/psf-b0.fits", "-o", shifted, "--arc-lamps",
                                         "--degxx", "0", "--degxy", "0", "--degyx", "0", "--degyy", "0"])
        XCTAssertEqual(shift.dependencies, ["preproc_20250101_00000001_b0"])
        let psf = try XCTUnwrap(g.tasks.first { $0.name == "psf_20250101_00000001_b0" })
        XCTAssertEqual(psf.arguments, ["psf", "-i", "/redux/test/preproc/20250101/00000001/preproc-b0-00000001.fits",
                                       "--psf", shifted, "-o", "/redux/test/exposures/20250101/00000001/psf-b0-00000001.fits"])
        XCTAssertEqual(psf.dependencies, ["arcshift_20250101_00000001_b0"])
        // flats: no large shift scan, as desi_proc
        let flatShift = try XCTUnwrap(g.tasks.first { $0.name == "traceshift_20250101_00000002_b0" })
        XCTAssertTrue(flatShift.arguments.contains("--no-large-shift-scan"))
        let qa = try XCTUnwrap(g.tasks.first { $0.name == "qa_20250101_00000003_z0" })
        XCTAssertEqual(qa.dependencies, ["cframe_20250101_00000003_z0"])
        XCTAssertEqual(qa.arguments.prefix(2), ["qa-frame", "/redux/test/exposures/20250101/00000003/cframe-z0-00000003.fits"])
        XCTAssertTrue(qa.arguments.contains("/redux/test/exposures/20250101/00000003/fluxcalib-z0-00000003.fits"))
        let night = try XCTUnwrap(g.tasks.first { $0.type == .qanight })
        XCTAssertEqual(night.dependencies.count, 4)   // the 3 qa-exposure tasks and the coadd's viewer page
        XCTAssertEqual(night.outputs, ["/redux/test/QA/qa-20250101.html"])
    }

    /// Science exposures get desi_proc's sky flags (issue 12).
    func testSkyStepRunsWithDesiProcAdjustments() throws {
        let g = try Self.night()
        let sky = try XCTUnwrap(g.tasks.first { $0.type == .sky })
        XCTAssertEqual(Array(sky.arguments.suffix(2)), ["--adjust-wavelength", "--adjust-lsf"])
    }

    /// With a calibration folder the sky step also fits the CCD sectors' offsets (desi_proc's --fit-offsets), with the
    /// folder's yaml and the exposure's trace-shifted PSF, which becomes an input of the task.
    func testSkyStepFitsSectorOffsetsWithACalibrationFolder() throws {
        let exposures = [ExposureInfo(night: "20250101", expid: 1, flavor: "arc", cameras: Self.cams, tile: nil),
                         ExposureInfo(night: "20250101", expid: 2, flavor: "flat", cameras: Self.cams, tile: nil),
                         ExposureInfo(night: "20250101", expid: 3, flavor: "science", cameras: Self.cams, tile: 1000)]
        var options = NightOptions(inputPSFDir: "/psf")
        options.calibDir = "/calib"
        let g = try TaskGraph.night("20250101", exposures: exposures, layout: Self.layout, options: options)
        let sky = try XCTUnwrap(g.tasks.first { $0.name == "sky_20250101_00000003_r0" })
        let psf = "/redux/test/exposures/20250101/00000003/psf-r0-00000003.fits"
        XCTAssertEqual(Array(sky.arguments.suffix(7)),
                       ["--adjust-wavelength", "--adjust-lsf", "--fit-offsets", "--calib-dir", "/calib", "--psf", psf])
        XCTAssertTrue(sky.inputs.contains(psf))
    }

    func testViewerPagesFollowTheCframesAndCoaddsAndPrecedeTheQAPagesThatLinkThem() throws {
        let g = try Self.night()
        let view = try XCTUnwrap(g.tasks.first { $0.name == "view_20250101_00000004_sp0" })
        let exp = "/redux/test/exposures/20250101/00000004"
        XCTAssertEqual(view.dependencies, ["b0", "r0", "z0"].map { "cframe_20250101_00000004_\($0)" })
        XCTAssertEqual(Array(view.arguments.prefix(4)), ["view"] + ["b0", "r0", "z0"].map { "\(exp)/cframe-\($0)-00000004.fits" })
        XCTAssert(view.arguments.contains("\(exp)/sky-r0-00000004.fits") && view.arguments.contains("\(exp)/fluxcalib-r0-00000004.fits"))
        XCTAssertEqual(Array(view.arguments.suffix(4)), ["--qa-link", "qa-00000004.html", "-o",
                                                         "/redux/test/QA/exposures/20250101/00000004/view-0-00000004.html"])
        let qaExposure = try XCTUnwrap(g.tasks.first { $0.name == "qaexposure_20250101_00000004" })
        XCTAssert(qaExposure.dependencies.contains(view.name))
        let coaddView = try XCTUnwrap(g.tasks.first { $0.type == .view && $0.expid == nil })
        XCTAssertEqual(coaddView.dependencies, ["coadd_20250101_tile1000-sp0"])
        XCTAssertEqual(Array(coaddView.arguments.suffix(4)), [
            "--qa-link", "../../../../qa-20250101.html", "-o",
            "/redux/test/QA/tiles/cumulative/1000/20250101/view-coadd-0-1000-thru20250101.html"])
        let night = try XCTUnwrap(g.tasks.first { $0.type == .qanight })
        XCTAssert(night.dependencies.contains(coaddView.name))
    }

    func testDependenciesComeFirstAndNamesAreUnique() throws {
        let g = try Self.night()
        var seen = Set<String>()
        for t in g.tasks {
            XCTAssertTrue(seen.insert(t.name).inserted, "duplicate task \(t.name)")
            for d in t.dependencies { XCTAssertTrue(seen.contains(d), "\(t.name) depends on \(d), which comes later or is missing") }
        }
    }

    func testScienceExtractionUsesTheNightlyPSFThroughItsTraceShift() throws {
        let g = try Self.night()
        let extract = try XCTUnwrap(g.tasks.first { $0.name == "extract_20250101_00000003_r0" })
        XCTAssertEqual(extract.dependencies, ["traceshift_20250101_00000003_r0"])
        let shift = try XCTUnwrap(g.tasks.first { $0.name == "traceshift_20250101_00000003_r0" })
        XCTAssertEqual(Set(shift.dependencies), ["preproc_20250101_00000003_r0", "psfnight_20250101_r0"])
        XCTAssertTrue(shift.inputs.contains("/redux/test/calibnight/20250101/psfnight-r0-20250101.fits"))
        XCTAssertEqual(extract.outputs, ["/redux/test/exposures/20250101/00000003/frame-r0-00000003.fits"])
        XCTAssertEqual(Array(extract.arguments.drop { $0 != "-w" }.prefix(2)), ["-w", "5760.0,7620.0,0.8"])
    }

    /// desi_proc's extraction flags: the grid per arm, --psferr 0.04 for b and 0.01 for r and z cameras,
    /// --barycentric-correction for science exposures only.
    func testExtractionFlagsPerCameraAndFlavorAsDesiProc() throws {
        let g = try Self.night()
        func flags(_ expid: Int, _ camera: String) throws -> [String] {
            let t = try XCTUnwrap(g.tasks.first { $0.name == "extract_20250101_0000000\(expid)_\(camera)" })
            return Array(t.arguments.drop { $0 != "-w" })
        }
        XCTAssertEqual(try flags(3, "b0"), ["-w", "3600.0,5800.0,0.8", "--psferr", "0.04", "--barycentric-correction"])
        XCTAssertEqual(try flags(3, "r0"), ["-w", "5760.0,7620.0,0.8", "--psferr", "0.01", "--barycentric-correction"])
        XCTAssertEqual(try flags(3, "z0"), ["-w", "7520.0,9824.0,0.8", "--psferr", "0.01", "--barycentric-correction"])
        XCTAssertEqual(try flags(2, "b0"), ["-w", "3600.0,5800.0,0.8", "--psferr", "0.04"])
        XCTAssertEqual(try flags(2, "z0"), ["-w", "7520.0,9824.0,0.8", "--psferr", "0.01"])
        XCTAssertEqual(extractionArguments(.r, flavor: "science", barycentric: false),
                       ["-w", "5760.0,7620.0,0.8", "--psferr", "0.01"], "desi_proc --no-barycentric-correction")
    }

    func testExposureSubgraphCarriesTheCalibrationsItNeeds() throws {
        let g = try Self.night().forExposure(4)
        let types = Set(g.tasks.map(\.type))
        XCTAssertTrue(types.isSuperset(of: [.preproc, .psf, .psfnight, .fiberflatnight, .sky, .cframe]))
        XCTAssertFalse(g.tasks.contains { $0.expid == 3 }, "exposure 3 is not needed to reduce exposure 4")
        XCTAssertFalse(g.tasks.contains { $0.type == .coadd }, "coadds need every exposure of the tile")
    }

    func testMissingArcIsAClearError() {
        let exposures = [ExposureInfo(night: "20250101", expid: 3, flavor: "science", cameras: Self.cams, tile: 1)]
        XCTAssertThrowsError(try TaskGraph.night("20250101", exposures: exposures, layout: Self.layout)) { error in
            XCTAssertTrue("\(error)".contains("no arc exposure for camera b0"), "\(error)")
        }
    }

    func testSlurmScriptsChainStepsAndArrayOverCameras() throws {
        let g = try Self.night()
        let plan = SlurmPlan(graph: g, layout: Self.layout, executable: "/opt/desispec", night: "20250101")
        let preproc = try XCTUnwrap(plan.jobs.first { $0.type == .preproc })
        XCTAssertTrue(preproc.script.contains("#SBATCH --array=0-14"))
        XCTAssertTrue(preproc.after.isEmpty)
        let extract = try XCTUnwrap(plan.jobs.first { $0.type == .extract })
        XCTAssertEqual(extract.after, [.traceshift])
        // the arcs' trace shifts are jobs of their own: the job types stay in dependency order
        XCTAssertEqual(try XCTUnwrap(plan.jobs.first { $0.type == .arcshift }).after, [.preproc])
        XCTAssertEqual(try XCTUnwrap(plan.jobs.first { $0.type == .psf }).after, [.arcshift])
        XCTAssertEqual(Set(try XCTUnwrap(plan.jobs.first { $0.type == .traceshift }).after), [.preproc, .psfnight])
        XCTAssertTrue(extract.script.contains("prod run-task --prod-root /redux/test --raw-root /raw \"${tasks[$SLURM_ARRAY_TASK_ID]}\""))
        let cframe = try XCTUnwrap(plan.jobs.first { $0.type == .cframe })
        XCTAssertEqual(Set(cframe.after), [.sky, .fluxcalib])
    }
}
