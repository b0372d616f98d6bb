/// An error from the FITS layer: which file, which HDU, and what went wrong (cfitsio's own message included).
public struct FITSError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let hdu: String?
    public let message: String
    public let status: Int32

    public init(path: String, hdu: String? = nil, message: String, status: Int32 = 0) {
        self.path = path
        self.hdu = hdu
        self.message = message
        self.status = status
    }

    public var description: String {
        var text = path
        if let hdu { text += " [HDU \(hdu)]" }
        text += ": " + message
        return text
    }
}

/// Decodes a NUL-terminated C buffer.
func stringFromCBuffer(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension FITSError {
    /// The same error reported against `path` (a file's final name rather than its temporary one).
    func naming(_ path: String) -> FITSError { FITSError(path: path, hdu: hdu, message: message, status: status) }
}
