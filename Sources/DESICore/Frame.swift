import FITS

/// Extracted spectra of one camera (desispec.frame.Frame): flux, ivar and mask [nspec, nwave] row-major,
/// one wavelength grid (Angstrom, vacuum), the resolution matrices, the fibermap rows of these fibers,
/// and chi2 per pixel of the 2D fit. The same type holds frames, sframes and cframes (see `header["BUNIT"]`).
public struct Frame: Sendable {
    public var wave: [Double]
    public var flux: [Float]
    public var ivar: [Float]
    public var mask: [UInt32]
    public var resolution: ResolutionData?
    public var fibermap: Fibermap?
    public var chi2pix: [Float]?
    public var header: FITSHeader
    /// Per-spectrum scores, the SCORES HDU (desispec's frame.scores; see `FrameScores`), and the comments of its columns.
    public var scores: FITSTable? = nil
    public var scoreComments: [String: String] = [:]

    public init(wave: [Double], flux: [Float], ivar: [Float], mask: [UInt32], resolution: ResolutionData? = nil,
                fibermap: Fibermap? = nil, chi2pix: [Float]? = nil, header: FITSHeader = FITSHeader()) {
        let n = flux.count
        precondition(wave.count > 0 && n % wave.count == 0, "flux size must be a multiple of the number of wavelengths")
        precondition(ivar.count == n && mask.count == n, "flux, ivar and mask must have the same size")
        self.wave = wave; self.flux = flux; self.ivar = ivar; self.mask = mask
        self.resolution = resolution; self.fibermap = fibermap; self.chi2pix = chi2pix; self.header = header
    }

    public var nwave: Int { wave.count }
    public var nspec: Int { flux.count / wave.count }
}
