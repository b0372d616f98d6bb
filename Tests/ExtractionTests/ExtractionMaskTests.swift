import DESICore
import XCTest

@testable import Extraction

/// BAD2DFIT as desispec.scripts.extract.get_chi2pix_mask sets it, and the old fixed threshold.
final class ExtractionMaskTests: XCTestCase {
    /// 5 fibers x 6 wavelengths, chi2pix 1 except: a sky line at wavelength 2 (20 in every fiber), a bright fiber 1
    /// (10 everywhere, 40 at wavelength 4) and one bad fit, fiber 0 at wavelength 4 (50).
    let nspec = 5, nwave = 6
    var chi2: [Double] {
        var c = [Double](repeating: 1, count: nspec * nwave)
        for k in 0..<nwave { c[1 * nwave + k] = 10 }
        for s in 0..<nspec { c[s * nwave + 2] = 20 }
        c[0 * nwave + 4] = 50
        c[1 * nwave + 4] = 40
        return c
    }

    func flagged(_ bad: [Bool]) -> [[Int]] {
        bad.indices.filter { bad[$0] }.map { [$0 / nwave, $0 % nwave] }
    }

    func testRelativeRuleFlagsOnlyWhatIsBadAlongBothAxes() {
        // sky line: 20 is not above 5 x its wavelength's median (20); bright fiber 1: 40 is not above 5 x its median
        // (10); fiber 0 at wavelength 4: 50 > 5 x 1 (median over fibers at 4: 1, 1, 1, 40, 50 -> 1) and > 5 x 1.
        let bad = ExtractionMask.bad2DFit(chi2pix: chi2, nspec: nspec, nwave: nwave, rule: .desispec)
        XCTAssertEqual(flagged(bad), [[0, 4]])
    }

    func testScaleIsStrict() {
        var c = [Double](repeating: 1, count: nspec * nwave)
        c[3 * nwave + 1] = 5   // exactly 5 x both medians: not flagged (desispec uses >)
        XCTAssertEqual(flagged(ExtractionMask.bad2DFit(chi2pix: c, nspec: nspec, nwave: nwave, rule: .desispec)), [])
        c[3 * nwave + 1] = 5.0001
        XCTAssertEqual(flagged(ExtractionMask.bad2DFit(chi2pix: c, nspec: nspec, nwave: nwave, rule: .desispec)), [[3, 1]])
    }

    func testOldThreshold() {
        XCTAssertEqual(flagged(ExtractionMask.bad2DFit(chi2pix: chi2, nspec: nspec, nwave: nwave, rule: .oldThreshold)), [])
        let bad = ExtractionMask.bad2DFit(chi2pix: chi2, nspec: nspec, nwave: nwave, rule: .threshold(15))
        XCTAssertEqual(flagged(bad), [[0, 2], [0, 4], [1, 2], [1, 4], [2, 2], [3, 2], [4, 2]])
    }

    func testSpectralMaskBits() {
        var masked = [Double](repeating: 0, count: nspec * nwave)
        masked[7] = 0.5; masked[8] = 0.51; masked[9] = 1
        let mask = ExtractionMask.spectralMask(maskedFraction: masked, chi2pix: chi2, nspec: nspec, nwave: nwave,
                                               rule: .desispec)
        XCTAssertEqual(mask[7], 0, "SOMEBADPIX needs more than half")
        XCTAssertEqual(mask[8], SpecMask.someBadPix)
        XCTAssertEqual(mask[9], SpecMask.someBadPix | SpecMask.allBadPix)
        XCTAssertEqual(mask[4], SpecMask.bad2DFit)
        XCTAssertEqual(mask.filter { $0 != 0 }.count, 3)
    }
}
