import DESICore
import Foundation
import PSF
@testable import Simulation

/// Shared small set-ups: a few fibers on a small CCD.
enum SimTest {
    static var dataDirectory: String {
        if let env = ProcessInfo.processInfo.environment["DESISPEC_TESTDATA"] { return env }
        let pkg = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return pkg.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }
    static var hasData: Bool { FileManager.default.fileExists(atPath: dataDirectory + "/spectra/sky-uves.fits") }

    static func psf(nspec: Int, arm: Camera.Arm = .r, ny: Int = 300) throws -> AnalyticPSF {
        try AnalyticPSF.forCamera(arm, nspec: nspec, npixX: AnalyticPSF.requiredWidth(nspec: nspec), npixY: ny)
    }

    /// Legendre polynomial series at u.
    static func legendre(_ c: [Double], _ u: Double) -> Double {
        var p0 = 1.0, p1 = u, s = c[0]
        if c.count > 1 { s += c[1] * u }
        if c.count > 2 {
            for n in 2..<c.count {
                let p2 = ((2 * Double(n) - 1) * u * p1 - (Double(n) - 1) * p0) / Double(n)
                s += c[n] * p2; p0 = p1; p1 = p2
            }
        }
        return s
    }
}
