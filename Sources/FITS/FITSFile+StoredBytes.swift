internal import CFITSIO

/// Writing the data of an uncompressed image as its stored big-endian bytes. cfitsio's ffppr copies each value into
/// a work buffer, byte-swaps that buffer in a second pass and copies it again into its file buffers; here each value
/// is swapped once, into a chunk handed to cfitsio as bytes (written straight to the file, as cfitsio does with runs
/// of bytes longer than its buffers), 64 KB at a time. Only types stored as they are held (no BZERO): Int16, Int32, Int64, Float, Double.
extension FITSFile {
    /// Bytes handed to cfitsio per call (written through to the file: one write system call each). The kernel sizes
    /// a file's page-cache folios by the write: 1 MB writes take large blocks of fresh memory, which cost 0.2 s more
    /// system time writing a 204 MB preprocessed image on a virtual machine (that counts the first touch of such
    /// memory twice) than 64 KB writes, whose small blocks come from recently freed pages.
    static let writePieceBytes = 64 << 10

    /// Whether `T`'s values are stored as their own bytes, big-endian (cfitsio's unsigned types add BZERO instead).
    static func storedAsIs<T: FITSNumeric>(_ type: T.Type) -> Bool {
        T.self == Float.self || T.self == Double.self || T.self == Int16.self || T.self == Int32.self || T.self == Int64.self
    }

    /// Moves to the first byte of the current HDU's data unit (created, its header complete) for `writeStored`.
    func seekToDataStart() throws {
        let f = try handle()
        var head: Int64 = 0, start: Int64 = 0, end: Int64 = 0, status: Int32 = 0
        ffghadll(f, &head, &start, &end, &status)
        let ignoreEOF: Int32 = 1   // cfitsio's IGNORE_EOF: the data unit is new, beyond the end of the file
        ffmbyt(f, start, ignoreEOF, &status)
        try check(status, "locating image data")
    }

    /// Appends `values` (a `storedAsIs` type) at the current position, big-endian, through `scratch` (values swapped
    /// there a chunk at a time). `scratch` may be `values`' own memory (`values` then swapped in place: the caller's
    /// buffer no longer holds native values). Returns the 64-bit sum of the values' 32-bit words, taken as they are
    /// swapped (the FITS data sum once `foldCarries` folds it, as `dataSum` gives it, without a pass of its own);
    /// nil for 2-byte values.
    func writeStored<T: FITSNumeric>(_ values: UnsafeBufferPointer<T>, scratch: UnsafeMutableBufferPointer<T>) throws -> UInt64? {
        precondition(Self.storedAsIs(T.self) && !scratch.isEmpty, "writeStored: \(T.self) is not stored as is")
        var i = 0, sum: UInt64 = 0
        while i < values.count {
            let n = min(scratch.count, values.count - i)
            let source = UnsafeRawPointer(values.baseAddress! + i), target = UnsafeMutableRawPointer(scratch.baseAddress!)
            switch MemoryLayout<T>.size {
            case 2: Self.swap(source, target, n, UInt16.self)
            case 4: sum &+= Self.swapAndSum(source, target, n, UInt32.self)
            default: sum &+= Self.swapAndSum(source, target, n, UInt64.self)
            }
            try writeBytes(UnsafeRawBufferPointer(start: target, count: n * MemoryLayout<T>.size))
            i += n
        }
        return MemoryLayout<T>.size == 2 ? nil : sum
    }

    /// `swap` of n 4- or 8-byte words with the sum of their native 32-bit halves, each read before it is written
    /// (`target` may be `source`).
    @inline(__always)
    private static func swapAndSum<W: FixedWidthInteger & UnsignedInteger>(_ source: UnsafeRawPointer,
                                                                          _ target: UnsafeMutableRawPointer, _ n: Int,
                                                                          _ word: W.Type) -> UInt64 {
        let s = source.assumingMemoryBound(to: W.self), t = target.assumingMemoryBound(to: W.self)
        var sum: UInt64 = 0
        for k in 0..<n {
            let v = s[k], u = UInt64(truncatingIfNeeded: v)
            sum &+= W.bitWidth == 64 ? (u & 0xFFFF_FFFF) &+ (u >> 32) : u
            t[k] = v.bigEndian
        }
        return sum
    }

    /// Appends `bytes` at the current position, `writePieceBytes` per call.
    func writeBytes(_ bytes: UnsafeRawBufferPointer) throws {
        let f = try handle()
        var status: Int32 = 0, done = 0
        while done < bytes.count {
            let k = min(Self.writePieceBytes, bytes.count - done)
            _ = ffpbyt(f, Int64(k), UnsafeMutableRawPointer(mutating: bytes.baseAddress! + done), &status)
            try check(status, "writing image data")
            done += k
        }
    }

    @inline(__always)
    private static func swap<W: FixedWidthInteger>(_ source: UnsafeRawPointer, _ target: UnsafeMutableRawPointer, _ n: Int,
                                                   _ word: W.Type) {
        let s = source.assumingMemoryBound(to: W.self), t = target.assumingMemoryBound(to: W.self)
        for k in 0..<n { t[k] = s[k].bigEndian }
    }
}
