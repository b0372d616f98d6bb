/// The model of how a fiber's light at one wavelength lands on the CCD, as the extraction and the simulator
/// use it. Pixel coordinates: x along CCD columns (across fibers, numpy axis 1), y along rows (dispersion,
/// numpy axis 0); pixel centres at integer values.
public protocol SpectralPSF: Sendable {
    /// Number of fibers the PSF describes (fiber index 0..<nspec, relative to the camera's first fiber).
    var nspec: Int { get }
    /// Wavelength range (Angstrom) over which the traces are defined.
    var wavemin: Double { get }
    var wavemax: Double { get }
    /// CCD size in pixels.
    var npixX: Int { get }
    var npixY: Int { get }

    /// Trace centre, in pixels.
    func x(fiber: Int, wavelength: Double) -> Double
    func y(fiber: Int, wavelength: Double) -> Double
    /// Inverse of y(fiber, wavelength) at fixed fiber.
    func wavelength(fiber: Int, y: Double) -> Double

    /// The pixel-integrated image of a unit flux at (fiber, wavelength): values sum to about 1
    /// (less the part of the tail that falls outside the stamp).
    func spot(fiber: Int, wavelength: Double) -> PSFSpot
}

/// A small stamp of pixel values: pixel (row y0 + i, column x0 + j) holds values[i * nx + j].
public struct PSFSpot: Sendable {
    public var x0: Int
    public var y0: Int
    public var nx: Int
    public var ny: Int
    public var values: [Double]

    public init(x0: Int, y0: Int, nx: Int, ny: Int, values: [Double]) {
        precondition(values.count == nx * ny)
        self.x0 = x0; self.y0 = y0; self.nx = nx; self.ny = ny; self.values = values
    }
}
