import DESICore
import FiberFlat
import Foundation
import Sky

/// Reads a frame and, when given, applies a fiber flat and subtracts a sky model: the sframe that standard-star
/// fitting, flux calibration and cframes start from (as desispec's scripts do before their own step).
func loadSkySubtractedFrame(frame path: String, fiberflat: String?, sky: String?) throws -> Frame {
    var frame = try Frame.read(path)
    if let fiberflat {
        let ff = try FiberFlat.read(fiberflat)
        do { try applyFiberFlat(&frame, ff) } catch { throw DESIError.mismatch("\(path) and \(fiberflat): \(error)") }
    }
    if let sky {
        let model = try SkyModel.read(sky)
        do { try subtractSky(&frame, model) } catch { throw DESIError.mismatch("\(path) and \(sky): \(error)") }
    }
    return frame
}

/// Where stellar templates and filter curves come from: the option, else $STD_TEMPLATES / the filters under
/// $DESISPEC_TESTDATA, else the built-in synthetic grid and analytic filters (what the simulator uses by default).
enum StandardStarInputs {
    static func templatesPath(_ option: String?) -> String? {
        option ?? ProcessInfo.processInfo.environment["STD_TEMPLATES"]
    }
}
