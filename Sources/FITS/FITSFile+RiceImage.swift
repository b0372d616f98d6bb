internal import CFITSIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tile-compressed image of 16-bit integers in RICE_1 (what `fpack` makes of a raw DESI image), its binary table
/// mapped from the file and its tiles decoded here (`RiceDecoder`) instead of by cfitsio: the same values, about twice
/// as fast (cfitsio decodes a byte at a time, then converts through its own buffers).
///
/// Only the common form: ZBITPIX 16 with BYTEPIX 2, tiles of one whole row (ZTILE1 = ZNAXIS1, ZTILE2 = 1), the one column
/// COMPRESSED_DATA (no GZIP_COMPRESSED_DATA or UNCOMPRESSED_DATA fallback tiles, no null values: no ZBLANK or BLANK,
/// no ZSCALE or ZZERO).
/// `FITSFile.mapRiceImage` gives nil for any other and the image is read through cfitsio.
public final class FITSRiceImage: @unchecked Sendable {
    public let path: String
    public let hdu: String?
    /// numpy order: [ZNAXIS2, ZNAXIS1]
    public let shape: [Int]
    let blockSize: Int
    /// BSCALE and BZERO: a value is stored x BSCALE + BZERO.
    let scale: Double, zero: Double
    /// (bytes, offset in the heap) of each tile's stream: tile y is row y.
    let tiles: [(count: Int, offset: Int)]
    /// The longest stream's bytes (each reader's copy buffer holds it and the decoder's padding).
    let longestTile: Int
    let heap: UnsafeRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappedLength: Int

    init(path: String, hdu: String?, shape: [Int], blockSize: Int, scale: Double, zero: Double,
         tiles: [(count: Int, offset: Int)], heap: UnsafeRawPointer, mapping: UnsafeMutableRawPointer, mappedLength: Int) {
        self.path = path; self.hdu = hdu; self.shape = shape; self.blockSize = blockSize
        self.scale = scale; self.zero = zero; self.tiles = tiles; self.heap = heap
        longestTile = tiles.map(\.count).max() ?? 0
        self.mapping = mapping; self.mappedLength = mappedLength
    }

    deinit { munmap(mapping, mappedLength) }

    /// Rows `rows` into `out` (rows.count x ZNAXIS1 values, row after row): value x BSCALE + BZERO computed in
    /// double precision and converted to T (Float or Double), as cfitsio's conversions.
    public func readRows<T: BinaryFloatingPoint>(_ rows: Range<Int>, into out: UnsafeMutableBufferPointer<T>) throws {
        let ny = shape[0], nx = shape[1]
        guard rows.lowerBound >= 0, rows.upperBound <= ny, out.count >= rows.count * nx else {
            throw FITSError(path: path, hdu: hdu, message: "rows \(rows) do not fit image \(shape) or buffer \(out.count)")
        }
        guard !rows.isEmpty else { return }
        let stream = UnsafeMutablePointer<UInt8>.allocate(capacity: longestTile + RiceDecoder.padding(blockSize: blockSize))
        let values = UnsafeMutablePointer<UInt16>.allocate(capacity: nx)
        defer { stream.deallocate(); values.deallocate() }
        let scale = self.scale, zero = self.zero
        for y in rows {   // tile y is row y
            let (count, offset) = tiles[y]
            // a copy with room after it: the decoder loads 8 bytes at a time and checks the end once per block
            stream.update(from: heap.advanced(by: offset).assumingMemoryBound(to: UInt8.self), count: count)
            stream.advanced(by: count).update(repeating: 0, count: RiceDecoder.padding(blockSize: blockSize))
            do {
                try RiceDecoder.decodeShorts(stream, length: count, blockSize: blockSize, count: nx, into: values)
            } catch {
                throw FITSError(path: path, hdu: hdu,
                                message: "RICE_1 tile \(y + 1) (\(count) bytes) ends before its \(nx) values: corrupt or truncated")
            }
            let dst = out.baseAddress! + (y - rows.lowerBound) * nx
            for i in 0..<nx { dst[i] = T(Double(Int16(bitPattern: values[i])) * scale + zero) }
        }
    }
}

extension FITSFile {
    /// The current HDU as a `FITSRiceImage`, or nil where it is not one of the form that type reads (then read it
    /// with `readImage` / `readImageRows`, through cfitsio), or the file is not plain FITS on disk.
    public func mapRiceImage() throws -> FITSRiceImage? {
        _ = try handle()
        guard !writable, isCompressedImage else { return nil }
        func int(_ key: String) throws -> Int? {
            guard let v = try numericKeyword(key, absent: .nan), v.isFinite, v == v.rounded() else { return nil }
            return Int(v)
        }
        guard try readString("ZCMPTYPE") == "RICE_1", try int("ZBITPIX") == 16, try int("ZNAXIS") == 2,
              try int("TFIELDS") == 1, try readString("TTYPE1") == "COMPRESSED_DATA",
              let nx = try int("ZNAXIS1"), let ny = try int("ZNAXIS2"), nx > 0, ny > 0,
              (try int("ZTILE1")) ?? nx == nx, let rowBytes = try int("NAXIS1"), let ntiles = try int("NAXIS2"),
              let pcount = try int("PCOUNT"),
              try ["ZBLANK", "BLANK", "ZSCALE", "ZZERO"].allSatisfy({ try numericKeyword($0, absent: .nan)?.isNaN == true }),
              let scale = try numericKeyword("BSCALE", absent: 1), let zero = try numericKeyword("BZERO", absent: 0)
        else { return nil }
        let tileRows = (try int("ZTILE2")) ?? 1
        guard tileRows == 1, ntiles == ny else { return nil }   // tiles of one row (fpack's and cfitsio's default)
        // compression parameters (ZNAMEi / ZVALi): BYTEPIX must say 2 (the width the 16-bit decoder reads; a file
        // without it is left to cfitsio), BLOCKSIZE 32 unless given; any other parameter is not this form
        var blockSize = 32, bytepix: Int? = nil
        var k = 1
        while let name = try readString("ZNAME\(k)") {
            guard let v = try int("ZVAL\(k)") else { return nil }
            switch name.uppercased() {
            case "BLOCKSIZE": blockSize = v
            case "BYTEPIX": bytepix = v
            default: return nil
            }
            k += 1
        }
        guard bytepix == 2, blockSize > 0, blockSize <= 4096 else { return nil }
        // the descriptors: 1PB (two 32-bit integers) or 1QB (two 64-bit)
        guard let tform = try readString("TFORM1")?.uppercased() else { return nil }
        let wide: Bool
        if tform.hasPrefix("1PB") || tform.hasPrefix("PB") { wide = false }
        else if tform.hasPrefix("1QB") || tform.hasPrefix("QB") { wide = true }
        else { return nil }
        guard rowBytes == (wide ? 16 : 8) else { return nil }
        let heapOffset = try int("THEAP") ?? rowBytes * ntiles
        guard heapOffset >= rowBytes * ntiles else { return nil }

        let length = heapOffset + pcount
        guard let unit = try mapDataUnit(length: length, what: "compressed image data") else { return nil }
        let p = unit.mapping, total = unit.mappedLength
        let table = UnsafeRawPointer(p) + unit.dataOffset
        var tiles: [(count: Int, offset: Int)] = []
        tiles.reserveCapacity(ntiles)
        for t in 0..<ntiles {
            let row = table + t * rowBytes
            let count: Int, offset: Int
            if wide {
                count = Int(UInt64(bigEndian: row.loadUnaligned(as: UInt64.self)))
                offset = Int(UInt64(bigEndian: row.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            } else {
                count = Int(UInt32(bigEndian: row.loadUnaligned(as: UInt32.self)))
                offset = Int(UInt32(bigEndian: row.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            }
            guard count >= 2, offset >= 0, offset + count <= pcount else {
                munmap(p, total)
                // an empty tile stands for a tile stored in another column (or lost): cfitsio's path reports it
                if count == 0 { return nil }
                throw FITSError(path: path, hdu: currentHDULabel(),
                                message: "compressed tile \(t + 1) lies outside the heap (\(count) bytes at \(offset), heap \(pcount))")
            }
            tiles.append((count, offset))
        }
        return FITSRiceImage(path: path, hdu: currentHDULabel(), shape: [ny, nx], blockSize: blockSize,
                             scale: scale, zero: zero, tiles: tiles, heap: table + heapOffset, mapping: p, mappedLength: total)
    }
}
