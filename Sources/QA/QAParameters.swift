import DESICore

/// Thresholds of the frame QA: the defaults of desispec.qa.qa_frame.QA_Frame (init_fiberflat, init_skysub,
/// init_fluxcalib).
public struct QAParameters: Sendable {
    // Fiber flat.
    public var maxNMask = 20000
    public var maxScaleOffset = 0.05
    public var maxOffset = 0.15
    public var maxMeanOffset = 0.05
    public var maxRMS = 0.02
    // Sky subtraction.
    /// A sky fiber whose residual chi2 has a probability below this is counted in NBAD_PCHI.
    public var pchiResidual = 0.05
    /// Central percentage whose bounds RESID_PER reports.
    public var residualPercent = 95.0
    /// Bin size of the histogram of residual/sigma.
    public var binSize = 0.1
    // Flux calibration.
    public var maxZPOffset = 0.2

    public init() {}

    /// Wavelength at which the zero point is quoted, per arm (desispec: b 4800, r 6500, z 8250 A).
    public static func zeroPointWavelength(_ arm: Camera.Arm) -> Double {
        switch arm { case .b: return 4800; case .r: return 6500; case .z: return 8250 }
    }
}
