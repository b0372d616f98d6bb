internal import CFITSIO

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
            ffpcks(f, &status)
            try check(status, "writing CHECKSUM/DATASUM")
        }
        if here >= 0 && here < hduCount { try moveTo(index: here) }
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
