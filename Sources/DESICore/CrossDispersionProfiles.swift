/// The cross-dispersion profile of every fiber on every CCD row, as desispec's row-by-row extraction uses it
/// (desispec.qproc.rowbyrowextract.onedprofile_gh): for fiber f and row r (k = f * ny + r), `width` values on the
/// columns first[k] ..< first[k] + width, normalised to a unit sum of their positive values; the fiber's trace
/// centre x[k] and wavelength wave[k] on that row. The PSF module computes them, the preprocessing uses them
/// (its CTE correction's image model) without depending on the PSF module.
public struct CrossDispersionProfiles: Sendable {
    public let nspec: Int
    public let ny: Int
    public let width: Int
    /// [nspec * ny]
    public let first: [Int32]
    /// [nspec * ny * width]: profile of (fiber, row) k at values[k * width ..< (k + 1) * width].
    public let values: [Float]
    /// [nspec * ny]
    public let x: [Double]
    /// [nspec * ny]
    public let wave: [Double]

    public init(nspec: Int, ny: Int, width: Int, first: [Int32], values: [Float], x: [Double], wave: [Double]) {
        precondition(first.count == nspec * ny && values.count == nspec * ny * width && x.count == nspec * ny
                     && wave.count == nspec * ny, "profile arrays must have nspec * ny (* width) elements")
        self.nspec = nspec; self.ny = ny; self.width = width
        self.first = first; self.values = values; self.x = x; self.wave = wave
    }
}
