import ArgumentParser
import Foundation
import Pipeline

/// Where the raw data and the production are: options, else DESI_SPECTRO_DATA / DESI_SPECTRO_REDUX + SPECPROD.
struct ProductionLocation: ParsableArguments {
    @Option(name: .customLong("raw-root"), help: "Raw data folder (default $DESI_SPECTRO_DATA).")
    var rawRoot: String?
    @Option(name: .customLong("prod-root"), help: "Production folder (default $DESI_SPECTRO_REDUX/$SPECPROD).")
    var prodRoot: String?

    func layout() throws -> ProductionLayout {
        let env = ProcessInfo.processInfo.environment
        let raw = rawRoot ?? env["DESI_SPECTRO_DATA"]
        var prod = prodRoot
        if prod == nil, let redux = env["DESI_SPECTRO_REDUX"], let name = env["SPECPROD"] { prod = "\(redux)/\(name)" }
        guard let raw else { throw PipelineError.invalid("no raw data folder: give --raw-root or set DESI_SPECTRO_DATA") }
        guard let prod else { throw PipelineError.invalid("no production folder: give --prod-root or set DESI_SPECTRO_REDUX and SPECPROD") }
        return ProductionLayout(rawRoot: absolute(raw), prodRoot: absolute(prod))
    }
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// This executable's own path, so that drivers run the same build for each task.
func selfExecutable() -> URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
}
