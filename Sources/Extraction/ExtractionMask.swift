import DESICore
import LinearAlgebra

/// How BAD2DFIT is set from chi2pix, the reduced chi2 of the 2D model on each spectral bin's pixels.
public enum Bad2DFitRule: Sendable, Equatable {
    /// desispec's current rule (desispec.scripts.extract.get_chi2pix_mask): chi2pix above `scale` times its
    /// median over the fibers at that wavelength AND above `scale` times its median over the wavelengths of that
    /// fiber. The first median follows the expected worse fits on bright sky lines, the second those of bright
    /// objects, so only fits bad for both reasons are flagged. desispec's scale is 5.
    case relativeToMedians(scale: Double)
    /// desispec up to 0.70: chi2pix above a fixed threshold (100).
    case threshold(Double)

    public static let desispec = Bad2DFitRule.relativeToMedians(scale: 5)
    public static let oldThreshold = Bad2DFitRule.threshold(100)
}

public enum ExtractionMask {
    /// The specmask bits of extracted bins (desispec.scripts.extract.get_spectrum_mask): SOMEBADPIX where more than
    /// half of the bin's pixel weight was masked, ALLBADPIX where all of it was, BAD2DFIT by `rule`.
    /// `maskedFraction` and `chi2pix` are [nspec, nwave] row-major over the extracted fibers.
    public static func spectralMask(maskedFraction: [Double], chi2pix: [Double], nspec: Int, nwave: Int,
                                    rule: Bad2DFitRule) -> [UInt32] {
        var mask = [UInt32](repeating: 0, count: nspec * nwave)
        for i in mask.indices {
            if maskedFraction[i] > 0.5 { mask[i] |= SpecMask.someBadPix }
            if maskedFraction[i] >= 1.0 { mask[i] |= SpecMask.allBadPix }
        }
        let bad = bad2DFit(chi2pix: chi2pix, nspec: nspec, nwave: nwave, rule: rule)
        for i in mask.indices where bad[i] { mask[i] |= SpecMask.bad2DFit }
        return mask
    }

    /// Where BAD2DFIT is set, [nspec, nwave] row-major.
    public static func bad2DFit(chi2pix: [Double], nspec: Int, nwave: Int, rule: Bad2DFitRule) -> [Bool] {
        switch rule {
        case .threshold(let t):
            return chi2pix.map { $0 > t }
        case .relativeToMedians(let scale):
            guard nspec > 0, nwave > 0 else { return [] }
            var column = [Double](repeating: 0, count: nspec)
            let perWavelength = (0..<nwave).map { k -> Double in
                for s in 0..<nspec { column[s] = chi2pix[s * nwave + k] }
                return Statistics.medianInPlace(&column)
            }
            var row = [Double](repeating: 0, count: nwave)
            var bad = [Bool](repeating: false, count: nspec * nwave)
            for s in 0..<nspec {
                for k in 0..<nwave { row[k] = chi2pix[s * nwave + k] }
                let perFiber = Statistics.medianInPlace(&row)
                for k in 0..<nwave {
                    let c = chi2pix[s * nwave + k]
                    bad[s * nwave + k] = c > scale * perWavelength[k] && c > scale * perFiber
                }
            }
            return bad
        }
    }
}
