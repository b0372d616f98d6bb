internal import CFITSIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The data unit of a plain (not tile-compressed, not gzipped) image HDU exactly as the file stores it, big-endian,
/// mapped from the file without copying. Two uses: an image a program passes through unchanged (a frame's
/// RESOLUTION in `desispec cframe`, 73 % of the file) is then neither converted on reading nor on writing, nor copied
/// into fresh memory (`writeImage(mapped:)`); an image read once value by value (preproc's calibration planes)
/// converts each value where it is used instead of in a separate pass.
///
/// Only unscaled data: BSCALE 1 and BZERO 0, or BZERO 32768 with BITPIX 16 (FITS's unsigned 16-bit integers).
public final class FITSMappedImage: @unchecked Sendable {
    public let path: String
    public let bitpix: Int
    /// numpy order (slowest axis first)
    public let shape: [Int]
    /// 32768 for unsigned 16-bit data, else 0.
    public let bzero: Int
    /// The stored bytes, shape.reduce(1, *) x |bitpix| / 8 of them.
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappedLength: Int

    init(path: String, bitpix: Int, shape: [Int], bzero: Int, mapping: UnsafeMutableRawPointer, mappedLength: Int,
         dataOffset: Int, dataLength: Int) {
        self.path = path; self.bitpix = bitpix; self.shape = shape; self.bzero = bzero
        self.mapping = mapping; self.mappedLength = mappedLength
        self.bytes = UnsafeRawBufferPointer(start: mapping + dataOffset, count: dataLength)
    }

    deinit { munmap(mapping, mappedLength) }

    /// The image of HDU `index` of `path` mapped (`FITSFile.mapImage`), or nil where it must be read as values.
    public static func map(path: String, index: Int) throws -> FITSMappedImage? {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: index)
        return try f.mapImage()
    }

    /// The values as `T` where `T` is the stored type (its BITPIX, BZERO 0), or Double for float32 data (each value
    /// widened exactly, as cfitsio's conversion does): each element byte-swapped from the mapped big-endian bytes into
    /// a new array, the values cfitsio's `ffgpv` reads (which substitutes no nulls when given no null value), without
    /// the kernel's copy into a read buffer first. nil for any other type.
    public func values<T: FITSNumeric>(as type: T.Type = T.self) -> [T]? {
        guard bzero == 0, let n = FITSFile.product(shape), n > 0 else { return nil }
        let size = MemoryLayout<T>.stride
        let widened = bitpix == -32 && T.self == Double.self
        guard Int(T.bitpix) == bitpix || widened, [1, 2, 4, 8].contains(size), n * abs(bitpix) / 8 == bytes.count else {
            return nil
        }
        let storedSize = abs(bitpix) / 8
        nonisolated(unsafe) let source = bytes
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            let destination = UnsafeMutableRawBufferPointer(buf)
            LargeArrays.adviseHugePages(destination)
            // bands of 4 MB shared by the step's threads (the first touch of fresh pages dominates); each byte lands
            // in one place, so the values do not depend on the thread count
            let chunk = max(1, (4 << 20) / size), chunks = (n + chunk - 1) / chunk
            let threads = max(1, min(chunks, FITSFile.defaultThreadCount))
            nonisolated(unsafe) let out = destination
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for c in stride(from: t, to: chunks, by: threads) {
                    let lo = c * chunk, hi = min(n, lo + chunk)
                    let from = source.baseAddress! + lo * storedSize, to = out.baseAddress! + lo * size
                    if widened {
                        Self.widenFloats(from: from, to: to.assumingMemoryBound(to: Double.self), count: hi - lo)
                    } else {
                        Self.swapCopy(from: from, to: to, count: hi - lo, size: size)
                    }
                }
            }
            count = n
        }
    }

    /// `count` big-endian float32 values from `source` as Double.
    private static func widenFloats(from source: UnsafeRawPointer, to d: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count {
            d[i] = Double(Float(bitPattern: UInt32(bigEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
        }
    }

    /// `count` elements of `size` bytes from big-endian `source` to native `destination`.
    private static func swapCopy(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, size: Int) {
        switch size {
        case 2:
            let d = destination.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { d[i] = UInt16(bigEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case 4:
            let d = destination.assumingMemoryBound(to: UInt32.self)
            for i in 0..<count { d[i] = UInt32(bigEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case 8:
            let d = destination.assumingMemoryBound(to: UInt64.self)
            for i in 0..<count { d[i] = UInt64(bigEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        default:
            destination.copyMemory(from: source, byteCount: count)
        }
    }

    /// The FITS data sum of the stored bytes (their big-endian 32-bit words); nil where their count is not a whole
    /// number of words (cfitsio then sums the written data itself).
    public var dataSum: UInt32? {
        guard bytes.count % 4 == 0 else { return nil }
        return bytes.withMemoryRebound(to: UInt32.self) { FITSFile.onesComplementSum($0, bigEndian: true) }
    }
}

extension FITSFile {
    /// The current HDU's image data as stored, mapped without copying; nil where it cannot be used as stored bytes:
    /// a table, a tile-compressed image, an empty one, scaled values (see `FITSMappedImage`), or a file that is not
    /// plain FITS on disk (gzip), or a handle open for writing (cfitsio may hold data it has not written to the file
    /// yet, which a mapping would not see). The caller then reads the image with `readImage`.
    public func mapImage() throws -> FITSMappedImage? {
        _ = try handle()
        guard !writable, currentHDUType == .image, !isCompressedImage else { return nil }
        let (bitpix, shape) = try imageShape()
        guard !shape.isEmpty, let n = FITSFile.product(shape), n > 0 else { return nil }
        guard let bscale = try numericKeyword("BSCALE", absent: 1), bscale == 1,
              let bzero = try numericKeyword("BZERO", absent: 0), bzero == 0 || (bitpix == 16 && bzero == 32768)
        else { return nil }
        let length = n * abs(bitpix) / 8
        guard let unit = try mapDataUnit(length: length, what: "image data") else { return nil }
        return FITSMappedImage(path: path, bitpix: bitpix, shape: shape, bzero: Int(bzero), mapping: unit.mapping,
                               mappedLength: unit.mappedLength, dataOffset: unit.dataOffset, dataLength: length)
    }

    /// The first `length` bytes of the current HDU's data unit mapped read-only from the file: the mapping, its length
    /// and the data's offset in it; nil where the file is not plain FITS on disk (gzip: cfitsio reads it through
    /// memory) or cannot be mapped. A file shorter than the data is an error (`what` names the data in it).
    func mapDataUnit(length: Int, what: String) throws -> (mapping: UnsafeMutableRawPointer, mappedLength: Int, dataOffset: Int)? {
        let f = try handle()
        var head: Int64 = 0, start: Int64 = 0, end: Int64 = 0, status: Int32 = 0
        ffghadll(f, &head, &start, &end, &status)
        try check(status, "locating \(what)")
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        // a gzipped file (which cfitsio reads through memory) does not start with the primary keyword
        var magic = [UInt8](repeating: 0, count: 6)
        guard pread(fd, &magic, 6, 0) == 6, magic == Array("SIMPLE".utf8) else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) >= Int(start) + length else {
            throw FITSError(path: path, hdu: currentHDULabel(), message: "file is shorter than its \(what) (truncated?)")
        }
        // from the page holding the data's first byte (not the file's start: the HDUs before are not mapped);
        // MAP_POPULATE: the pages (already in the page cache after the header reads, or read ahead) are mapped in one go
        let page = Int(sysconf(Int32(_SC_PAGESIZE))), first = Int(start) / page * page
        let total = Int(start) + length - first
        guard let p = mmap(nil, total, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, off_t(first)), p != MAP_FAILED else { return nil }
        return (p, total, Int(start) - first)
    }

    /// A keyword's value as a number, `absent` where the header lacks it; nil where it is not a number.
    func numericKeyword(_ key: String, absent: Double) throws -> Double? {
        let f = try handle()
        var v = 0.0, st: Int32 = 0
        var name = Array(key.utf8CString)
        ffgkyd(f, &name, &v, nil, &st)
        defer { ffcmsg() }
        if st == KEY_NO_EXIST { return absent }
        return st == 0 ? v : nil
    }

    /// Appends an uncompressed image HDU whose data are `image`'s stored bytes, unchanged (the same HDU `writeImage`
    /// writes from the values the bytes hold: same BITPIX, BZERO and axes, `name` and `header` before the data).
    public func writeImage(mapped image: FITSMappedImage, name: String? = nil, header: FITSHeader = FITSHeader()) throws {
        let f = try handle()
        var status: Int32 = 0
        var naxes = image.shape.reversed().map { Int64($0) }
        // cfitsio's USHORT_IMG writes BITPIX 16 with BZERO 32768
        let imageType = image.bzero == 32768 ? USHORT_IMG : Int32(image.bitpix)
        ffcrimll(f, imageType, Int32(image.shape.count), &naxes, &status)
        try check(status, "creating image HDU", hdu: name)
        try writeKeywordsBeforeData(name: name, header: header, dataSum: image.dataSum)
        try seekToDataStart()
        try writeBytes(image.bytes)
    }
}
