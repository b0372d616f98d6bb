import DESICore

/// Options of the spectroperfectionism extraction (specter.extract.ex2d as called by desispec.scripts.extract).
public struct ExtractionOptions: Sendable {
    /// Fibers per bundle: fibers of different bundles are extracted independently.
    public var bundleSize: Int = 25
    /// Overlapping sub-bundles per bundle (each extracted with one neighbour fiber on each side); 5 as desi_extract_spectra.
    public var nSubBundles: Int = 5
    /// Core wavelength bins per divide-and-conquer patch.
    public var waveStep: Int = 50
    /// Extra regularisation added (squared) to the diagonal of the inverse covariance.
    public var regularize: Double = 0
    /// Decorrelate the noise between fibers (specter's ndecorr; not recommended).
    public var decorrelateFibers: Bool = false
    /// Fractional PSF model error, used for chi2pix (hence BAD2DFIT) only (specter's psferr; default 0.01 as specter's PSF).
    public var psfError: Double = 0.01
    /// Fraction of a PSF spot size padded in pixels (rows) around each patch.
    public var pixPadFraction: Double = 0.8
    /// Fraction of a PSF spot size padded in wavelength around each patch.
    public var wavePadFraction: Double = 0.2
    /// Number of stored resolution diagonals (odd); nil = as specter: min(9 sigma / dw, spot half size) on each side.
    public var ndiag: Int? = nil
    /// Threads (patches run in parallel); nil = all cores.
    public var threads: Int? = nil
    /// Also build the 2D model image of the fitted spectra.
    public var computeModel: Bool = false
    /// Pixels with any of these CCD mask bits get zero weight.
    public var pixelMaskBits: UInt32
    /// How BAD2DFIT is set from chi2pix (default: desispec's current rule, 5 times the medians).
    public var bad2DFitRule: Bad2DFitRule = .desispec

    public init(bundleSize: Int = 25, nSubBundles: Int = 5, waveStep: Int = 50, regularize: Double = 0,
                decorrelateFibers: Bool = false, psfError: Double = 0.01, pixPadFraction: Double = 0.8,
                wavePadFraction: Double = 0.2, ndiag: Int? = nil, threads: Int? = nil, computeModel: Bool = false,
                pixelMaskBits: UInt32 = extractionMaskDefault, bad2DFitRule: Bad2DFitRule = .desispec) {
        self.bundleSize = bundleSize; self.nSubBundles = nSubBundles; self.waveStep = waveStep
        self.regularize = regularize; self.decorrelateFibers = decorrelateFibers; self.psfError = psfError
        self.pixPadFraction = pixPadFraction; self.wavePadFraction = wavePadFraction; self.ndiag = ndiag
        self.threads = threads; self.computeModel = computeModel; self.pixelMaskBits = pixelMaskBits
        self.bad2DFitRule = bad2DFitRule
    }
}

/// desispec.maskbits.extractmaskval.
public let extractionMaskDefault: UInt32 = CCDMask.extractionMask
