import FITS

/// A sky model (desispec.sky.SkyModel): the sky of every fiber of a frame, already convolved with that fiber's
/// resolution, to be subtracted from the flat-fielded frame. Arrays are [nspec, nwave] row-major.
public struct SkyModel: Sendable {
    public var wave: [Double]
    public var flux: [Double]
    /// Inverse variance including the extra model variance (desispec _model_variance).
    public var ivar: [Double]
    public var mask: [UInt32]
    /// Statistical inverse variance only (STATIVAR).
    public var statIvar: [Double]?
    /// Residual achromatic throughput corrections per fiber, measured on sky lines (THRPUTCORR).
    public var throughputCorrections: [Double]?
    /// Throughput corrections already in the model (THRPUTCORR_MOD; ones for our models).
    public var throughputCorrectionsModel: [Double]?
    /// TARGETIDs of the sky fibers used (SKYTARGETID).
    public var skyTargetIDs: [Int64]?
    /// PCA coefficients of the wavelength and LSF adjustments (DWAVECOEFF, DLSFCOEFF: mean first, then each
    /// eigenvector), where the adjustments were carried to the fibers with a PCA file (`--pca-corr`).
    public var dwaveCoefficients: [Double]?
    public var dlsfCoefficients: [Double]?
    /// Amplitudes of the sky-gradient PCA terms (SKYGRADPCACOEFF). desispec 0.70's compute_sky always writes this
    /// HDU, empty without --skygradpca; so do we ([] for our models, which have no gradient terms).
    public var skyGradientCoefficients: [Double]?
    /// Number of pixels rejected while fitting.
    public var nrej: Int
    public var header: FITSHeader

    public init(wave: [Double], flux: [Double], ivar: [Double], mask: [UInt32], statIvar: [Double]? = nil,
                throughputCorrections: [Double]? = nil, throughputCorrectionsModel: [Double]? = nil,
                skyTargetIDs: [Int64]? = nil, nrej: Int = 0, header: FITSHeader = FITSHeader()) throws {
        let nw = wave.count
        guard nw > 0, flux.count > 0, flux.count % nw == 0 else {
            throw DESIError.invalidArgument("sky model of \(flux.count) values does not fit \(nw) wavelengths")
        }
        guard ivar.count == flux.count, mask.count == flux.count, statIvar.map({ $0.count == flux.count }) ?? true else {
            throw DESIError.invalidArgument("sky model flux, ivar, mask and stat ivar must have the same size")
        }
        let nspec = flux.count / nw
        if let t = throughputCorrections, t.count != nspec {
            throw DESIError.invalidArgument("\(t.count) throughput corrections for \(nspec) fibers")
        }
        self.wave = wave; self.flux = flux; self.ivar = ivar; self.mask = mask; self.statIvar = statIvar
        self.throughputCorrections = throughputCorrections; self.throughputCorrectionsModel = throughputCorrectionsModel
        self.skyTargetIDs = skyTargetIDs; self.nrej = nrej; self.header = header
    }

    public var nwave: Int { wave.count }
    public var nspec: Int { flux.count / wave.count }
}
