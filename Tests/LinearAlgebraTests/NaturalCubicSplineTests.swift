import LinearAlgebra
import XCTest

final class NaturalCubicSplineTests: XCTestCase {
    /// Values from scipy.interpolate.CubicSpline(x, y, bc_type="natural") (scipy 1.x, computed once).
    func testMatchesScipysNaturalSpline() {
        let s = NaturalCubicSpline(x: [0, 1, 2.5, 3, 4.2], y: [1, 3, 2, -1, 0.5])
        let expected: [(Double, Double)] = [(0.3, 1.6136846446700506), (1.7, 3.8992874600488814),
                                            (2.75, 0.42888774323181056), (4.0, -0.30281772889640934)]
        for (t, v) in expected { XCTAssertEqual(s(t), v, accuracy: 1e-12, "at \(t)") }
        XCTAssertEqual(s(2.5), 2, accuracy: 1e-15, "through the knots")
    }

    func testStraightLineIsExactAndEndsAreHeld() {
        let s = NaturalCubicSpline(x: [1, 2, 4, 7], y: [3, 5, 9, 15])
        for t in stride(from: 1.0, through: 7.0, by: 0.37) { XCTAssertEqual(s(t), 2 * t + 1, accuracy: 1e-12) }
        XCTAssertEqual(s(0), 3)
        XCTAssertEqual(s(9), 15)
        let two = NaturalCubicSpline(x: [0, 2], y: [1, 5])
        XCTAssertEqual(two(0.5), 2, accuracy: 1e-15)
    }
}
