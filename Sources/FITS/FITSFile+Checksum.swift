internal import CFITSIO
import Foundation

/// Result of checking the CHECKSUM / DATASUM keywords of one HDU (cfitsio ffvcks).
public enum FITSChecksumState: Int, Sendable {
    case incorrect = -1
    case missing = 0
    case correct = 1
}

extension FITSFile {
    /// Writes CHECKSUM and DATASUM in every HDU (as astropy's writeto(checksum=True), which desispec uses).
    /// Call it last: any later change to an HDU invalidates its sums.
    public func writeChecksums() throws {
        let f = try handle()
        let here = currentHDUIndex
        for i in 0..<hduCount {
            try moveTo(index: i)
            var status: Int32 = 0
            if let sum = dataSums[i] {
                // the data sum is known: write it, and let cfitsio sum the header only (ffupck)
                var time = [CChar](repeating: 0, count: 24)
                var timeref: Int32 = 0
                ffgstm(&time, &timeref, &status)
                let stamp = stringFromCBuffer(time)
                // (written here directly: writeCard leaves these keywords to this function)
                for (key, value, comment) in [("CHECKSUM", "0000000000000000", "HDU checksum updated \(stamp)"),
                                              ("DATASUM", String(sum), "data unit checksum updated \(stamp)")] {
                    var k = Array(key.utf8CString), v = Array(value.utf8CString), c = Array(comment.utf8CString)
                    ffukys(f, &k, &v, &c, &status)
                }
                ffupck(f, &status)
            } else {
                ffpcks(f, &status)
            }
            try check(status, "writing CHECKSUM/DATASUM")
        }
        if here >= 0 && here < hduCount { try moveTo(index: here) }
    }

    /// The FITS data sum (32-bit ones' complement sum of the big-endian 32-bit words, Seaman et al. 2002) of
    /// 4- or 8-byte floating-point values as FITS stores them; nil for other types. Zero padding adds nothing.
    static func dataSum<T>(_ values: UnsafeBufferPointer<T>) -> UInt32? {
        guard T.self == Float.self || T.self == Double.self else { return nil }
        // a value's bit pattern, read as big-endian words, is the same number as its native word(s)
        return UnsafeRawBufferPointer(values).withMemoryRebound(to: UInt32.self) { onesComplementSum($0) }
    }

    /// The ones' complement sum of 32-bit words: native words, or (`bigEndian`) words as a FITS file stores them.
    static func onesComplementSum(_ words: UnsafeBufferPointer<UInt32>, bigEndian: Bool = false) -> UInt32 {
        let blocks = max(1, min(64, words.count / 262_144))
        var partial = [UInt64](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let w = words, o = out
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                var sum: UInt64 = 0
                let range = (w.count * b / blocks)..<(w.count * (b + 1) / blocks)
                if bigEndian {
                    for i in range { sum &+= UInt64(UInt32(bigEndian: w[i])) }
                } else {
                    for i in range { sum &+= UInt64(w[i]) }
                }
                o[b] = sum
            }
        }
        // (a Double's two words are both summed, so their order does not matter)
        var total: UInt64 = 0
        for p in partial {
            total &+= (p & 0xFFFF_FFFF) &+ (p >> 32)
        }
        return foldCarries(total)
    }

    /// A 64-bit sum of 32-bit words as their 32-bit ones' complement sum (the carries added back in, end around).
    static func foldCarries(_ sum: UInt64) -> UInt32 {
        var total = sum
        while total >> 32 != 0 { total = (total & 0xFFFF_FFFF) &+ (total >> 32) }
        return UInt32(total)
    }

    /// State of the data sum and of the whole-HDU checksum of the current HDU.
    public func checksumState() throws -> (data: FITSChecksumState, hdu: FITSChecksumState) {
        let f = try handle()
        var status: Int32 = 0, dataStatus: Int32 = 0, hduStatus: Int32 = 0
        ffvcks(f, &dataStatus, &hduStatus, &status)
        try check(status, "verifying CHECKSUM/DATASUM")
        return (FITSChecksumState(rawValue: Int(dataStatus)) ?? .incorrect, FITSChecksumState(rawValue: Int(hduStatus)) ?? .incorrect)
    }
}
