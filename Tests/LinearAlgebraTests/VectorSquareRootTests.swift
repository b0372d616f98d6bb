import XCTest
@testable import LinearAlgebra

/// The vector square roots give `squareRoot()`'s values bit for bit, lane by lane, on ordinary, tiny, huge and
/// subnormal values, zeros of both signs, infinity, negative values and NaN (the loops that use them promise the
/// same outputs as the scalar code).
final class VectorSquareRootTests: XCTestCase {
    static let doubles: [Double] = {
        var v: [Double] = [0, -0.0, 1, 2, 0.25, 1e-300, 1e300, .leastNonzeroMagnitude, .leastNormalMagnitude,
                           .greatestFiniteMagnitude, .infinity, -.infinity, -1, -1e-10, .nan, -.nan, 7.84, 12.25]
        var rng = SplitMix64(seed: 7)
        for _ in 0..<4000 {
            // random bit patterns cover every exponent; half of them positive finite
            let bits = rng.next()
            v.append(Double(bitPattern: bits & 0x7fef_ffff_ffff_ffff))
            v.append(Double(bitPattern: bits))
        }
        return v
    }()

    func sameBits(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }
    func sameBits(_ a: Float, _ b: Float) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

    func testDoubleLanesEqualTheScalarSquareRoot() {
        let v = Self.doubles
        for i in stride(from: 0, to: v.count - 3, by: 4) {
            let lanes = SIMD4(v[i], v[i + 1], v[i + 2], v[i + 3])
            let four = lanes.vectorSquareRoot(), two = SIMD2(v[i], v[i + 1]).vectorSquareRoot()
            for k in 0..<4 {
                XCTAssertTrue(sameBits(four[k], v[i + k].squareRoot()), "sqrt(\(v[i + k])): \(four[k])")
            }
            for k in 0..<2 { XCTAssertTrue(sameBits(two[k], v[i + k].squareRoot()), "sqrt(\(v[i + k])): \(two[k])") }
        }
        // the non-NaN results are exactly the scalar ones (NaN's payload aside)
        XCTAssertEqual(SIMD4<Double>(4, 9, 2, 0).vectorSquareRoot(), SIMD4(2, 3, 2.0.squareRoot(), 0))
    }

    func testFloatLanesEqualTheScalarSquareRoot() {
        let v = Self.doubles.map { Float($0) } + [Float.leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude]
        for i in stride(from: 0, to: v.count - 7, by: 8) {
            let eight = SIMD8(v[i], v[i + 1], v[i + 2], v[i + 3], v[i + 4], v[i + 5], v[i + 6], v[i + 7]).vectorSquareRoot()
            let four = SIMD4(v[i], v[i + 1], v[i + 2], v[i + 3]).vectorSquareRoot()
            for k in 0..<8 { XCTAssertTrue(sameBits(eight[k], v[i + k].squareRoot()), "sqrt(\(v[i + k])): \(eight[k])") }
            for k in 0..<4 { XCTAssertTrue(sameBits(four[k], v[i + k].squareRoot()), "sqrt(\(v[i + k])): \(four[k])") }
        }
        XCTAssertTrue(SIMD4<Float>(-1, 4, .nan, 16).vectorSquareRoot()[0].isNaN)
        XCTAssertEqual(SIMD4<Float>(-1, 4, .nan, 16).vectorSquareRoot()[1], 2)
    }
}
