import DESICore
import Foundation
import XCTest

/// Every path the pipeline writes, written out as desispec's findfile templates give them (production /r/p, raw data
/// /d, night 20201216, exposure 68039, tile 7951), from `findfile` and from the templates the pipeline calls.
final class FileLayoutProductionTests: XCTestCase {
    let files = FileLayout(rawDataDir: "/d", specprodDir: "/r/p", environment: [:])
    let night = 20201216, expid = 68039

    func testRawData() throws {
        XCTAssertEqual(try files.findfile(.raw, night: night, expid: expid), "/d/20201216/00068039/desi-00068039.fits.fz")
        XCTAssertEqual(try files.findfile(.rawfibermap, night: night, expid: expid), "/d/20201216/00068039/fibermap-00068039.fits")
        let dir = FileLayout.rawExposureDir(rawRoot: "/d", night: "20201216", expid: expid)
        XCTAssertEqual(dir, "/d/20201216/00068039")
        XCTAssertEqual(FileLayout.rawNightDir(rawRoot: "/d", night: "20201216"), "/d/20201216")
        XCTAssertEqual(FileLayout.truthFileName(expid: expid), "truth-00068039.fits")
        XCTAssertEqual(FileLayout.truthPSFFileName(camera: "r1"), "truth-psf-r1.fits")
        XCTAssertEqual(FileLayout.startingPSFFileName(camera: "r1"), "psf-r1.fits")
    }

    func testPreprocAndExposureProducts() throws {
        let r1 = Camera("r1")
        XCTAssertEqual(try files.findfile(.preproc, night: night, expid: expid, camera: r1),
                       "/r/p/preproc/20201216/00068039/preproc-r1-00068039.fits")
        let expected: [(DESIFileType, String)] = [
            (.psf, "/r/p/exposures/20201216/00068039/psf-r1-00068039.fits"),
            (.frame, "/r/p/exposures/20201216/00068039/frame-r1-00068039.fits"),
            (.fiberflat, "/r/p/exposures/20201216/00068039/fiberflat-r1-00068039.fits"),
            (.sky, "/r/p/exposures/20201216/00068039/sky-r1-00068039.fits"),
            (.fluxcalib, "/r/p/exposures/20201216/00068039/fluxcalib-r1-00068039.fits"),
            (.cframe, "/r/p/exposures/20201216/00068039/cframe-r1-00068039.fits"),
        ]
        for (type, path) in expected {
            XCTAssertEqual(try files.findfile(type, night: night, expid: expid, camera: r1), path)
            let dir = FileLayout.exposureDir(specprod: "/r/p", night: "20201216", expid: expid)
            XCTAssertEqual("\(dir)/\(FileLayout.cameraFileName(type.rawValue, camera: "r1", expid: expid))", path)
        }
        XCTAssertEqual(try files.findfile(.stdstars, night: night, expid: expid, spectrograph: 1),
                       "/r/p/exposures/20201216/00068039/stdstars-1-00068039.fits")
        XCTAssertEqual(FileLayout.spectrographFileName("stdstars", spectrograph: 1, expid: expid), "stdstars-1-00068039.fits")
    }

    func testCalibnightAndTiles() throws {
        XCTAssertEqual(try files.findfile(.psfnight, night: night, camera: Camera("b0")),
                       "/r/p/calibnight/20201216/psfnight-b0-20201216.fits")
        XCTAssertEqual(try files.findfile(.fiberflatnight, night: night, camera: Camera("b0")),
                       "/r/p/calibnight/20201216/fiberflatnight-b0-20201216.fits")
        XCTAssertEqual(try files.findfile(.spectra, night: night, spectrograph: 0, tile: 7951),
                       "/r/p/tiles/cumulative/7951/20201216/spectra-0-7951-thru20201216.fits")
        XCTAssertEqual(try files.findfile(.coadd, night: night, spectrograph: 0, tile: 7951),
                       "/r/p/tiles/cumulative/7951/20201216/coadd-0-7951-thru20201216.fits")
        XCTAssertEqual(FileLayout.tileDir(specprod: "/r/p", group: "cumulative", tile: 7951, subgroup: "20201216"),
                       "/r/p/tiles/cumulative/7951/20201216")
        XCTAssertEqual(try files.findfile(.fiberassign, night: night, expid: expid, tile: 7951),
                       "/d/20201216/00068039/fiberassign-007951.fits.gz")
    }

    func testQA() throws {
        XCTAssertEqual(try files.findfile(.qaframe, night: night, expid: expid, camera: Camera("z3")),
                       "/r/p/QA/exposures/20201216/00068039/qa-z3-00068039.json")
        XCTAssertEqual(try files.findfile(.qaexposurejson, night: night, expid: expid),
                       "/r/p/QA/exposures/20201216/00068039/qa-00068039.json")
        XCTAssertEqual(try files.findfile(.qaHTML, night: night, expid: expid), "/r/p/QA/exposures/20201216/00068039/qa-00068039.html")
        XCTAssertEqual(try files.findfile(.qanighthtml, night: night), "/r/p/QA/qa-20201216.html")
        let dir = FileLayout.qaExposureDir(specprod: "/r/p", night: "20201216", expid: expid)
        XCTAssertEqual(dir, "/r/p/QA/exposures/20201216/00068039")
        XCTAssertEqual(FileLayout.qaFrameFigure("sky", folder: dir, camera: "b0", expid: expid), "\(dir)/qa-sky-b0-00068039.png")
        XCTAssertEqual(FileLayout.qaExposureFile(folder: dir, expid: expid, ext: "png"), "\(dir)/qa-00068039.png")
        XCTAssertEqual(FileLayout.qaNightFile(specprod: "/r/p", night: "20201216", ext: "json"), "/r/p/QA/qa-20201216.json")
        XCTAssertEqual(FileLayout.qaNightFigureName(night: "20201216", metric: "SKYSUB.MED_RESID"), "qa-20201216-SKYSUB_MED_RESID.png")
    }

    func testRunFolder() throws {
        XCTAssertEqual(try files.findfile(.taskdb), "/r/p/run/tasks.sqlite")
        XCTAssertEqual(FileLayout.logDir(specprod: "/r/p", night: "20201216"), "/r/p/run/logs/night/20201216")
        XCTAssertEqual(FileLayout.scriptDir(specprod: "/r/p"), "/r/p/run/scripts")
    }

    func testRelatedFilesOfAFrame() {
        let related = FileLayout.relatedFiles(of: "/r/p/exposures/20201216/00068039/cframe-b0-00068039.fits",
                                              camera: "b0", expid: expid, night: "20201216")
        XCTAssertEqual(related.candidates(["sky"], nightly: "fiberflatnight"), [
            "/r/p/exposures/20201216/00068039/sky-b0-00068039.fits", "/r/p/exposures/20201216/00068039/sky-b0-00068039.fits.gz",
            "/r/p/calibnight/20201216/fiberflatnight-b0-20201216.fits", "/r/p/calibnight/20201216/fiberflatnight-b0-20201216.fits.gz",
        ])
        let noSearch = FileLayout.relatedFiles(of: "frame-b0-00068039.fits", camera: "b0", expid: expid, night: "", search: false)
        XCTAssertEqual(noSearch.candidates(["sky"]), [])
    }

    func testExpidIsFormattedInOnePlace() {
        XCTAssertEqual(FileLayout.expidString(68039), "00068039")
        XCTAssertEqual(FileLayout.cameraFileName("frame", camera: "r1", expid: 5), "frame-r1-00000005.fits")
        XCTAssertEqual(FileLayout.exposureFileName("desi", expid: 5, ext: "fits.fz"), "desi-00000005.fits.fz")
    }
}
