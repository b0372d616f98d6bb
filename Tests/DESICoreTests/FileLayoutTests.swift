import DESICore
import Foundation
import XCTest

/// Exact names for given inputs; expected paths printed by desispec 0.70 desispec.io.meta.findfile with
/// DESI_SPECTRO_REDUX=/r SPECPROD=p DESI_SPECTRO_DATA=/d DESI_COMPRESSION=NONE.
final class FileLayoutTests: XCTestCase {
    let env = ["DESI_SPECTRO_REDUX": "/r", "SPECPROD": "p", "DESI_SPECTRO_DATA": "/d", "DESI_COMPRESSION": "NONE"]
    var paths: FileLayout { FileLayout(environment: env) }
    let night = 20201216, expid = 68039

    func testExposureFiles() throws {
        let p = paths
        XCTAssertEqual(try p.findfile(.raw, night: night, expid: expid), "/d/20201216/00068039/desi-00068039.fits.fz")
        XCTAssertEqual(try p.findfile(.fibermap, night: night, expid: expid), "/r/p/preproc/20201216/00068039/fibermap-00068039.fits")
        XCTAssertEqual(try p.findfile(.preproc, night: night, expid: expid, camera: Camera("b0")),
                       "/r/p/preproc/20201216/00068039/preproc-b0-00068039.fits")
        XCTAssertEqual(try p.findfile(.psf, night: night, expid: expid, camera: Camera("r1")),
                       "/r/p/exposures/20201216/00068039/psf-r1-00068039.fits")
        XCTAssertEqual(try p.findfile(.fitpsf, night: night, expid: expid, camera: Camera("r1")),
                       "/r/p/exposures/20201216/00068039/fit-psf-r1-00068039.fits")
        XCTAssertEqual(try p.findfile(.psfnight, night: night, camera: Camera("z9")), "/r/p/calibnight/20201216/psfnight-z9-20201216.fits")
        for t: DESIFileType in [.frame, .sframe, .cframe] {
            XCTAssertEqual(try p.findfile(t, night: night, expid: expid, camera: Camera("r1")),
                           "/r/p/exposures/20201216/00068039/\(t.rawValue)-r1-00068039.fits")
        }
        XCTAssertEqual(try p.findfile(.fiberflat, night: night, expid: expid, camera: Camera("b2")),
                       "/r/p/exposures/20201216/00068039/fiberflat-b2-00068039.fits")
        XCTAssertEqual(try p.findfile(.fiberflatnight, night: night, camera: Camera("b2")),
                       "/r/p/calibnight/20201216/fiberflatnight-b2-20201216.fits")
        XCTAssertEqual(try p.findfile(.sky, night: night, expid: expid, camera: Camera("z3")),
                       "/r/p/exposures/20201216/00068039/sky-z3-00068039.fits")
        XCTAssertEqual(try p.findfile(.stdstars, night: night, expid: expid, spectrograph: 4),
                       "/r/p/exposures/20201216/00068039/stdstars-4-00068039.fits")
        XCTAssertEqual(try p.findfile(.fluxcalib, night: night, expid: expid, camera: Camera("z3")),
                       "/r/p/exposures/20201216/00068039/fluxcalib-z3-00068039.fits")
        XCTAssertEqual(try p.findfile(.biasnight, night: 20211014, camera: Camera("b0")),
                       "/r/p/calibnight/20211014/biasnight-b0-20211014.fits")
        XCTAssertEqual(try p.findfile(.badfibers, night: 20211014), "/r/p/calibnight/20211014/badfibers-20211014.csv")
    }

    func testSpectraFiles() throws {
        let p = paths
        XCTAssertEqual(try p.findfile(.coadd, night: 20211014, spectrograph: 6, tile: 7951),
                       "/r/p/tiles/cumulative/7951/20211014/coadd-6-7951-thru20211014.fits")
        XCTAssertEqual(try p.findfile(.spectra, night: 20211014, spectrograph: 6, tile: 7951, grouping: .pernight),
                       "/r/p/tiles/pernight/7951/20211014/spectra-6-7951-20211014.fits")
        XCTAssertEqual(try p.findfile(.redrock, expid: expid, spectrograph: 0, tile: 80605, grouping: .perexp),
                       "/r/p/tiles/perexp/80605/00068039/redrock-0-80605-exp00068039.fits")
        XCTAssertEqual(try p.findfile(.coadd, healpix: 9557, survey: "main", faprogram: "dark"),
                       "/r/p/healpix/main/dark/95/9557/coadd-main-dark-9557.fits")
        XCTAssertEqual(try p.findfile(.spectra, healpix: 27, survey: "SV3", faprogram: "Bright"),
                       "/r/p/healpix/sv3/bright/0/27/spectra-sv3-bright-27.fits")
        XCTAssertEqual(try p.findfile(.tileqa, night: 20211014, tile: 7951),
                       "/r/p/tiles/cumulative/7951/20211014/tile-qa-7951-thru20211014.fits")
        XCTAssertEqual(try p.findfile(.exposureTable, night: 20211014), "/r/p/exposure_tables/202110/exposure_table_20211014.csv")
        XCTAssertEqual(try p.findfile(.processingTable, night: 20211014), "/r/p/processing_tables/processing_table_p-20211014.csv")
        XCTAssertEqual(try p.findfile(.exposures), "/r/p/exposures-p.fits")
    }

    func testQAAndOverrides() throws {
        let p = paths
        XCTAssertEqual(try p.findfile(.qa, night: night, expid: expid, camera: Camera("b0")),
                       "/r/p/QA/exposures/20201216/00068039/qa-b0-00068039.yaml")
        XCTAssertEqual(try p.qaFigure("sky", night: night, expid: expid, camera: Camera("b0")!),
                       "/r/p/QA/exposures/20201216/00068039/qa-sky-b0-00068039.png")
        // Explicit roots and outdir win over the environment.
        let q = FileLayout(rawDataDir: "/raw", specprodDir: "/tmp/prod", environment: [:])
        XCTAssertEqual(try q.findfile(.frame, night: night, expid: 5, camera: Camera("z1")),
                       "/tmp/prod/exposures/20201216/00000005/frame-z1-00000005.fits")
        XCTAssertEqual(try q.findfile(.raw, night: night, expid: 5), "/raw/20201216/00000005/desi-00000005.fits.fz")
        XCTAssertEqual(try q.findfile(.sky, night: night, expid: 5, camera: Camera("z1"), outdir: "/out"), "/out/sky-z1-00000005.fits")
        XCTAssertEqual(try q.findfile(.exposures), "/tmp/prod/exposures-prod.fits")
        // DESI_COMPRESSION=GZ adds .gz where desispec does.
        var gz = env; gz["DESI_COMPRESSION"] = "gz"
        let g = FileLayout(environment: gz)
        XCTAssertEqual(try g.findfile(.frame, night: night, expid: expid, camera: Camera("b0")),
                       "/r/p/exposures/20201216/00068039/frame-b0-00068039.fits.gz")
        XCTAssertEqual(try g.findfile(.psf, night: night, expid: expid, camera: Camera("b0")),
                       "/r/p/exposures/20201216/00068039/psf-b0-00068039.fits")
        // DESI_ROOT fallback for raw data.
        XCTAssertEqual(try FileLayout(environment: ["DESI_ROOT": "/desi"]).rawDataRoot(), "/desi/spectro/data")
        XCTAssertEqual(FileLayout.expidString(7), "00000007")
    }

    func testMissingInputsNameWhatIsMissing() {
        XCTAssertThrowsError(try FileLayout(environment: ["SPECPROD": "p"])
            .findfile(.frame, night: night, expid: expid, camera: Camera("b0"))) { e in
            XCTAssertTrue("\(e)".contains("DESI_SPECTRO_REDUX"), "\(e)")
        }
        XCTAssertThrowsError(try FileLayout(environment: ["DESI_SPECTRO_REDUX": "/r"])
            .findfile(.frame, night: night, expid: expid, camera: Camera("b0"))) { e in
            XCTAssertTrue("\(e)".contains("SPECPROD"), "\(e)")
        }
        XCTAssertThrowsError(try FileLayout(environment: [:]).findfile(.raw, night: night, expid: expid)) { e in
            XCTAssertTrue("\(e)".contains("DESI_SPECTRO_DATA"), "\(e)")
        }
        XCTAssertThrowsError(try paths.findfile(.frame, night: night, expid: expid)) { e in
            XCTAssertTrue("\(e)".contains("camera"), "\(e)")
        }
        XCTAssertThrowsError(try paths.findfile(.frame, night: night, camera: Camera("b0"))) { e in
            XCTAssertTrue("\(e)".contains("expid"), "\(e)")
        }
        XCTAssertThrowsError(try paths.findfile(.psfnight, night: 2021101, camera: Camera("b0"))) { e in
            XCTAssertTrue("\(e)".contains("YEARMMDD"), "\(e)")
        }
        XCTAssertThrowsError(try FileLayout.validateNight(20210230))
        XCTAssertThrowsError(try FileLayout.validateNight(20211301))
        XCTAssertNoThrow(try FileLayout.validateNight(20200229))
        XCTAssertThrowsError(try paths.findfile(.coadd, spectrograph: 1, tile: 5)) { e in XCTAssertTrue("\(e)".contains("night"), "\(e)") }
        XCTAssertThrowsError(try paths.findfile(.coadd, healpix: 5)) { e in XCTAssertTrue("\(e)".contains("survey"), "\(e)") }
    }
}

final class DESIFileNameTests: XCTestCase {
    func testParse() {
        XCTAssertEqual(DESIFileName.parse("/a/b/frame-r1-00068039.fits"),
                       DESIFileName(prefix: "frame", camera: Camera("r1"), spectrograph: 1, expid: 68039))
        XCTAssertEqual(DESIFileName.parse("fit-psf-z9-00000012.fits.gz"),
                       DESIFileName(prefix: "fit-psf", camera: Camera("z9"), spectrograph: 9, expid: 12))
        XCTAssertEqual(DESIFileName.parse("psfnight-b0-20201216.fits"),
                       DESIFileName(prefix: "psfnight", camera: Camera("b0"), spectrograph: 0, night: 20201216))
        XCTAssertEqual(DESIFileName.parse("stdstars-4-00068039.fits"), DESIFileName(prefix: "stdstars", spectrograph: 4, expid: 68039))
        XCTAssertEqual(DESIFileName.parse("desi-00068039.fits.fz"), DESIFileName(prefix: "desi", expid: 68039))
        XCTAssertEqual(DESIFileName.parse("fibermap-00068039.fits"), DESIFileName(prefix: "fibermap", expid: 68039))
        XCTAssertNil(DESIFileName.parse("notes.txt"))
        XCTAssertNil(DESIFileName.parse("frame.fits"))
        // findfile and parse agree.
        let p = FileLayout(specprodDir: "/p", environment: [:])
        let path = try? p.findfile(.sky, night: 20201216, expid: 68039, camera: Camera("z3"))
        XCTAssertEqual(DESIFileName.parse(path ?? ""), DESIFileName(prefix: "sky", camera: Camera("z3"), spectrograph: 3, expid: 68039))
    }
}
