import DESICore
import Foundation
import PSF

/// The size of a simulated CCD.
public enum SimulatedCCDSize {
    /// Rows and columns of the CCD: `named` full (4128 x 4114, DESI's), narrow (DESI's 4128 rows, just wide enough
    /// for `nspec` fibers, 40 more columns for Gauss-Hermite tails) or small (1024 rows, as wide as narrow);
    /// `ny` / `nx` override it (positive and even: four amplifiers); with `psfPath`, the CCD that PSF describes
    /// (rounded up to even sizes). Messages name the `desispec simulate` options.
    public static func resolve(named: String, nspec: Int, psfModel: SimulationOptions.PSFModel, ny: Int?, nx: Int?,
                               psfPath: String?) throws -> (ny: Int, nx: Int) {
        let tails = psfModel == .gaussHermite ? 40 : 0
        var size: (ny: Int, nx: Int)
        switch named {
        case "full": size = (4128, 4114)
        case "narrow": size = (4128, AnalyticPSF.requiredWidth(nspec: nspec) + tails)
        case "small": size = (1024, AnalyticPSF.requiredWidth(nspec: nspec) + tails)
        default: throw DESIError.invalidArgument("--ccd-size must be full, narrow or small, got '\(named)'")
        }
        if let ny { size.ny = ny }
        if let nx { size.nx = nx }
        guard size.ny > 0 && size.nx > 0 && size.ny % 2 == 0 && size.nx % 2 == 0 else {
            throw DESIError.invalidArgument("--ny and --nx must be positive and even (four amplifiers), got \(size.ny)x\(size.nx)")
        }
        if let psfPath {
            // the CCD is the one the PSF describes
            let loaded = try readPSF(psfPath)
            size = (loaded.npixY + loaded.npixY % 2, loaded.npixX + loaded.npixX % 2)
        }
        return size
    }
}
