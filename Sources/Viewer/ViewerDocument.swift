import Foundation

/// A wavelength grid shared by the spectra of one camera (frames) or one band (spectra, coadds).
public struct ViewerGrid: Sendable, Equatable {
    /// Camera ("b0") or band ("b") name, shown in the legend.
    public var name: String
    /// Wavelengths in Angstrom.
    public var wave: [Double]

    public init(name: String, wave: [Double]) { self.name = name; self.wave = wave }
}

/// One spectrum of a target on one grid, with its optional overlays (all on the grid's wavelengths).
public struct ViewerSpectrum: Sendable {
    /// Index of the grid in `ViewerDocument.grids`.
    public var grid: Int
    public var flux: [Float]
    public var ivar: [Float]
    /// The sky that was subtracted, in the flux's units (sframe, cframe with their sky file).
    public var sky: [Float]?
    /// A model (a --model file resampled on this grid).
    public var model: [Float]?

    public init(grid: Int, flux: [Float], ivar: [Float], sky: [Float]? = nil, model: [Float]? = nil) {
        self.grid = grid; self.flux = flux; self.ivar = ivar; self.sky = sky; self.model = model
    }
}

/// One target of the page: its identifiers, its fibermap row, its quality grade where known, its redshift where a
/// redrock file gives it, and its spectra (one per camera or band).
public struct ViewerTarget: Sendable {
    public var targetID: Int64?
    public var fiber: Int?
    /// The scalar columns of its fibermap row, as (name, value) text.
    public var fibermapRow: [(name: String, value: String)]
    /// QUALITY_GRADE (0-5) and QUALITY_REASONS of the fibermap, when the file has those columns.
    public var qualityGrade: Int?
    public var qualityReasons: String?
    /// Redshift and SPECTYPE from the redrock file.
    public var redshift: Double?
    public var spectype: String?
    public var spectra: [ViewerSpectrum]

    public init(targetID: Int64?, fiber: Int?, fibermapRow: [(name: String, value: String)] = [], spectra: [ViewerSpectrum] = []) {
        self.targetID = targetID; self.fiber = fiber; self.fibermapRow = fibermapRow; self.spectra = spectra
    }
}

/// Everything one viewer page shows: the grids, the targets, where the data came from, and a link back to the QA.
public struct ViewerDocument: Sendable {
    public var title: String
    /// The files read (their names are shown on the page).
    public var sources: [String]
    /// Unit of the flux axis.
    public var fluxUnit: String
    public var grids: [ViewerGrid]
    public var targets: [ViewerTarget]
    /// Links shown at the top of the page (text, href relative to the page), e.g. the QA page of the exposure.
    public var links: [(text: String, href: String)]

    public init(title: String, sources: [String], fluxUnit: String, grids: [ViewerGrid], targets: [ViewerTarget],
                links: [(text: String, href: String)] = []) {
        self.title = title; self.sources = sources; self.fluxUnit = fluxUnit; self.grids = grids
        self.targets = targets; self.links = links
    }
}
