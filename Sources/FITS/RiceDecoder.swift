/// Decoding of FITS tile compression's RICE_1 streams of 16-bit integers (BYTEPIX 2): the format of raw DESI images
/// (`fpack`, cfitsio's `fits_rcomp_short`). Lossless: the values are those cfitsio's `fits_rdecomp_short` gives.
///
/// The stream (Pence, White & Seaman 2010, PASP 122, 1065, and the FITS standard 4.0 section 10.4.1): the first value
/// as 2 big-endian bytes, then the differences of successive values, mapped to unsigned (d >= 0: 2d, d < 0: -2d - 1),
/// in blocks of `blockSize` values, bits most significant first. Each block starts with 4 bits, fs + 1:
/// - fs + 1 == 0: every difference of the block is 0;
/// - fs == 14: each difference is stored as is, 16 bits;
/// - else each difference is a unary count q (q zero bits, then a 1) and fs more bits r: (q << fs) | r.
/// Values add modulo 2^16, as cfitsio's unsigned arithmetic.
///
/// cfitsio reads the stream a byte at a time; here a 64-bit buffer is refilled with one unaligned 8-byte load per
/// value, and the unary counts are leading-zero counts (`lzcnt`).
public enum RiceDecoder {
    /// Readable bytes needed after a stream in the buffer given to `decodeShorts`: the end of the stream is checked
    /// once per block, and a block reads at most 2 x 7 bytes a value, plus a load of 8, past its last valid byte.
    public static func padding(blockSize: Int) -> Int { 14 * blockSize + 16 }

    public enum Failure: Error, Equatable {
        /// The stream holds fewer bits than the values need (a truncated or corrupt tile).
        case endOfStream
    }

    /// Decodes `count` values from the stream `bytes[0 ..< length]` into `out`. `bytes` must stay readable up to
    /// `length + padding(blockSize:)` (the caller copies the stream into a buffer that long; the padding's content is
    /// never used as data: a stream that runs into it fails with `.endOfStream`).
    public static func decodeShorts(_ bytes: UnsafePointer<UInt8>, length: Int, blockSize: Int, count: Int,
                                    into out: UnsafeMutablePointer<UInt16>) throws(Failure) {
        guard count > 0 else { return }
        guard length >= 2 else { throw .endOfStream }
        precondition(blockSize > 0, "Rice block size must be positive")
        var last = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        var reader = BitReader(bytes + 2, length: length - 2)
        let fsBits = 4, fsMax = 14, rawBits = 16
        var i = 0
        while i < count {
            let end = min(i + blockSize, count)
            reader.refill()
            let fs = Int(reader.take(fsBits)) - 1
            if fs < 0 {
                while i < end { out[i] = last; i += 1 }
            } else if fs == fsMax {
                while i < end {
                    reader.refill()
                    last = last &+ unmapped(UInt32(reader.take(rawBits)))
                    out[i] = last; i += 1
                }
            } else {
                while i < end {
                    reader.refill()
                    // a run of zeros longer than the buffer (cfitsio's encoder with 32-value blocks writes none)
                    var zeros = 0
                    while reader.leadingZeros >= reader.available {
                        zeros += reader.available
                        reader.skip(reader.available)
                        guard reader.position <= reader.length else { throw .endOfStream }
                        reader.refill()
                    }
                    let here = reader.leadingZeros
                    zeros += here
                    reader.skip(here + 1)
                    if reader.available < fs { reader.refill() }
                    let low = fs > 0 ? UInt32(reader.take(fs)) : 0
                    last = last &+ unmapped(UInt32(truncatingIfNeeded: zeros) &<< UInt32(fs) | low)
                    out[i] = last; i += 1
                }
            }
            guard reader.consumedBits <= 8 * reader.length else { throw .endOfStream }
        }
    }

    /// The difference a mapped value stands for, modulo 2^16 (even: d / 2; odd: the complement of d / 2).
    @inline(__always)
    static func unmapped(_ d: UInt32) -> UInt16 {
        UInt16(truncatingIfNeeded: d & 1 == 0 ? d >> 1 : ~(d >> 1))
    }

    /// Bits most significant first from a byte stream, at least 56 of them buffered after `refill` (the refill of
    /// F. Giesen's "reading bits in far too many ways", variant 4: the bytes past the buffered count are loaded again,
    /// the same values, by the next refill).
    struct BitReader {
        let base: UnsafePointer<UInt8>
        let length: Int
        /// The next byte to load.
        var position = 0
        /// Buffered bits, the next one the most significant.
        var buffer: UInt64 = 0
        var available = 0

        init(_ base: UnsafePointer<UInt8>, length: Int) { self.base = base; self.length = length }

        var consumedBits: Int { 8 * position - available }
        var leadingZeros: Int { buffer.leadingZeroBitCount }

        @inline(__always)
        mutating func refill() {
            let word = UInt64(bigEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            buffer |= word &>> UInt64(available)
            position += (63 - available) >> 3
            available |= 56
        }

        /// The next n bits (1 ...  56, n <= available) as a number.
        @inline(__always)
        mutating func take(_ n: Int) -> UInt64 {
            let v = buffer &>> UInt64(64 - n)
            skip(n)
            return v
        }

        @inline(__always)
        mutating func skip(_ n: Int) {
            buffer = n >= 64 ? 0 : buffer &<< UInt64(n)
            available -= n
        }
    }
}
