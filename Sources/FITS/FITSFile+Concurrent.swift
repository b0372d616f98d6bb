internal import CFITSIO
import Foundation
import Synchronization

/// Reading and writing large images without extra copies, and decompressing a tile-compressed image on several
/// threads (cfitsio decompresses the tiles of one handle one after the other; handles of their own, one per thread,
/// work in parallel when cfitsio is built reentrant, as Debian's is).
extension FITSFile {
    /// Whether the cfitsio library is thread-safe for distinct handles.
    public static var isReentrant: Bool { fits_is_reentrant() != 0 }

    /// Threads this module's parallel reads use: DESISPEC_NCPU when it is a positive integer (the night runner sets it
    /// per task so that the tasks running together use each core once), else every core. The rule of
    /// LinearAlgebra's `defaultThreadCount()`, which this module cannot import.
    public static var defaultThreadCount: Int {
        if let v = ProcessInfo.processInfo.environment["DESISPEC_NCPU"], let n = Int(v), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// Reads rows `rows` of the current 2-D image (numpy order: row = NAXIS2 index) into `buffer`, which must hold
    /// rows.count x NAXIS1 values, converted to `T` (cfitsio applies BSCALE/BZERO).
    public func readImageRows<T: FITSNumeric>(_ rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<T>) throws {
        let f = try handle()
        let (_, shape) = try imageShape()
        guard shape.count == 2 else {
            throw FITSError(path: path, hdu: currentHDULabel(), message: "not a 2-D image (shape \(shape))")
        }
        let nx = shape[1]
        guard rows.lowerBound >= 0, rows.upperBound <= shape[0], buffer.count >= rows.count * nx else {
            throw FITSError(path: path, hdu: currentHDULabel(), message: "rows \(rows) do not fit image \(shape) or buffer \(buffer.count)")
        }
        guard !rows.isEmpty else { return }
        var fpix: [Int] = [1, rows.lowerBound + 1], lpix: [Int] = [nx, rows.upperBound], inc: [Int] = [1, 1]
        var status: Int32 = 0, anynul: Int32 = 0
        _ = fpix.withUnsafeMutableBufferPointer { fp in
            lpix.withUnsafeMutableBufferPointer { lp in
                inc.withUnsafeMutableBufferPointer { ip in
                    ffgsv(f, T.cfitsioType, fp.baseAddress, lp.baseAddress, ip.baseAddress, nil, buffer.baseAddress, &anynul, &status)
                }
            }
        }
        try check(status, "reading rows \(rows.lowerBound)..<\(rows.upperBound) of image \(shape)")
    }

    /// Reads the 2-D image of HDU `hdu` (EXTNAME, or nil for HDU number `index`) of `path` with `threads` handles on
    /// as many row bands at once, into an array that is not zero-filled first. The result is the same as `readImage`
    /// (the bands only split the work); an image that is not 2-D is read by `readImage`.
    public static func readImageConcurrently<T: FITSNumeric>(
        path: String, hdu: String?, index: Int = 0, as type: T.Type = T.self,
        threads: Int = FITSFile.defaultThreadCount
    ) throws -> FITSImage<T> {
        let first = try FITSFile.open(path)
        if let hdu { try first.moveTo(name: hdu) } else { try first.moveTo(index: index) }
        guard first.currentHDUType == .image || first.isCompressedImage else {
            throw FITSError(path: path, hdu: first.currentHDULabel(), message: "HDU is a table, not an image")
        }
        let (_, shape) = try first.imageShape()
        guard shape.count == 2, shape[0] > 0, shape[1] > 0 else { return try first.readImage(as: type) }
        let header = try first.readHeader()
        let ny = shape[0], nx = shape[1]
        // RICE_1 16-bit images (raw DESI data) decoded here, in bands of rows on several threads
        if T.self == Float.self || T.self == Double.self, let rice = try first.mapRiceImage() {
            return FITSImage(shape: shape, data: try readConcurrently(rice, as: type, threads: threads), header: header)
        }
        // compressed images decompress tile by tile: split in bands on several handles; plain images read at disk speed
        let bands = (isReentrant && first.isCompressedImage) ? max(1, min(threads, ny / 64, 16)) : 1
        let data = try [T](unsafeUninitializedCapacity: ny * nx) { buf, count in
            LargeArrays.adviseHugePages(UnsafeMutableRawBufferPointer(buf))
            let firstError = Mutex<(any Error)?>(nil)
            nonisolated(unsafe) let out = buf
            nonisolated(unsafe) let handle0 = first
            DispatchQueue.concurrentPerform(iterations: bands) { b in
                let r0 = ny * b / bands, r1 = ny * (b + 1) / bands
                do {
                    let f: FITSFile
                    if b == 0 { f = handle0 } else {
                        f = try FITSFile.open(path)
                        if let hdu { try f.moveTo(name: hdu) } else { try f.moveTo(index: index) }
                    }
                    try f.readImageRows(r0..<r1, into: UnsafeMutableBufferPointer(rebasing: out[(r0 * nx)..<(r1 * nx)]))
                } catch { firstError.withLock { if $0 == nil { $0 = error } } }
            }
            if let e = firstError.withLock({ $0 }) { count = 0; throw e }   // numeric elements: nothing to deinitialise
            count = ny * nx
        }
        return FITSImage(shape: shape, data: data, header: header)
    }

    /// The values of `rice` as T (Float or Double), decoded in fixed bands of rows shared among `threads` threads (each
    /// value lands in one place: the result does not depend on the thread count).
    private static func readConcurrently<T: FITSNumeric>(_ rice: FITSRiceImage, as type: T.Type, threads: Int) throws -> [T] {
        precondition(T.self == Float.self || T.self == Double.self, "RICE_1 images are read here as Float or Double, not \(T.self)")
        let ny = rice.shape[0], nx = rice.shape[1]
        let bands = max(1, min(ny / 64, 64)), workers = max(1, min(threads, bands))
        return try [T](unsafeUninitializedCapacity: ny * nx) { buf, count in
            LargeArrays.adviseHugePages(UnsafeMutableRawBufferPointer(buf))
            let firstError = Mutex<(any Error)?>(nil)
            nonisolated(unsafe) let out = buf
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for b in stride(from: w, to: bands, by: workers) {
                    let r0 = ny * b / bands, r1 = ny * (b + 1) / bands
                    let part = UnsafeMutableBufferPointer(rebasing: out[(r0 * nx)..<(r1 * nx)])
                    do {
                        if let p = part as? UnsafeMutableBufferPointer<Float> { try rice.readRows(r0..<r1, into: p) }
                        else { try rice.readRows(r0..<r1, into: part as! UnsafeMutableBufferPointer<Double>) }
                    } catch { firstError.withLock { if $0 == nil { $0 = error } }; return }
                }
            }
            if let e = firstError.withLock({ $0 }) { count = 0; throw e }
            count = ny * nx
        }
    }

    /// Appends an uncompressed image HDU from `buffer` (no copy of the data; cfitsio converts and byte-swaps through
    /// its own buffers). `shape` is in numpy order.
    public func writeImage<T: FITSNumeric>(buffer: UnsafeBufferPointer<T>, shape: [Int], name: String? = nil,
                                           header: FITSHeader = FITSHeader()) throws {
        let f = try handle()
        let n = shape.reduce(1, *)
        guard n == buffer.count else {
            throw FITSError(path: path, hdu: name, message: "image data has \(buffer.count) values, shape \(shape) needs \(n)")
        }
        var status: Int32 = 0
        var naxes = shape.reversed().map { Int64($0) }
        ffcrimll(f, T.bitpix, Int32(shape.count), &naxes, &status)
        try check(status, "creating image HDU", hdu: name)
        try writeKeywordsBeforeData(name: name, header: header, dataSum: FITSFile.dataSum(buffer))
        if n > 0 {
            // cfitsio's write routines read the array only (their C signature predates const)
            _ = ffppr(f, T.cfitsioType, 1, Int64(n), UnsafeMutableRawPointer(mutating: buffer.baseAddress), &status)
            try check(status, "writing image data", hdu: name)
        }
    }
}
