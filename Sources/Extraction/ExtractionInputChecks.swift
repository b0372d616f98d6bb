import DESICore
import Foundation
import PSF

/// The checks of an extraction's inputs against its PSF, shared by `extractSpectra`, `boxcarExtract` and
/// `extractFrame` (which reads the inputs from files and names them in its messages: `psfName`, `imageName`).
public enum ExtractionInputCheck {
    /// Throws unless the `count` fibers from `first` are fibers of the PSF.
    public static func fibers(first: Int, count: Int, psf: any SpectralPSF, psfName: String? = nil) throws {
        guard first >= 0, count > 0, first + count <= psf.nspec else {
            let asked = "\(first)..<\(first + count)"
            guard let psfName else {
                throw DESIError.invalidArgument("fibers \(asked) are outside the PSF's 0..<\(psf.nspec)")
            }
            throw DESIError.invalidArgument("spectra \(asked) are outside the \(psf.nspec) fibers of PSF \(psfName)")
        }
    }

    /// Throws unless the PSF covers every wavelength of the grid (to 1e-6 relative).
    public static func wavelengths(_ grid: WaveGrid, psf: any SpectralPSF, psfName: String? = nil) throws {
        let wfirst = grid.wavelength(0), wlast = grid.wavelength(grid.count - 1)
        let tol = 1e-6 * max(1, abs(wlast))
        guard wfirst >= psf.wavemin - tol && wlast <= psf.wavemax + tol else {
            let asked = String(format: "%.2f-%.2f", wfirst, wlast)
            let covered = String(format: "%.2f-%.2f", psf.wavemin, psf.wavemax)
            guard let psfName else {
                throw DESIError.invalidArgument("wavelength range \(asked) A is not covered by the PSF (\(covered) A)")
            }
            throw DESIError.mismatch("wavelengths \(asked) A are not covered by PSF \(psfName) (\(covered) A)")
        }
    }

    /// Throws unless the image has the size of the CCD the PSF describes.
    public static func imageSize(_ image: Image, psf: any SpectralPSF, imageName: String? = nil,
                                 psfName: String? = nil) throws {
        guard image.ny == psf.npixY && image.nx == psf.npixX else {
            let imageText = imageName.map { "image \($0)" } ?? "image"
            let psfText = psfName.map { "PSF \($0)" } ?? "the PSF"
            throw DESIError.mismatch("\(imageText) is \(image.ny)x\(image.nx) pixels but \(psfText) describes a "
                                     + "\(psf.npixY)x\(psf.npixX) CCD")
        }
    }
}
