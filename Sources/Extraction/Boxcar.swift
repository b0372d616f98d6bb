import DESICore
import Foundation
import LinearAlgebra
import PSF

/// Row-by-row boxcar sums of one fiber (desispec.qproc.qextract.qproc_boxcar_extraction): for CCD row j the
/// pixels int(x - hw) ... int(x + hw) with hw = width / 2; a row with any zero-weight pixel gets flux 0, ivar 0.
/// Returns flux density (electrons per Angstrom), its ivar and the wavelength of each row.
public func boxcarRows(image: Image, psf: any SpectralPSF, fiber: Int, width: Int = 7,
                       maskBits: UInt32 = CCDMask.extractionMask) -> (wave: [Double], flux: [Double], ivar: [Double]) {
    let ny = image.ny, nx = image.nx, hw = width / 2
    var wave = [Double](repeating: 0, count: ny)
    var flux = [Double](repeating: 0, count: ny)
    var ivar = [Double](repeating: 0, count: ny)
    for j in 0..<ny { wave[j] = psf.wavelength(fiber: fiber, y: Double(j)) }
    image.pix.withUnsafeBufferPointer { pix in
        image.ivar.withUnsafeBufferPointer { iv in
            image.mask.withUnsafeBufferPointer { mk in
                for j in 0..<ny {
                    let x = psf.x(fiber: fiber, wavelength: wave[j])
                    let lo = Int(x - Double(hw)), hi = Int(x + Double(hw) + 1)
                    var s = 0.0, v = 0.0, ok = lo >= 0 && hi <= nx
                    if ok {
                        for i in lo..<hi {
                            let p = j * nx + i
                            if iv[p] <= 0 || (mk[p] & maskBits) != 0 { ok = false; break }
                            s += Double(pix[p]); v += 1 / Double(iv[p])
                        }
                    }
                    // flux density: divide by the wavelength step of the row
                    let dwave = j > 0 ? wave[j] - wave[j - 1] : (ny > 1 ? wave[1] - wave[0] : 1)
                    if ok && v > 0 && dwave > 0 {
                        flux[j] = s / dwave
                        ivar[j] = dwave * dwave / v
                    }
                }
            }
        }
    }
    return (wave, flux, ivar)
}

/// Boxcar extraction onto a regular wavelength grid, as a frame: the row sums of `boxcarRows` are
/// interpolated linearly to each output wavelength; the variance of a bin is the row variance times
/// (row step / dw) (the bin averages dw / row-step rows). The resolution is a Gaussian of the PSF's
/// dispersion sigma at each wavelength, rows normalised to 1 (desispec's quick-look resolution).
public func boxcarExtract(image: Image, psf: any SpectralPSF, fibers: Range<Int>, grid: WaveGrid, width: Int = 7,
                          ndiag: Int = 11, threads: Int? = nil) throws -> ExtractionResult {
    try ExtractionInputCheck.imageSize(image, psf: psf)
    try ExtractionInputCheck.fibers(first: fibers.lowerBound, count: fibers.count, psf: psf)
    guard width >= 1, ndiag >= 1, ndiag % 2 == 1 else { throw DESIError.invalidArgument("boxcar width must be >= 1 and ndiag odd") }
    let nspec = fibers.count, nwave = grid.count, h = ndiag / 2
    struct Out: Sendable { var flux: [Double]; var ivar: [Double]; var rdata: [Float] }
    let nthreads = max(1, min(threads ?? defaultThreadCount(), nspec))
    let outputs = parallelMap(nspec, threads: nthreads) { s -> Out in
        let fiber = fibers.lowerBound + s
        let rows = boxcarRows(image: image, psf: psf, fiber: fiber, width: width)
        var flux = [Double](repeating: 0, count: nwave), ivar = flux
        var rdata = [Float](repeating: 0, count: ndiag * nwave)
        var sigmas = [Double](repeating: 0, count: nwave)
        for k in 0..<nwave {
            let w = grid.wavelength(k)
            let y = psf.y(fiber: fiber, wavelength: w)
            let j0 = Int(y.rounded(.down)), t = y - Double(j0)
            if j0 >= 0 && j0 + 1 < image.ny {
                let a = rows.ivar[j0], b = rows.ivar[j0 + 1]
                if a > 0 && b > 0 {
                    flux[k] = (1 - t) * rows.flux[j0] + t * rows.flux[j0 + 1]
                    let rowVar = (1 - t) / a + t / b
                    let rowStep = rows.wave[j0 + 1] - rows.wave[j0]
                    ivar[k] = 1 / (rowVar * rowStep / grid.dw)
                }
            }
            // one sigma per ten bins is plenty (it varies slowly)
            sigmas[k] = k % 10 == 0 || k == nwave - 1
                ? PatchGeometry.dispersionSigma(psf: psf, fiber: fiber, wavelength: min(max(w, psf.wavemin), psf.wavemax))
                : sigmas[k - k % 10]
        }
        for i in 0..<nwave {
            let sig = max(sigmas[i], 1e-3 * grid.dw)
            var row = [Double](repeating: 0, count: ndiag)
            var sum = 0.0
            for d in 0..<ndiag {
                let off = Double(d - h) * grid.dw
                row[d] = exp(-0.5 * (off / sig) * (off / sig)); sum += row[d]
            }
            // R[i, i + (d - h)] stored at column j = i + d - h, diagonal index h - (j - i) = 2h - d
            for d in 0..<ndiag {
                let j = i + d - h
                if j < 0 || j >= nwave { continue }
                rdata[(2 * h - d) * nwave + j] = Float(row[d] / sum)
            }
        }
        return Out(flux: flux, ivar: ivar, rdata: rdata)
    }
    var flux = [Double](repeating: 0, count: nspec * nwave), ivar = flux
    var rdata = [Float](repeating: 0, count: nspec * ndiag * nwave)
    var mask = [UInt32](repeating: 0, count: nspec * nwave)
    for s in 0..<nspec {
        let o = outputs[s]
        for k in 0..<nwave {
            flux[s * nwave + k] = o.flux[k]; ivar[s * nwave + k] = o.ivar[k]
            if o.ivar[k] == 0 { mask[s * nwave + k] = SpecMask.allBadPix }
        }
        for i in 0..<(ndiag * nwave) { rdata[s * ndiag * nwave + i] = o.rdata[i] }
    }
    return ExtractionResult(grid: grid, fibers: fibers, flux: flux, ivar: ivar, mask: mask,
                            chi2pix: [Double](repeating: 0, count: nspec * nwave),
                            maskedFraction: mask.map { $0 == 0 ? 0 : 1 }, deconvolvedFlux: flux,
                            resolution: ResolutionData(nspec: nspec, ndiag: ndiag, nwave: nwave, data: rdata), model: nil)
}
