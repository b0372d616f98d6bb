import Foundation

/// Options of a production, saved as run/options.json by `prod create` so later runs reuse them.
public struct ProductionOptions: Sendable, Codable, Equatable {
    public var psfDir: String?
    public var nspec: Int?
    public var noFluxCalib: Bool
    /// Stellar templates and filter curves of the standard-star fit (stdstars --starmodels, --filters-dir).
    public var starModels: String?
    public var filtersDir: String?
    /// Calibration folder in DESI_SPECTRO_CALIB's layout for preproc (--calib-dir; nil: $DESI_SPECTRO_CALIB).
    public var calibDir: String?

    public init(psfDir: String? = nil, nspec: Int? = nil, noFluxCalib: Bool = false, starModels: String? = nil,
                filtersDir: String? = nil) {
        self.psfDir = psfDir; self.nspec = nspec; self.noFluxCalib = noFluxCalib
        self.starModels = starModels; self.filtersDir = filtersDir
    }

    public var nightOptions: NightOptions {
        var o = NightOptions(inputPSFDir: psfDir, nspec: nspec, noFluxCalib: noFluxCalib, starModels: starModels, filtersDir: filtersDir)
        o.calibDir = calibDir
        return o
    }

    public static func path(_ layout: ProductionLayout) -> String { "\(layout.runDir)/options.json" }

    public static func load(_ layout: ProductionLayout) -> ProductionOptions? {
        guard let data = FileManager.default.contents(atPath: path(layout)) else { return nil }
        return try? JSONDecoder().decode(ProductionOptions.self, from: data)
    }

    public func save(_ layout: ProductionLayout) throws {
        try FileManager.default.createDirectory(atPath: layout.runDir, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(self).write(to: URL(fileURLWithPath: Self.path(layout)), options: .atomic)
    }
}
