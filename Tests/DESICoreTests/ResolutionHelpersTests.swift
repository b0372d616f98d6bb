import DESICore
import Foundation
import XCTest

final class ResolutionHelpersTests: XCTestCase {
    /// desispec.resolution.Resolution(np.array([1.0, 1.5, 0.7, 2.0, 1.2])): data rows and products printed by desispec 0.70.
    func testGaussianMatchesDesispec() {
        let r = ResolutionData.gaussian(sigmas: [1.0, 1.5, 0.7, 2.0, 1.2], nspec: 1)
        XCTAssertEqual(r.ndiag, 21)
        let diag10: [Double] = [0.3829249225480261, 0.26111731963647267, 0.5249494759460469, 0.1974126513658474, 0.32307776097862073]
        let diag9: [Double] = [0.24173033745712888, 0.21078608625030654, 0.2214629764231481, 0.1746663219402081, 0.23281134584383428]
        for j in 0..<5 {
            XCTAssertEqual(Double(r.data[10 * 5 + j]), diag10[j], accuracy: 1e-7)
            XCTAssertEqual(Double(r.data[9 * 5 + j]), diag9[j], accuracy: 1e-7)
        }
        XCTAssertEqual(Double(r.data[12 * 5 + 2]), 0.015884765913454835, accuracy: 1e-8)
        XCTAssertEqual(Double(r.data[0 * 5 + 3]), 9.410336374027217e-07, accuracy: 1e-10)
        let x: [Double] = [1, 2, 3, 4, 5]
        let rx: [Double] = [1.1229166147707077, 1.9964715055934465, 3.190880166427513, 2.8458031035160314, 2.43788766908855]
        let rtx: [Double] = [1.0732325073080458, 1.9987137091295877, 2.998934881857759, 2.4945269552081184, 2.8431156985548087]
        for (a, b) in zip(r.apply(spec: 0, to: x), rx) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        for (a, b) in zip(r.applyTranspose(spec: 0, to: x), rtx) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testDenseRowsTransposeAndNormalisation() {
        let nwave = 30, nspec = 2
        let sig = (0..<(nspec * nwave)).map { 0.8 + 0.03 * Double($0 % nwave) + 0.2 * Double($0 / nwave) }
        let r = ResolutionData.gaussian(sigmas: sig, nspec: nspec, ndiag: 11, normalize: true)
        // Columns sum to 1 exactly with normalisation (column j holds the kernel of sigma j).
        let m = r.dense(spec: 1)
        for j in 0..<nwave where j >= 5 && j < nwave - 5 {
            XCTAssertEqual((0..<nwave).reduce(0.0) { $0 + m[$1 * nwave + j] }, 1, accuracy: 1e-6)
        }
        // Row extraction agrees with element() and dense().
        let (first, values) = r.row(spec: 1, 12)
        XCTAssertEqual(first, 7)
        XCTAssertEqual(values.count, 11)
        for (o, v) in values.enumerated() {
            XCTAssertEqual(v, Double(r.element(spec: 1, row: 12, column: first + o)))
            XCTAssertEqual(v, m[12 * nwave + first + o])
        }
        XCTAssertEqual(r.row(spec: 0, 0).first, 0)
        XCTAssertEqual(r.row(spec: 0, 0).values.count, 6)
        // <y, R x> == <R^T y, x>.
        let x = (0..<nwave).map { sin(Double($0)) + 2 }, y = (0..<nwave).map { cos(0.3 * Double($0)) }
        let lhs = zip(y, r.apply(spec: 1, to: x)).reduce(0.0) { $0 + $1.0 * $1.1 }
        let rhs = zip(r.applyTranspose(spec: 1, to: y), x).reduce(0.0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-9)
        // Dense -> band -> dense round trip, and spectrum selection.
        let back = ResolutionData.fromDense([r.dense(spec: 0), r.dense(spec: 1)], nwave: nwave, ndiag: 11)
        XCTAssertEqual(back.dense(spec: 1), r.dense(spec: 1))
        XCTAssertEqual(r.selecting(spectra: [1]).dense(spec: 0), r.dense(spec: 1))
        // A narrow kernel is nearly the identity: R x == x for a linear x away from the edges.
        let narrow = ResolutionData.gaussian(sigmas: [Double](repeating: 0.3, count: nwave), nspec: 1)
        let linear = (0..<nwave).map { 2 + 0.5 * Double($0) }
        XCTAssertEqual(narrow.apply(spec: 0, to: linear)[15], linear[15], accuracy: 1e-5)
    }
}
