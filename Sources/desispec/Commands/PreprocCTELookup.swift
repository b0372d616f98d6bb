import DESICore
import FITS
import Foundation
import Preproc

/// Where `desispec preproc` finds the CCD region masks and the CTE parameters, as desispec.preproc.preproc:
/// - region masks: $DESI_SPECTRO_CALIB/ccd/ccd-region-mask.csv (the calibration config's folder), rows of this
///   exposure; no table: a warning and no region (desispec's ccdregionmask); --noregionmask skips them;
/// - CTE: needed when the calibration config has CTECOLS<amp> for an amplifier of the camera and the exposure is not a
///   ZERO or a DARK (desispec.correct_cte.needs_ctecorr); the parameters come from --cte-params FILE, else the
///   production's calibnight/NIGHT/ctecorr-NIGHT.yaml (findfile('ctecorrnight')); --no-cte-correction skips it.
enum PreprocCTELookup {
    static func needed(raw: RawImage, config: CalibrationConfig?) -> Bool {
        guard let c = config else { return false }
        let obstype = (raw.primaryHeader.string("OBSTYPE") ?? raw.header.string("OBSTYPE") ?? "")
            .trimmingCharacters(in: .whitespaces).uppercased()
        if obstype == "ZERO" || obstype == "DARK" { return false }
        return (try? CTEParameters.sectors(config: c, ampIDs: amplifierIDs(raw.header)).isEmpty == false) ?? true
    }

    /// The night's CTE parameter file of the production, when DESI_SPECTRO_REDUX and SPECPROD are set.
    static func nightlyParameters(_ raw: RawImage) -> String? {
        let env = ProcessInfo.processInfo.environment
        guard env["DESI_SPECTRO_REDUX"] != nil, env["SPECPROD"] != nil,
              let night = CalibrationConfig.nightOf([raw.header, raw.primaryHeader]) else { return nil }
        return try? FileLayout().findfile(.ctecorr, night: night)
    }
}

extension PreprocCommand {
    /// Sets the region masks and the CTE options of `o`.
    func addRegionMasksAndCTE(to o: inout PreprocOptions, raw: RawImage, config: CalibrationConfig?,
                              log: (String) -> Void) throws {
        o.noCTECorrection = noCteCorrection
        if !noCteCorrection {
            if let f = cteParams {
                guard FileManager.default.fileExists(atPath: f) else {
                    throw DESIError.badFile(path: f,
                                            problem: "CTE parameter file does not exist (--no-cte-correction skips the correction)")
                }
                o.cteParameterFile = f
            } else {
                o.cteParameterFile = PreprocCTELookup.nightlyParameters(raw)
            }
        }
        guard !noregionmask else { return }
        guard let dir = config?.directory ?? ProcessInfo.processInfo.environment["DESI_SPECTRO_CALIB"] else { return }
        let table = CCDRegionMask.tablePath(calibrationDirectory: dir)
        guard FileManager.default.fileExists(atPath: table) else {
            log("no file \(table): no CCD region mask")
            return
        }
        o.regionMasks = try CCDRegionMask.regions(table: table, headers: [raw.header, raw.primaryHeader])
    }
}
