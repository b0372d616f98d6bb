import Foundation
import XCTest

@testable import PSF

/// Trace shifts give the same offsets and traces, to the bit, whatever the number of threads (DESISPEC_NCPU).
final class TraceShiftThreadCountTests: XCTestCase {
    func testResultsDoNotDependOnTheThreadCount() throws {
        let scene = try TraceShiftTests.makeScene(dx: 0.2, dy: -0.3, seed: 7)
        var o = TraceShiftOptions()
        o.degxx = 1; o.degxy = 0; o.degyx = 1; o.degyy = 0
        o.continuumSubtract = true   // the night's science setting (--sky): running medians and cross-correlations
        func run(threads: String) throws -> TraceShiftResult {
            setenv("DESISPEC_NCPU", threads, 1)
            defer { unsetenv("DESISPEC_NCPU") }
            return try computeTraceShifts(image: scene.image, xTrace: scene.psf.xTrace, yTrace: scene.psf.yTrace,
                                          psf: scene.psf, options: o)
        }
        let one = try run(threads: "1"), three = try run(threads: "3")
        XCTAssertEqual(one.offsets, three.offsets)
        XCTAssertEqual(one.xTrace.coefficients, three.xTrace.coefficients)
        XCTAssertEqual(one.yTrace.coefficients, three.yTrace.coefficients)
        XCTAssertTrue(one.offsets.contains { $0.axis == 0 }, "no y offsets measured")
    }
}
