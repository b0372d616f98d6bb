import DESICore
import FITS
import Foundation
import PSF

/// The wavelength grids of `extractFrame`: the requested (output) grid, desispec's default one, and the
/// barycentric correction that relates the output grid to the grid extracted on the CCD.
public enum ExtractionWavelengths {
    /// desispec.scripts.extract's step without -w (its CPU path, main_mpi).
    public static let defaultStep = 0.7

    /// desispec.scripts.extract's grid without -w: from the smallest wavelength seen by every fiber (specter's
    /// PSF.wmin_all, at the CCD edge y = -0.5) rounded up, to the largest seen by every fiber (wmax_all, at
    /// y = npixY - 0.5) rounded down, in steps of 0.7 A; kept within the PSF's fitted range (WAVEMIN-WAVEMAX),
    /// which specter's edges can pass by extrapolation.
    public static func defaultGrid(psf: any SpectralPSF) -> WaveGrid {
        let top = Double(psf.npixY) - 0.5
        let wminAll = (0..<psf.nspec).map { psf.wavelength(fiber: $0, y: -0.5) }.max() ?? psf.wavemin
        let wmaxAll = (0..<psf.nspec).map { psf.wavelength(fiber: $0, y: top) }.min() ?? psf.wavemax
        let wmin = max(wminAll, psf.wavemin).rounded(.up), wmax = min(wmaxAll, psf.wavemax).rounded(.down)
        var grid = WaveGrid(wmin: wmin, wmax: wmax, dw: defaultStep)
        // np.arange(wmin, wmax + dw/2, dw) may end up to dw/2 past wmax: keep the grid inside the PSF.
        while grid.count > 1 && grid.wavelength(grid.count - 1) > psf.wavemax { grid.count -= 1 }
        return grid
    }

    /// The output grid: "wmin,wmax,dw" (-w), else `defaultGrid`.
    public static func requestedGrid(_ spec: String?, psf: any SpectralPSF) throws -> WaveGrid {
        guard let w = spec else { return defaultGrid(psf: psf) }
        let parts = w.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let d = parts[2], d > 0, b > a else {
            throw DESIError.invalidArgument("-w/--wavelength must be wmin,wmax,dw with wmin < wmax and dw > 0, got '\(w)'")
        }
        return WaveGrid(wmin: a, wmax: b, dw: d)
    }

    /// The grid extracted on the CCD (observatory frame) for an output grid in the barycentric frame:
    /// wavelengths divided by the factor, as desispec.scripts.extract does.
    public static func observedGrid(_ grid: WaveGrid, barycentricFactor f: Double) -> WaveGrid {
        f == 1 ? grid : WaveGrid(wave0: grid.wave0 / f, dw: grid.dw / f, count: grid.count)
    }

    /// desispec's barycentric factor of an exposure: from the image header if it has RA or TARGTRA, else from
    /// the FIBERMAP HDU header of the fibermap file (or of the image), else an error naming both.
    public static func barycentricFactor(image: Image, imagePath: String, fibermapPath: String?) throws -> Double {
        func hasPointing(_ h: FITSHeader) -> Bool { h["RA"] != nil || h["TARGTRA"] != nil }
        if hasPointing(image.header) {
            return try BarycentricCorrection.factor(header: image.header, source: imagePath)
        }
        let fibermapFile = fibermapPath ?? imagePath
        if let header = try? fibermapHeader(fibermapFile), hasPointing(header) {
            return try BarycentricCorrection.factor(header: header, source: "\(fibermapFile)[FIBERMAP]")
        }
        throw DESIError.badFile(path: imagePath, problem: "--barycentric-correction needs RA or TARGTRA (and MJD-OBS or "
                                + "MJD) in the image header or in the FIBERMAP header of \(fibermapFile)")
    }

    private static func fibermapHeader(_ path: String) throws -> FITSHeader {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(name: "FIBERMAP")
        return try f.readHeader()
    }
}
