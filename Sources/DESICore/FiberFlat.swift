import FITS

/// A fiber flat (desispec.fiberflat.FiberFlat): the ratio of each fiber's flat-lamp spectrum to the mean,
/// to be divided into frames. `flat`, `ivar`, `mask` are [nspec, nwave] row-major; `meanspec` is the
/// deconvolved mean lamp spectrum [nwave]; `wave` in Angstrom.
public struct FiberFlat: Sendable {
    public var wave: [Double]
    public var flat: [Double]
    public var ivar: [Double]
    public var mask: [UInt32]
    public var meanspec: [Double]
    /// Reduced chi2 of the fit of the mean spectrum (header CHI2PDF), when known.
    public var chi2pdf: Double?
    public var header: FITSHeader
    public var fibermap: Fibermap?

    public init(wave: [Double], flat: [Double], ivar: [Double], mask: [UInt32]? = nil, meanspec: [Double]? = nil,
                chi2pdf: Double? = nil, header: FITSHeader = FITSHeader(), fibermap: Fibermap? = nil) throws {
        let nw = wave.count
        guard nw > 0, flat.count % nw == 0, flat.count > 0 else {
            throw DESIError.invalidArgument("fiber flat of \(flat.count) values does not fit \(nw) wavelengths")
        }
        guard ivar.count == flat.count else {
            throw DESIError.invalidArgument("fiber flat ivar has \(ivar.count) values, flat has \(flat.count)")
        }
        if let mask, mask.count != flat.count {
            throw DESIError.invalidArgument("fiber flat mask has \(mask.count) values, flat has \(flat.count)")
        }
        if let meanspec, meanspec.count != nw {
            throw DESIError.invalidArgument("meanspec has \(meanspec.count) values for \(nw) wavelengths")
        }
        self.wave = wave; self.flat = flat; self.ivar = ivar
        self.mask = mask ?? ivar.map { $0 == 0 ? 1 : 0 }
        self.meanspec = meanspec ?? [Double](repeating: 1, count: nw)
        self.chi2pdf = chi2pdf; self.header = header; self.fibermap = fibermap
    }

    public var nwave: Int { wave.count }
    public var nspec: Int { flat.count / wave.count }
}
