import DESICore
import FITS
import LinearAlgebra
import XCTest

@testable import Simulation

/// The simulator records the seeing and airmass it used, and writes the instrument's average flux calibration
/// (fluxcalib-CAMERA.fits) that the pipeline falls back on: at the exposure's airmass and seeing, times the exposure
/// time and the fiber's throughput, it is the true calibration of a point source at the field centre (the sky fibers'
/// truth, which has no position dependence).
final class NominalFluxCalibrationTests: XCTestCase {
    func testAverageCalibrationIsTheTruthOfAFieldCentreFiberAndTheHeaderHasTheSeeing() throws {
        let dir = NSTemporaryDirectory() + "nominal-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = SimulationOptions(night: 20250102, expid: 7, flavor: .science, cameras: try Camera.parseList("b0,z0"), nspec: 20,
                                  ny: 200, nx: AnalyticPSF.requiredWidth(nspec: 20), psfPath: nil, exptime: 600, seed: 5,
                                  outdir: dir, dataDirectory: nil, cosmics: false, overwrite: false, truthImages: false,
                                  history: "desispec-swift test simulate")
        o.seeingFWHM = 1.4
        o.averageFluxCalibrationDirectory = dir + "/calib"
        let out = try SimulationRunner.run(o, psfLoader: nil) { _ in }
        let raw = try FITSFile.open(out.raw)
        let ph = try raw.readHeader()
        try raw.close()
        XCTAssertEqual(ph.double("SEEING"), 1.4)
        XCTAssertEqual(ph.double("AIRMASS"), 1.0)

        let fm = try FITSFile.open(out.fibermap)
        let table = try fm.readTable("FIBERMAP")
        try fm.close()
        guard case .string(let objtype)? = table["OBJTYPE"]?.data else { return XCTFail("no OBJTYPE") }
        let sky = objtype.indices.filter { objtype[$0].trimmingCharacters(in: .whitespaces) == "SKY" }
        XCTAssertFalse(sky.isEmpty)

        let truth = try FITSFile.open(out.truth)
        defer { try? truth.close() }
        XCTAssertEqual(try truth.readHeader().double("SEEING"), 1.4)
        for cam in ["b0", "z0"] {
            let average = try AverageFluxCalibration.read("\(dir)/calib/\(FileLayout.averageFluxCalibrationFileName(camera: cam))")
            XCTAssertEqual(average.pivotSeeing, 1.4)
            XCTAssertEqual(average.pivotAirmass, 1.0)
            let C = cam.uppercased()
            let wave = try truth.readImage("\(C)_WAVELENGTH", as: Double.self).data
            let calib = try truth.readImage("\(C)_CALIB", as: Double.self).data
            let thru = try truth.readImage("\(C)_FIBERTHRU", as: Double.self).data
            let model = Interpolation.linear(x: average.wave, y: average.value(airmass: 1.0, seeing: 1.4), at: wave, left: 0, right: 0)
            let nw = wave.count
            var worst = 0.0
            for f in sky {
                for j in 0..<nw where model[j] > 0 && calib[f * nw + j] > 0 {
                    worst = max(worst, abs(calib[f * nw + j] / (model[j] * 600 * thru[f]) - 1))
                }
            }
            print("\(cam): average calibration vs the sky fibers' true calibration, worst relative difference \(worst)")
            XCTAssertLessThan(worst, 1e-4, cam)
        }
    }
}
