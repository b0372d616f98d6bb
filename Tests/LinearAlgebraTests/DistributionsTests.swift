import LinearAlgebra
import XCTest

final class DistributionsTests: XCTestCase {
    func testChiSquareSurvivalMatchesScipy() {
        // scipy.stats.chi2.sf
        let cases: [(Double, Int, Double)] = [(10, 5, 0.07523524614651217), (100, 80, 0.064570368921133),
                                              (3, 10, 0.9814240637778593), (2000, 1900, 0.054206673889018606),
                                              (0.5, 1, 0.47950012218695337)]
        for (x, dof, expected) in cases {
            XCTAssertEqual(Distributions.chi2SF(x, dof: Double(dof)), expected, accuracy: 1e-10 + 1e-9 * expected, "chi2=\(x) dof=\(dof)")
        }
    }

    func testChiSquareCDFAndQuantilesAgree() {
        for dof in [1.0, 4, 9, 80] {
            for p in [0.01, 0.5, 0.95] {
                let x = Distributions.chi2PPF(p, dof: dof)
                XCTAssertEqual(Distributions.chi2CDF(x, dof: dof), p, accuracy: 1e-10, "dof \(dof) p \(p)")
                XCTAssertEqual(Distributions.chi2SF(x, dof: dof), 1 - p, accuracy: 1e-10, "dof \(dof) p \(p)")
            }
        }
    }
}
