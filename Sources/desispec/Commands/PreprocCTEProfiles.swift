import DESICore
import Foundation
import PSF
import Preproc

/// The PSF's cross-dispersion profiles for the CTE correction's row-by-row image model (desispec loads the PSF with
/// specter in get_rowbyrow_image_model, which only models Gauss-Hermite PSFs).
enum PreprocCTEProfiles {
    static func provider(psfPath: String) throws -> @Sendable (Int, Image?) throws -> CrossDispersionProfiles {
        guard let gh = try readPSF(psfPath) as? GaussHermitePSF else {
            throw DESIError.badFile(path: psfPath, problem: "not a GAUSS-HERMITE PSF: the CTE correction's row-by-row "
                                    + "image model needs its GH-k-0 coefficients")
        }
        return { ny, image in gh.rowProfiles(ny: ny, shiftFrom: image) }
    }
}
