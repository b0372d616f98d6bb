import FITS

/// The resolution matrices of a frame's spectra, handed out one spectrum at a time: held in memory
/// (`ResolutionData`), or read from the frame file's stored bytes as each one is needed (`StoredResolution`), so that a
/// step using each spectrum's matrix once or a few times (the sky model) neither converts nor holds all of them: a
/// full frame's are 63 MB, and on a virtual machine the fresh memory they are read into costs more than the sky fit.
public protocol FiberResolutions: Sendable {
    var nspec: Int { get }
    var ndiag: Int { get }
    var nwave: Int { get }
    /// `body` on the diagonals of spectrum `spec`, [ndiag, nwave] in the layout of `ResolutionData.data`.
    func withDiagonals<T>(of spec: Int, _ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T
}

extension FiberResolutions {
    /// Applies R of spectrum `spec` to a vector on the same wavelength grid: (R x)[i] = sum_j R[i,j] x[j].
    public func apply(spec: Int, to x: [Double]) -> [Double] {
        precondition(x.count == nwave)
        return withDiagonals(of: spec) { ResolutionData.apply(diagonals: $0, ndiag: ndiag, to: x) }
    }

    /// Applies the transpose of R of spectrum `spec`: (R^T x)[j] = sum_i R[i, j] x[i].
    public func applyTranspose(spec: Int, to x: [Double]) -> [Double] {
        precondition(x.count == nwave)
        return withDiagonals(of: spec) { ResolutionData.applyTranspose(diagonals: $0, ndiag: ndiag, to: x) }
    }
}

extension ResolutionData: FiberResolutions {
    public func withDiagonals<T>(of spec: Int, _ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T {
        let per = ndiag * nwave
        return try data.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[(spec * per)..<((spec + 1) * per)])) }
    }
}

/// A frame's RESOLUTION as its file stores it (big-endian float32 [nspec, ndiag, nwave], mapped: `Frame.storedResolution`),
/// each spectrum's diagonals converted when asked for: the same values `Frame.read` gives.
public struct StoredResolution: FiberResolutions {
    public let stored: FITSMappedImage
    public let nspec: Int, ndiag: Int, nwave: Int

    /// nil unless `stored` is float32 [nspec, odd ndiag, nwave].
    public init?(_ stored: FITSMappedImage) {
        guard stored.bitpix == -32, stored.shape.count == 3, stored.shape[1] % 2 == 1 else { return nil }
        self.stored = stored
        nspec = stored.shape[0]; ndiag = stored.shape[1]; nwave = stored.shape[2]
    }

    public func withDiagonals<T>(of spec: Int, _ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T {
        precondition(spec >= 0 && spec < nspec, "spectrum \(spec) of \(nspec)")
        let per = ndiag * nwave
        return try withUnsafeTemporaryAllocation(of: Float.self, capacity: per) { buffer in
            let source = stored.bytes.baseAddress! + spec * per * 4
            for i in 0..<per {
                buffer[i] = Float(bitPattern: UInt32(bigEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
            return try body(UnsafeBufferPointer(buffer))
        }
    }
}
