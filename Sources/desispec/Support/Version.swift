import DESICore

/// The CLI's version (`desispec --version`, HISTORY lines): the one defined with the provenance in DESICore.
enum DesispecVersion {
    static let string = DESIProvenance.version
}
