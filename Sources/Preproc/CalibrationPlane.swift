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

    /// Value i, exactly.
    @inline(__always)
    subscript(_ i: Int) -> Double { element(i) }

    /// Values start ..< start + out.count, converted with one type dispatch for the whole run.
    @inline(__always)
    func values(from start: Int, into out: UnsafeMutableBufferPointer<Double>) { convert(from: start, into: out) }

    /// Mask bits of a mask image (as desispec: the value as an integer, its low 32 bits).
    @inline(__always)
    func bits(_ i: Int) -> UInt32 { element(i) }

    /// Mask bits of values start ..< start + out.count, with one type dispatch for the whole run.
    @inline(__always)
    func bits(from start: Int, into out: UnsafeMutableBufferPointer<UInt32>) { convert(from: start, into: out) }

    /// Values start ..< start + out.count as `T`: one type dispatch, then one loop over the run in the storage type.
    @inline(__always)
    private func convert<T: PlaneElement>(from start: Int, into out: UnsafeMutableBufferPointer<T>) {
        switch kind {
        case .float32: run(start, out, Float.self) { T(plane: $0) }
        case .float64: run(start, out, Double.self) { T(plane: $0) }
        case .int32: run(start, out, Int32.self) { T(plane: $0) }
        case .float32BE: run(start, out, UInt32.self) { T(plane: Float(bitPattern: UInt32(bigEndian: $0))) }
        case .float64BE: run(start, out, UInt64.self) { T(plane: Double(bitPattern: UInt64(bigEndian: $0))) }
        case .int32BE: run(start, out, UInt32.self) { T(plane: Int32(bitPattern: UInt32(bigEndian: $0))) }
        case .int16BE: run(start, out, UInt16.self) { T(plane: Int16(bitPattern: UInt16(bigEndian: $0))) }
        case .uint16BE: run(start, out, UInt16.self) { T(planeOffsetInt16: UInt16(bigEndian: $0)) }
        }
    }

    /// Element i as `T` (a run of one).
    @inline(__always)
    private func element<T: PlaneElement>(_ i: Int) -> T {
        withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { one in
            convert(from: i, into: one)
            return one[0]
        }
    }

    /// out[i] = convert(element start + i), the plane's storage read as `S`.
    @inline(__always)
    private func run<S, T>(_ start: Int, _ out: UnsafeMutableBufferPointer<T>, _: S.Type, _ convert: (S) -> T) {
        let p = base.assumingMemoryBound(to: S.self) + start
        for i in 0..<out.count { out[i] = convert(p[i]) }
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
        if let m = try FITSMappedImage.map(path: path, index: index), m.shape.count == 2, m.shape.allSatisfy({ $0 > 0 }),
           [-32, -64, 16, 32].contains(m.bitpix) {
            return (CalibrationPlane(mapped: m), m.shape)
        }
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

/// What the values of a calibration plane convert to, from each storage type: Double (the values, exactly) or UInt32
/// (mask bits: the value as an integer, its low 32 bits, as desispec).
protocol PlaneElement {
    init(plane v: Float)
    init(plane v: Double)
    init(plane v: Int32)
    init(plane v: Int16)
    /// An unsigned 16-bit value stored as Int16 with BZERO 32768 (`v` is the stored bit pattern).
    init(planeOffsetInt16 v: UInt16)
}

extension Double: PlaneElement {
    @inline(__always) init(plane v: Float) { self = Double(v) }
    @inline(__always) init(plane v: Double) { self = v }
    @inline(__always) init(plane v: Int32) { self = Double(v) }
    @inline(__always) init(plane v: Int16) { self = Double(v) }
    @inline(__always) init(planeOffsetInt16 v: UInt16) { self = Double(Int(Int16(bitPattern: v)) + 32768) }
}

extension UInt32: PlaneElement {
    @inline(__always) init(plane v: Float) { self = UInt32(truncatingIfNeeded: Int64(Double(v))) }
    @inline(__always) init(plane v: Double) { self = UInt32(truncatingIfNeeded: Int64(v)) }
    @inline(__always) init(plane v: Int32) { self = UInt32(bitPattern: v) }
    @inline(__always) init(plane v: Int16) { self = UInt32(bitPattern: Int32(v)) }
    @inline(__always) init(planeOffsetInt16 v: UInt16) { self = UInt32(v ^ 0x8000) }
}
