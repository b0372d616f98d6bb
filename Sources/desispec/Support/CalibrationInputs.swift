import DESICore
import Foundation

/// Where the standard-star fit's stellar templates come from: `--starmodels`, else $STD_TEMPLATES, else
/// $DESI_BASIS_TEMPLATES/stdstar_templates_v2.2.fits (desi_proc's default); nil when none is given.
enum StandardStarInputs {
    static func templatesPath(_ option: String?) -> String? {
        let env = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        if let o = option ?? env["STD_TEMPLATES"] { return o }
        return env["DESI_BASIS_TEMPLATES"].map { "\($0)/stdstar_templates_v2.2.fits" }
    }
}
