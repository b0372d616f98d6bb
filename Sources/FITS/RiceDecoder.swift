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
/// cfitsio reads the stream a byte at a time; here a 64-bit buffer is refilled with one unaligned 8-byte load for a
/// group of values (as many as its 56 bits hold when the unary counts are short), and the unary counts are
/// leading-zero counts (`lzcnt`). A refill per value put the load's latency on the chain from one value's length to
/// the next value's position.
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
                // three 16-bit values in the 56 bits of one refill
                while i < end {
                    reader.refill()
                    let group = min(i + 3, end)
                    while i < group {
                        last = last &+ unmapped(UInt32(reader.take(rawBits)))
                        out[i] = last; i += 1
                    }
                }
            } else {
                // a group of values per refill, as many as the buffer's 56 bits hold when each unary count is
                // below 5; a longer code (rare: the encoder chose fs for these values) refills on its own
                let group = max(1, 56 / (fs + 5)), lowShift = UInt64(63 - fs)
                while i < end {
                    reader.refill()
                    let groupEnd = min(i + group, end)
                    while i < groupEnd {
                        let here = reader.leadingZeros
                        let mapped: UInt32
                        if here + 1 + fs <= reader.available {
                            // the fs bits after the unary code, 0 for fs = 0 (a shift by 64 would keep them all),
                            // then one shift past the whole code (the next code's position waits on it alone)
                            let low = ((reader.buffer &<< UInt64(here + 1)) &>> 1) &>> lowShift
                            reader.drop(here + 1 + fs)
                            mapped = UInt32(truncatingIfNeeded: here) &<< UInt32(fs) | UInt32(truncatingIfNeeded: low)
                        } else {
                            mapped = try reader.longCode(fs: fs)
                        }
                        last = last &+ unmapped(mapped)
                        out[i] = last; i += 1
                    }
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

        /// Drops n < 64 bits (n <= available).
        @inline(__always)
        mutating func drop(_ n: Int) {
            buffer &<<= UInt64(n)
            available -= n
        }

        /// A mapped difference whose code does not fit in the buffered bits: a refill, then the unary count, which
        /// may run past the buffer (cfitsio's encoder with 32-value blocks writes no run that long), and fs bits.
        @inline(never)
        mutating func longCode(fs: Int) throws(Failure) -> UInt32 {
            refill()
            var zeros = 0
            while leadingZeros >= available {
                zeros += available
                skip(available)
                guard position <= length else { throw .endOfStream }
                refill()
            }
            let here = leadingZeros
            zeros += here
            skip(here + 1)
            if available < fs { refill() }
            let low = fs > 0 ? UInt32(take(fs)) : 0
            return UInt32(truncatingIfNeeded: zeros) &<< UInt32(fs) | low
        }

        @inline(__always)
        mutating func skip(_ n: Int) {
            buffer = n >= 64 ? 0 : buffer &<< UInt64(n)
            available -= n
        }
    }
}
