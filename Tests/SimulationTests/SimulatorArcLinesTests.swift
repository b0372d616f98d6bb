import PSF
import XCTest

@testable import Simulation

/// The simulator draws arcs with the line list the PSF fit uses by default (the shipped measured list), with or
/// without the shared data folder.
final class SimulatorArcLinesTests: XCTestCase {
    func testArcsUseTheShippedMeasuredList() throws {
        let measured = try ArcLamps.measured()
        let builtin = SpectralInputs.builtin().arcLines
        XCTAssertEqual(builtin.map(\.wavelength), measured.map(\.wavelength))
        XCTAssertEqual(builtin.map(\.flux), measured.map(\.intensity))
    }
}
