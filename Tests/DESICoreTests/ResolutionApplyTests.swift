import DESICore
import Foundation
import XCTest

/// The one product of a resolution matrix and a spectrum, on Float (frame) and Double (star fit) diagonals.
final class ResolutionApplyTests: XCTestCase {
    func testDiagonalsProductMatchesDenseAndStorageKinds() {
        let nwave = 30
        let sigmas = (0..<(2 * nwave)).map { 0.8 + 0.02 * Double($0 % nwave) }
        let r = ResolutionData.gaussian(sigmas: sigmas, nspec: 2, ndiag: 7)
        let x = (0..<nwave).map { 1 + sin(0.3 * Double($0)) }
        for spec in 0..<2 {
            let y = r.apply(spec: spec, to: x)
            let dense = r.dense(spec: spec)
            for i in 0..<nwave {
                let expected = (0..<nwave).reduce(0.0) { $0 + dense[i * nwave + $1] * x[$1] }
                XCTAssertEqual(y[i], expected, accuracy: 1e-12)
            }
            // the same diagonals held as Double (as the standard-star fit holds them) give the same bits
            let per = r.ndiag * nwave
            let asDouble = r.data[(spec * per)..<((spec + 1) * per)].map { Double($0) }
            XCTAssertEqual(ResolutionData.apply(diagonals: asDouble, ndiag: r.ndiag, to: x), y)
        }
    }
}
