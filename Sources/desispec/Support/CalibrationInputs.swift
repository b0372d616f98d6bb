import Foundation

/// Where stellar templates and filter curves come from: the option, else $STD_TEMPLATES / the filters under
/// $DESISPEC_TESTDATA, else the built-in synthetic grid and analytic filters (what the simulator uses by default).
enum StandardStarInputs {
    static func templatesPath(_ option: String?) -> String? {
        option ?? ProcessInfo.processInfo.environment["STD_TEMPLATES"]
    }
}
