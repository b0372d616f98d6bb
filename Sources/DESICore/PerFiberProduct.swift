import FITS

/// A per-camera product with one row per fiber on one wavelength grid: frames (frame, sframe, cframe), sky
/// models, fiber flats and flux calibrations. What figures need to show any of them as an image, one row per
/// fiber, each read with its own reader.
public protocol PerFiberProduct: Sendable {
    var wave: [Double] { get }
    var nspec: Int { get }
    var nwave: Int { get }
    /// HDU 0 header (CAMERA, BUNIT, FIBERMIN ...).
    var header: FITSHeader { get }
    /// Fiber numbers of the rows.
    var fibers: [Int] { get }
    /// The fibermap rows of these fibers, when the product carries them (frames, fiber flats).
    var rowFibermap: Fibermap? { get }
    /// Values and inverse variances of row `row`, in float32 (the precision of the files).
    func float32Row(_ row: Int) -> (values: [Float], ivar: [Float])
}

extension PerFiberProduct {
    /// The camera of HDU 0's CAMERA keyword.
    public var camera: Camera? { header.string("CAMERA").flatMap { Camera($0.trimmingCharacters(in: .whitespaces)) } }

    /// Fiber numbers from the fibermap, else FIBERMIN (or SPECMIN) + row.
    public var fibers: [Int] {
        if let f = rowFibermap?.fibers, f.count == nspec { return f }
        let first = header.int("FIBERMIN") ?? header.int("SPECMIN") ?? 0
        return Array(first..<(first + nspec))
    }
}

extension Frame: PerFiberProduct {
    public var rowFibermap: Fibermap? { fibermap }
    public func float32Row(_ row: Int) -> (values: [Float], ivar: [Float]) {
        let r = (row * nwave)..<((row + 1) * nwave)
        return (Array(flux[r]), Array(ivar[r]))
    }
}

extension SkyModel: PerFiberProduct {
    public var rowFibermap: Fibermap? { nil }
    public func float32Row(_ row: Int) -> (values: [Float], ivar: [Float]) {
        let r = (row * nwave)..<((row + 1) * nwave)
        return (flux[r].map { Float($0) }, ivar[r].map { Float($0) })
    }
}

extension FiberFlat: PerFiberProduct {
    public var rowFibermap: Fibermap? { fibermap }
    public func float32Row(_ row: Int) -> (values: [Float], ivar: [Float]) {
        let r = (row * nwave)..<((row + 1) * nwave)
        return (flat[r].map { Float($0) }, ivar[r].map { Float($0) })
    }
}

extension FluxCalibration: PerFiberProduct {
    public var rowFibermap: Fibermap? { nil }
    public func float32Row(_ row: Int) -> (values: [Float], ivar: [Float]) {
        let r = (row * nwave)..<((row + 1) * nwave)
        return (Array(calib[r]), Array(ivar[r]))
    }
}
