import ArgumentParser
import FITS
import Foundation

/// `desispec diff A B`: compares two FITS files HDU by HDU (images and tables), for debugging a change or comparing
/// with desispec's output of the same step.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two FITS files HDU by HDU: shapes, largest and rms differences, columns.",
        discussion: """
        Example: desispec diff frame-r0-00000003.fits ref/frame-r0-00000003.fits --hdu FLUX --rtol 1e-5
        Exit code 0 when every compared HDU agrees within the tolerances, 3 when some differ, 1 on error.
        """
    )

    @Argument(help: "First file.") var first: String
    @Argument(help: "Second file.") var second: String
    @Option(name: .long, help: "Compare only this HDU (repeatable).") var hdu: [String] = []
    @Option(name: .long, help: "Absolute tolerance.") var atol: Double = 0
    @Option(name: .long, help: "Relative tolerance (of the larger magnitude).") var rtol: Double = 0

    func run() throws {
        var differ = false
        try runStep {
            differ = try FITSComparison(atol: atol, rtol: rtol).compare(first, second, hdus: hdu) { print($0) }
        }
        if differ { throw ExitCode(3) }
    }
}
