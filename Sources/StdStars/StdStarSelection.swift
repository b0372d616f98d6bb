import DESICore
import Foundation

/// Which fibers hold standard stars (desispec.fluxcalibration.isStdStar).
public enum StdStarSelection {
    /// STD_FAINT (33) and STD_BRIGHT (35) of desi_mask; GAIA_STD_FAINT (33) and GAIA_STD_BRIGHT (35) of mws_mask.
    public static let stdBits: Int64 = (1 << 33) | (1 << 35)
    /// FIBERSTATUS VARIABLETHRU (bit 14): never a standard.
    public static let variableThroughput: UInt32 = 1 << 14

    /// Rows that are standard stars: DESI_TARGET (or SV1/SV2/SV3_DESI_TARGET) STD bits, MWS_TARGET Gaia STD bits,
    /// else FA_TYPE bit 1 (value 2) when no targeting bit is set; fibers with VARIABLETHRU are excluded.
    public static func isStdStar(_ fm: Fibermap) -> [Bool] {
        let n = fm.count
        var yes = [Bool](repeating: false, count: n)
        for prefix in ["", "SV1_", "SV2_", "SV3_"] {
            for col in [prefix + "DESI_TARGET", prefix + "MWS_TARGET"] {
                if let v = fm.table[col]?.data.ints { for i in 0..<n where Int64(v[i]) & stdBits != 0 { yes[i] = true } }
            }
        }
        if !yes.contains(true), let fa = fm.table["FA_TYPE"]?.data.ints {
            for i in 0..<n where fa[i] & 2 != 0 { yes[i] = true }
        }
        let status = fm.fiberStatus
        for i in 0..<n where status[i] & variableThroughput != 0 { yes[i] = false }
        return yes
    }

    /// FIBERSTATUS bits that exclude a fiber from the standard-star fit (desispec get_stdstars_fiberbitmask_val):
    /// all fatal bits, the camera's BADAMP bit, and POORPOSITION.
    public static func badStatusMask(arm: Camera.Arm) -> UInt32 {
        FiberStatus.brokenFiber | FiberStatus.missingPosition | FiberStatus.badPosition | FiberStatus.badFiber
            | FiberStatus.badTrace | FiberStatus.badArc | FiberStatus.badFlat | FiberStatus.manyBadColumns
            | FiberStatus.manyRejected | FiberStatus.poorPosition | FiberStatus.badAmp(arm: arm)
    }
}
