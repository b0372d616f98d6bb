import DESICore
import FITS
import Foundation

/// Which fitted standards calibrate a camera (desispec.scripts.fluxcalibration.main): a star whose model colour
/// differs from its measured colour by more than `deltaColorCut` + 0.2 E(B-V) (an allowance for the reddening
/// error) is discarded. Returns the kept model indices and a note per discarded star.
public func selectCalibrationStars(_ models: StdStarModels, frameFibermap: Fibermap?, deltaColorCut: Double,
                                   color: String? = nil) throws -> (kept: [Int], notes: [String]) {
    let all = Array(0..<models.count)
    guard deltaColorCut > 0 else { return (all, []) }
    let names = models.metadata.columns.map(\.name)
    let c: String
    if let given = color { c = given }
    else if names.contains("MODEL_G-R") { c = "G-R" }
    else if names.contains("MODEL_GAIA-BP-RP") { c = "GAIA-BP-RP" }
    else { return (all, ["no MODEL_G-R or MODEL_GAIA-BP-RP column in the models: no colour cut"]) }
    guard let model = models.metadata["MODEL_" + c]?.data.doubles, let data = models.metadata["DATA_" + c]?.data.doubles else {
        throw DESIError.invalidArgument("the standard-star models have no MODEL_\(c) / DATA_\(c) columns")
    }
    // E(B-V) of each star from the frame's fibermap (by fiber), 0 where unknown
    var ebvByFiber: [Int: Double] = [:]
    if let fm = frameFibermap, let e = fm.table["EBV"]?.data.doubles { for (i, f) in fm.fibers.enumerated() { ebvByFiber[f] = e[i] } }
    var kept: [Int] = [], notes: [String] = []
    for k in all {
        let ebv = ebvByFiber[models.fibers[k]] ?? 0
        let d = model[k] - data[k]
        if abs(d) < deltaColorCut + 0.2 * ebv { kept.append(k) }
        else {
            notes.append(String(format: "fiber %d: |model - data| %@ = %.3f > %.2f + 0.2 EBV, discarded",
                                models.fibers[k], c, abs(d), deltaColorCut))
        }
    }
    return (kept, notes)
}
