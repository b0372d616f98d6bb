import FITS

/// A preprocessed CCD image (desispec.image.Image): electrons per pixel, inverse variance, CCD mask bits
/// (`CCDMask`) and read noise per pixel, all row-major with shape [ny, nx] (ny rows along the dispersion).
/// `readnoise` is empty in an image read without it (`Image.read(path, readNoise: false)`, for the steps that never
/// use it: trace shifts, extraction), and only there. `mask` is empty in an image whose mask was folded into its
/// inverse variance (ivar 0 wherever a bit was set: `Image.read(path, readNoise: false, maskIntoIvar: true)`, for the
/// trace shifts, which only use pixels of clear mask and positive ivar), and only there.
public struct Image: Sendable {
    public var ny: Int
    public var nx: Int
    public var pix: [Float]
    public var ivar: [Float]
    public var mask: [UInt32]
    public var readnoise: [Float]
    /// Header of the IMAGE HDU (CAMERA, EXPID, NIGHT, GAIN*, ...).
    public var header: FITSHeader

    public init(ny: Int, nx: Int, pix: [Float], ivar: [Float], mask: [UInt32], readnoise: [Float], header: FITSHeader = FITSHeader()) {
        precondition(pix.count == ny * nx && ivar.count == ny * nx && (mask.count == ny * nx || mask.isEmpty)
                     && (readnoise.count == ny * nx || readnoise.isEmpty),
                     "image arrays must all have ny*nx elements (mask, readnoise: or none)")
        self.ny = ny; self.nx = nx; self.pix = pix; self.ivar = ivar; self.mask = mask; self.readnoise = readnoise
        self.header = header
    }

    public var camera: Camera? { header.string("CAMERA").flatMap { Camera($0.trimmingCharacters(in: .whitespaces)) } }
    @inlinable public func index(row: Int, column: Int) -> Int { row * nx + column }
}
