import DESICore
import FITS
import Foundation

/// The pixels of a calibration image, read without conversion: big-endian data mapped from a plain FITS file (no copy,
/// no byte-swapping pass), or a native array read by cfitsio (gzipped or tile-compressed files, arrays given in
/// memory). Values are converted to Double one at a time, exactly (float32, float64 and integer data alike).
struct CalibrationPlane: @unchecked Sendable {
    enum Kind { case float32, float64, int32, float32BE, float64BE, int32BE, int16BE, uint16BE }
    let base: UnsafeRawPointer
    let kind: Kind
    let count: Int
    /// Keeps the mapping or the array storage alive.
    private let owner: AnyObject

    private final class Storage<T>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<T>
        init(_ n: Int) { buffer = .allocate(capacity: max(1, n)) }
        deinit { buffer.deallocate() }
    }

    init(_ values: [Float]) {
        let s = Storage<Float>(values.count)
        _ = s.buffer.initialize(from: values)
        base = UnsafeRawPointer(s.buffer.baseAddress!); kind = .float32; count = values.count; owner = s
    }

    private init(mapped m: FITSMappedImage) {
        base = m.bytes.baseAddress!
        count = m.shape.reduce(1, *)
        owner = m
        switch (m.bitpix, m.bzero) {
        case (-32, _): kind = .float32BE
        case (-64, _): kind = .float64BE
        case (32, _): kind = .int32BE
        case (16, 32768): kind = .uint16BE
        default: kind = .int16BE
        }
    }

    @inline(__always)
    subscript(_ i: Int) -> Double {
        switch kind {
        case .float32: return Double(base.load(fromByteOffset: i &* 4, as: Float.self))
        case .float64: return base.load(fromByteOffset: i &* 8, as: Double.self)
        case .int32: return Double(base.load(fromByteOffset: i &* 4, as: Int32.self))
        case .float32BE: return Double(Float(bitPattern: UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))))
        case .float64BE: return Double(bitPattern: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)))
        case .int32BE: return Double(Int32(bitPattern: UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))))
        case .int16BE: return Double(Int16(bitPattern: UInt16(bigEndian: base.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))))
        case .uint16BE: return Double(Int(Int16(bitPattern: UInt16(bigEndian: base.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)))) + 32768)
        }
    }

    /// Values start ..< start + out.count, converted with one type dispatch for the whole run.
    @inline(__always)
    func values(from start: Int, into out: UnsafeMutableBufferPointer<Double>) {
        let n = out.count
        switch kind {
        case .float32:
            let p = base.assumingMemoryBound(to: Float.self) + start
            for i in 0..<n { out[i] = Double(p[i]) }
        case .float32BE:
            let p = base.assumingMemoryBound(to: UInt32.self) + start
            for i in 0..<n { out[i] = Double(Float(bitPattern: UInt32(bigEndian: p[i]))) }
        default:
            for i in 0..<n { out[i] = self[start + i] }
        }
    }

    /// Mask bits of a mask image (as desispec: the value as an integer, its low 32 bits).
    @inline(__always)
    func bits(_ i: Int) -> UInt32 {
        switch kind {
        case .int32: return UInt32(bitPattern: base.load(fromByteOffset: i &* 4, as: Int32.self))
        case .int32BE: return UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
        case .int16BE: return UInt32(truncatingIfNeeded: Int64(Int16(bitPattern: UInt16(bigEndian: base.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)))))
        case .uint16BE: return UInt32(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)) ^ 0x8000)
        default: return UInt32(truncatingIfNeeded: Int64(self[i]))
        }
    }

    /// Mask bits of values start ..< start + out.count, with one type dispatch for the whole run.
    @inline(__always)
    func bits(from start: Int, into out: UnsafeMutableBufferPointer<UInt32>) {
        let n = out.count
        switch kind {
        case .int32BE:
            let p = base.assumingMemoryBound(to: UInt32.self) + start
            for i in 0..<n { out[i] = UInt32(bigEndian: p[i]) }
        case .int16BE:
            let p = base.assumingMemoryBound(to: UInt16.self) + start
            for i in 0..<n { out[i] = UInt32(bitPattern: Int32(Int16(bitPattern: UInt16(bigEndian: p[i])))) }
        default:
            for i in 0..<n { out[i] = bits(start + i) }
        }
    }

    /// Whether every value is exactly 0 (stops at the first that is not).
    var isAllZero: Bool {
        for i in 0..<count where self[i] != 0 { return false }
        return true
    }

    /// The image of HDU `index` of `path` (shape [ny, nx]): mapped when the file is plain, else read by cfitsio into
    /// an array of the file's type (float32 for 8/16-bit and float32 data, float64 for float64 and 64-bit, int32 for
    /// 32-bit integers). nil when that HDU holds no 2-D image.
    static func read(path: String, index: Int) throws -> (plane: CalibrationPlane, shape: [Int])? {
        if let m = try FITSMappedImage.map(path: path, index: index) { return (CalibrationPlane(mapped: m), m.shape) }
        let f = try FITSFile.open(path)
        try f.moveTo(index: index)
        guard f.currentHDUType == .image || f.isCompressedImage else { return nil }
        let (bitpix, shape) = try f.imageShape()
        guard shape.count == 2, shape[0] > 0, shape[1] > 0 else { return nil }
        return try read(f, bitpix: bitpix, shape: shape)
    }

    /// The image of the current HDU of `f`, read by cfitsio.
    static func read(_ f: FITSFile, bitpix: Int, shape: [Int]) throws -> (plane: CalibrationPlane, shape: [Int]) {
        let n = shape.reduce(1, *)
        func fill<T: FITSNumeric>(_ s: Storage<T>) throws { try f.readImageRows(0..<shape[0], into: s.buffer) }
        switch bitpix {
        case -64, 64:
            let s = Storage<Double>(n); try fill(s)
            return (CalibrationPlane(base: UnsafeRawPointer(s.buffer.baseAddress!), kind: .float64, count: n, owner: s), shape)
        case 32:
            let s = Storage<Int32>(n); try fill(s)
            return (CalibrationPlane(base: UnsafeRawPointer(s.buffer.baseAddress!), kind: .int32, count: n, owner: s), shape)
        default:
            let s = Storage<Float>(n); try fill(s)
            return (CalibrationPlane(base: UnsafeRawPointer(s.buffer.baseAddress!), kind: .float32, count: n, owner: s), shape)
        }
    }

    private init(base: UnsafeRawPointer, kind: Kind, count: Int, owner: AnyObject) {
        self.base = base; self.kind = kind; self.count = count; self.owner = owner
    }
}
