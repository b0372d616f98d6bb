import DESICore
import XCTest

@testable import Pipeline

/// desi_proc's preproc flags per flavor and camera (desispec.scripts.proc): --model-variance except arcs and darks,
/// --bkgsub-for-science for b cameras of science exposures, with the camera's starting PSF.
final class PreprocFlagsTests: XCTestCase {
    func testFlagsPerFlavorAndCamera() throws {
        let b0 = try XCTUnwrap(Camera("b0")), r0 = try XCTUnwrap(Camera("r0"))
        XCTAssertEqual(preprocFlags(flavor: "science", camera: b0, psfDir: "/p").arguments,
                       ["--model-variance", "--bkgsub-for-science", "--psf", "/p/psf-b0.fits"])
        XCTAssertEqual(preprocFlags(flavor: "science", camera: r0, psfDir: "/p").arguments, ["--model-variance", "--psf", "/p/psf-r0.fits"])
        XCTAssertEqual(preprocFlags(flavor: "flat", camera: b0, psfDir: "/p").arguments, ["--model-variance", "--psf", "/p/psf-b0.fits"])
        XCTAssertEqual(preprocFlags(flavor: "flat", camera: b0, psfDir: "/p").inputs, ["/p/psf-b0.fits"])
        XCTAssertEqual(preprocFlags(flavor: "arc", camera: b0, psfDir: "/p").arguments, [])
        XCTAssertEqual(preprocFlags(flavor: "dark", camera: r0, psfDir: "/p").arguments, [])
        XCTAssertEqual(preprocFlags(flavor: "science", camera: b0, psfDir: nil).arguments, [])
    }
}
