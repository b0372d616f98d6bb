internal import CFITSIO
import Foundation

/// Element types that FITS images and tables hold, with cfitsio's type codes.
public protocol FITSNumeric: Numeric, Sendable {
    static var cfitsioType: Int32 { get }
    /// BITPIX of an image of this type (cfitsio's "unsigned" codes add BZERO themselves).
    static var bitpix: Int32 { get }
    static var tform: String { get }
}
extension UInt8: FITSNumeric {
    public static var cfitsioType: Int32 { TBYTE }
    public static var bitpix: Int32 { BYTE_IMG }
    public static var tform: String { "B" }
}
extension Int16: FITSNumeric {
    public static var cfitsioType: Int32 { TSHORT }
    public static var bitpix: Int32 { SHORT_IMG }
    public static var tform: String { "I" }
}
extension UInt16: FITSNumeric {
    public static var cfitsioType: Int32 { TUSHORT }
    public static var bitpix: Int32 { USHORT_IMG }
    public static var tform: String { "U" }
}
extension Int32: FITSNumeric {
    public static var cfitsioType: Int32 { TINT }
    public static var bitpix: Int32 { LONG_IMG }
    public static var tform: String { "J" }
}
extension UInt32: FITSNumeric {
    public static var cfitsioType: Int32 { TUINT }
    public static var bitpix: Int32 { ULONG_IMG }
    public static var tform: String { "V" }
}
extension Int64: FITSNumeric {
    public static var cfitsioType: Int32 { TLONGLONG }
    public static var bitpix: Int32 { LONGLONG_IMG }
    public static var tform: String { "K" }
}
extension Float: FITSNumeric {
    public static var cfitsioType: Int32 { TFLOAT }
    public static var bitpix: Int32 { FLOAT_IMG }
    public static var tform: String { "E" }
}
extension Double: FITSNumeric {
    public static var cfitsioType: Int32 { TDOUBLE }
    public static var bitpix: Int32 { DOUBLE_IMG }
    public static var tform: String { "D" }
}

/// An image read from a FITS HDU: data row-major with numpy-order shape, plus its header.
public struct FITSImage<T: FITSNumeric>: Sendable {
    public var shape: [Int]
    public var data: [T]
    public var header: FITSHeader
    public init(shape: [Int], data: [T], header: FITSHeader = FITSHeader()) {
        self.shape = shape; self.data = data; self.header = header
    }
    public var count: Int { data.count }
}

/// Tile compression for images written as .fits.fz-style HDUs.
public enum FITSCompression: Sendable {
    /// Lossless Rice compression for integer images.
    case rice
    /// Lossless gzip compression (for floating-point images: no quantisation).
    case gzip
}

extension FITSFile {
    /// BITPIX and shape (numpy order) of the current image HDU; shape is [] for an empty HDU. The sizes the header
    /// declares are checked first (see `checkedImageDimensions`): a damaged or truncated HDU throws.
    public func imageShape() throws -> (bitpix: Int, shape: [Int]) {
        try checkedImageDimensions()
    }

    /// Reads the whole current image, converting to `T` (cfitsio applies BSCALE/BZERO).
    public func readImage<T: FITSNumeric>(as type: T.Type = T.self) throws -> FITSImage<T> {
        let f = try handle()
        guard currentHDUType == .image || isCompressedImage else {
            throw FITSError(path: path, hdu: currentHDULabel(), message: "HDU is a table, not an image")
        }
        let (_, shape) = try imageShape()
        let n = FITSFile.product(shape) ?? 0   // checked by imageShape: no overflow
        guard !shape.isEmpty, n > 0 else {
            throw FITSError(path: path, hdu: currentHDULabel(), message: "HDU holds no image data")
        }
        // a plain file's data in the stored type (or float32 as Double): from the mapped file (FITSMappedImage.values)
        if let values = try mapImage()?.values(as: type) {
            return FITSImage(shape: shape, data: values, header: try readHeader())
        }
        // cfitsio writes every element: the array is not zero-filled first (in this generic function that fill went
        // element by element through the type's value witnesses) and large ones get huge pages (LargeArrays)
        var status: Int32 = 0, anynul: Int32 = 0
        let data = [T](unsafeUninitializedCapacity: n) { buf, count in
            LargeArrays.adviseHugePages(UnsafeMutableRawBufferPointer(buf))
            _ = ffgpv(f, T.cfitsioType, 1, Int64(n), nil, buf.baseAddress, &anynul, &status)
            count = status == 0 ? n : 0
        }
        try check(status, "reading image of shape \(shape)")
        return FITSImage(shape: shape, data: data, header: try readHeader())
    }

    /// Reads the image of the HDU named `name`.
    public func readImage<T: FITSNumeric>(_ name: String, as type: T.Type = T.self) throws -> FITSImage<T> {
        try moveTo(name: name)
        return try readImage(as: type)
    }

    /// Appends an image HDU (the primary one if the file is empty). `shape` is in numpy order.
    public func writeImage<T: FITSNumeric>(_ data: [T], shape: [Int], name: String? = nil,
                                           header: FITSHeader = FITSHeader(), compression: FITSCompression? = nil) throws {
        let f = try handle()
        let n = shape.reduce(1, *)
        guard n == data.count else {
            throw FITSError(path: path, hdu: name, message: "image data has \(data.count) values, shape \(shape) needs \(n)")
        }
        try createImageHDU(T.self, shape: shape, name: name, compression: compression)
        var status: Int32 = 0
        // values written as their bytes are summed as they are swapped (`writeStored`), not in a pass before
        let writtenAsBytes = compression == nil && n > 0 && FITSFile.storedAsIs(T.self)
        if compression == nil {
            try writeKeywordsBeforeData(name: name, header: header,
                                        dataSum: writtenAsBytes ? nil : data.withUnsafeBufferPointer { FITSFile.dataSum($0) })
        }
        if n > 0 {
            if compression == nil, FITSFile.storedAsIs(T.self) {
                try seekToDataStart()
                let piece = FITSFile.writePieceBytes / MemoryLayout<T>.size
                let scratch = UnsafeMutableBufferPointer<T>.allocate(capacity: min(n, piece))
                defer { scratch.deallocate() }
                let sum = try data.withUnsafeBufferPointer { try writeStored($0, scratch: scratch) }
                if let sum { dataSums[currentHDUIndex] = FITSFile.foldCarries(sum) }
            } else if compression == nil {
                // no copy: cfitsio's write routines only read the array (their C signature predates const)
                data.withUnsafeBytes { buf in
                    _ = ffppr(f, T.cfitsioType, 1, Int64(n), UnsafeMutableRawPointer(mutating: buf.baseAddress), &status)
                }
            } else {
                // compression may convert the values in place: cfitsio gets a copy
                var copy = data
                copy.withUnsafeMutableBytes { buf in
                    _ = ffppr(f, T.cfitsioType, 1, Int64(n), buf.baseAddress, &status)
                }
            }
            try check(status, "writing image data", hdu: name)
        }
        if compression != nil {
            if let name { try writeCard(FITSCard("EXTNAME", .string(name))) }
            try writeHeader(header)
        }
    }

    /// Appends a 2-D image (`shape` [rows, columns]) whose values `fill(rows, buffer)` produces a band of rows at a
    /// time, so that no copy of the whole image is held (a 4k x 4k int16 mask is 34 MB, a float32 plane 68 MB):
    /// uncompressed (its data sum added up band by band, for `writeChecksums`), or tile-compressed (cfitsio compresses
    /// the tiles, one row each, its default, of each band as it is written).
    public func writeImage<T: FITSNumeric>(_ type: T.Type, shape: [Int], name: String? = nil,
                                           header: FITSHeader = FITSHeader(), compression: FITSCompression? = nil,
                                           bandRows: Int = 128,
                                           fill: (Range<Int>, UnsafeMutableBufferPointer<T>) -> Void) throws {
        guard shape.count == 2 else {
            throw FITSError(path: path, hdu: name, message: "a banded image write needs 2 axes, got shape \(shape)")
        }
        let f = try handle()
        try createImageHDU(T.self, shape: shape, name: name, compression: compression)
        if compression == nil { try writeKeywordsBeforeData(name: name, header: header, dataSum: nil) }
        let ny = shape[0], nx = shape[1], band = max(1, bandRows)
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, band * nx))
        defer { buffer.deallocate() }
        var status: Int32 = 0
        // ones' complement sums of the bands, added with their carries at the end (the sum of the whole data)
        var sum: UInt64 = 0, summed = compression == nil
        // uncompressed values stored as they are: swapped in the band's buffer and written as bytes, in order
        let asBytes = compression == nil && FITSFile.storedAsIs(T.self)
        if asBytes { try seekToDataStart() }
        for r0 in stride(from: 0, to: ny, by: band) {
            let rows = r0..<min(ny, r0 + band)
            let part = UnsafeMutableBufferPointer(rebasing: buffer[0..<(rows.count * nx)])
            fill(rows, part)
            if asBytes {
                // (the band's data sum taken as it is swapped)
                let bandSum = try writeStored(UnsafeBufferPointer(part), scratch: part)
                if summed { if let b = bandSum { sum &+= UInt64(FITSFile.foldCarries(b)) } else { summed = false } }
            } else {
                if summed {
                    if let s = FITSFile.dataSum(UnsafeBufferPointer(part)) { sum &+= UInt64(s) } else { summed = false }
                }
                _ = ffppr(f, T.cfitsioType, Int64(r0 * nx + 1), Int64(part.count), part.baseAddress, &status)
            }
            try check(status, "writing image rows \(rows.lowerBound)-\(rows.upperBound - 1)", hdu: name)
        }
        if summed { dataSums[currentHDUIndex] = FITSFile.foldCarries(sum) }
        if compression != nil {
            if let name { try writeCard(FITSCard("EXTNAME", .string(name))) }
            try writeHeader(header)
        }
    }

    /// A new image HDU of element type `T`, tile-compressed when asked (lossless for floating point).
    private func createImageHDU<T: FITSNumeric>(_ type: T.Type, shape: [Int], name: String?, compression: FITSCompression?) throws {
        let f = try handle()
        var status: Int32 = 0
        if let compression {
            fits_set_compression_type(f, compression == .rice ? RICE_1 : GZIP_1, &status)
            if T.self == Float.self || T.self == Double.self {
                fits_set_quantize_level(f, 0, &status)   // lossless for floating point
            }
            try check(status, "setting compression", hdu: name)
        }
        var naxes = shape.reversed().map { Int64($0) }
        ffcrimll(f, T.bitpix, Int32(shape.count), &naxes, &status)
        if compression != nil {
            var s2: Int32 = 0
            fits_set_compression_type(f, 0, &s2)
        }
        try check(status, "creating image HDU", hdu: name)
    }

    /// EXTNAME and `header` of a new uncompressed image HDU, written before its data: keywords added after the data
    /// make cfitsio move the whole data unit each time the header grows a 36-card block (a 4k x 4k preproc image
    /// was read back and rewritten 4 times). Room is kept for CHECKSUM and DATASUM, and a data sum known from memory
    /// is kept for `writeChecksums`.
    func writeKeywordsBeforeData(name: String?, header: FITSHeader, dataSum: UInt32?) throws {
        if let name { try writeCard(FITSCard("EXTNAME", .string(name))) }
        try writeHeader(header)
        var status: Int32 = 0
        ffhdef(try handle(), 2, &status)
        try check(status, "reserving header space", hdu: name)
        if let dataSum { dataSums[currentHDUIndex] = dataSum }
    }

    /// Appends an HDU with no data (for a primary HDU that only carries keywords).
    public func writeEmptyHDU(name: String? = nil, header: FITSHeader = FITSHeader()) throws {
        let f = try handle()
        var status: Int32 = 0
        var naxes: [Int64] = [0]
        ffcrimll(f, 8, 0, &naxes, &status)
        try check(status, "creating empty HDU", hdu: name)
        if let name { try writeCard(FITSCard("EXTNAME", .string(name))) }
        try writeHeader(header)
    }
}
