import ArgumentParser
import DESICore
import Foundation
import Pipeline

/// Where the raw data and the production are: options, else DESI_SPECTRO_DATA / DESI_SPECTRO_REDUX + SPECPROD.
struct ProductionLocation: ParsableArguments {
    @Option(name: .customLong("raw-root"), help: "Raw data folder (default $DESI_SPECTRO_DATA).")
    var rawRoot: String?
    @Option(name: .customLong("prod-root"), help: "Production folder (default $DESI_SPECTRO_REDUX/$SPECPROD).")
    var prodRoot: String?

    func layout() throws -> ProductionLayout {
        let files = FileLayout(rawDataDir: rawRoot, specprodDir: prodRoot)
        guard let raw = try? files.rawDataRoot() else {
            throw PipelineError.invalid("no raw data folder: give --raw-root or set DESI_SPECTRO_DATA")
        }
        return ProductionLayout(rawRoot: absolute(raw), prodRoot: try productionRoot(prodRoot))
    }

    /// The production's layout and its task database (created when absent).
    func database() throws -> (layout: ProductionLayout, database: StateDatabase) {
        let layout = try layout()
        return (layout, try StateDatabase(path: layout.database))
    }
}

/// The production folder: `option` (--prod-root), else $DESI_SPECTRO_REDUX/$SPECPROD (FileLayout.specprodRoot),
/// made absolute.
func productionRoot(_ option: String?) throws -> String {
    guard let prod = try? FileLayout(specprodDir: option).specprodRoot() else {
        throw DESIError.invalidArgument("no production folder: give --prod-root or set DESI_SPECTRO_REDUX and SPECPROD")
    }
    return absolute(prod)
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// This executable's own path, so that drivers run the same build for each task.
func selfExecutable() -> URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
}
