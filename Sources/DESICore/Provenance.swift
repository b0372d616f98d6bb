import FITS
import Foundation

/// Software name and version recorded in the headers of the files we write.
public enum DESIProvenance {
    public static let softwareName = "desispec-swift"
    /// The only definition of the version: the CLI (`desispec --version`) and the HISTORY lines use it too.
    public static let version = "0.1.0"

    /// The provenance line of an output, the one form every writer uses: "desispec-swift VERSION COMMAND ARGUMENTS..."
    /// (HISTORY cards, QA's SOFTWARE entries). `arguments` are joined with spaces as given.
    public static func line(command: String, arguments: [String] = []) -> String {
        ([softwareName, version, command] + arguments).joined(separator: " ")
    }

    /// A HISTORY note of this software that is not a command line (what a simulated file is, for instance).
    public static func note(_ text: String) -> String { "\(softwareName) \(version) \(text)" }

    /// Replaces $DESI_SPECTRO_REDUX/$SPECPROD by SPECPROD and $DESI_SPECTRO_CALIB by SPCALIB in a path, as
    /// desispec.io.util.shorten_filename does, so header values stay short.
    public static func shortenFilename(_ path: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let calib = environment["DESI_SPECTRO_CALIB"], !calib.isEmpty, path.hasPrefix(calib) {
            return "SPCALIB" + path.dropFirst(calib.count)
        }
        if let redux = environment["DESI_SPECTRO_REDUX"], let prod = environment["SPECPROD"], !redux.isEmpty, !prod.isEmpty {
            let root = (redux as NSString).appendingPathComponent(prod)
            if path.hasPrefix(root) { return "SPECPROD" + path.dropFirst(root.count) }
        }
        return path
    }
}

extension FITSHeader {
    /// Records a dependency as desiutil.depend.setdep does: the first free DEPNAMnn/DEPVERnn pair (nn = 00..99),
    /// or the pair already naming `name`, whose version is replaced.
    public mutating func addDependency(name: String, version: String) {
        for i in 0..<100 {
            let k = String(format: "%02d", i)
            if let existing = string("DEPNAM\(k)") {
                if existing == name { set("DEPVER\(k)", version); return }
            } else {
                set("DEPNAM\(k)", name); set("DEPVER\(k)", version); return
            }
        }
    }

    /// DEPNAMnn/DEPVERnn naming this software and its version.
    public mutating func addSoftwareDependency() {
        addDependency(name: DESIProvenance.softwareName, version: DESIProvenance.version)
    }

    /// Version recorded for dependency `name` (desiutil.depend.getdep), nil if absent.
    public func dependencyVersion(_ name: String) -> String? {
        for i in 0..<100 {
            let k = String(format: "%02d", i)
            guard let n = string("DEPNAM\(k)") else { continue }
            if n == name { return string("DEPVER\(k)") }
        }
        return nil
    }

    /// Provenance of an output: DEPNAMnn/DEPVERnn for this software, and one HISTORY card
    /// "desispec-swift VERSION COMMAND INPUT..." (inputs shortened as desispec.io.util.shorten_filename does).
    public mutating func addProvenance(command: String, inputs: [String] = [], options: [String] = [],
                                       environment: [String: String] = ProcessInfo.processInfo.environment) {
        addSoftwareDependency()
        let shortened = inputs.map { DESIProvenance.shortenFilename($0, environment: environment) }
        // HISTORY cards hold 72 characters: split a long line over several cards.
        var line = DESIProvenance.line(command: command, arguments: options + shortened)
        while line.count > 72 {
            addHistory(String(line.prefix(72)))
            line = String(line.dropFirst(72))
        }
        if !line.isEmpty { addHistory(line) }
    }

    /// The HISTORY lines, joined back (cards split at 72 characters are continued on the next card).
    public var historyLines: [String] { cards.filter { $0.key == "HISTORY" }.map(\.comment) }
}
