internal import CFITSIO
import Foundation

/// Kinds of HDU.
public enum HDUType: Sendable { case image, asciiTable, binaryTable }

/// An open FITS file. All cfitsio calls of the project go through this type and its extensions in this module.
///
/// Array shapes use numpy's order (slowest axis first): an image of NAXIS1 = nx columns and NAXIS2 = ny rows
/// has shape [ny, nx] and is stored row-major, exactly as FITS stores it.
public final class FITSFile {
    public let path: String
    var fptr: UnsafeMutablePointer<fitsfile>?
    /// FITS data sums of HDUs whose data this handle wrote from memory (HDU index -> sum): `writeChecksums` uses
    /// them instead of reading the data back.
    var dataSums: [Int: UInt32] = [:]
    /// Opened for writing (or created): declared data sizes are then not compared with the bytes on disk.
    let writable: Bool

    private init(path: String, fptr: UnsafeMutablePointer<fitsfile>?, writable: Bool) {
        self.path = path
        self.fptr = fptr
        self.writable = writable
    }

    deinit {
        if fptr != nil { var status: Int32 = 0; ffclos(fptr, &status) }
    }

    /// Opens an existing file (read-only unless `writable`).
    public static func open(_ path: String, writable: Bool = false) throws -> FITSFile {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FITSError(path: path, message: "no such file")
        }
        var ptr: UnsafeMutablePointer<fitsfile>?
        var status: Int32 = 0
        shim_open_diskfile(&ptr, path, writable ? READWRITE : READONLY, &status)
        if status != 0 {
            throw FITSError(path: path, message: "cannot open as FITS: \(FITSFile.errorText(status))", status: status)
        }
        return FITSFile(path: path, fptr: ptr, writable: writable)
    }

    /// Creates a new, empty file, replacing any file at `path`. Prefer `FITSFile.writeAtomically`.
    public static func create(_ path: String) throws -> FITSFile {
        if FileManager.default.fileExists(atPath: path) { try? FileManager.default.removeItem(atPath: path) }
        var ptr: UnsafeMutablePointer<fitsfile>?
        var status: Int32 = 0
        ffdkinit(&ptr, path, &status)
        if status != 0 {
            throw FITSError(path: path, message: "cannot create: \(FITSFile.errorText(status))", status: status)
        }
        return FITSFile(path: path, fptr: ptr, writable: true)
    }

    /// Writes a file through a temporary name in the same folder and renames it into place only when `body`
    /// succeeded, so that a reader never sees a partial file and a failure leaves no output.
    /// With `checksum`, CHECKSUM and DATASUM are written in every HDU once `body` is done (as desispec's writers do).
    public static func writeAtomically(_ path: String, checksum: Bool = false, _ body: (FITSFile) throws -> Void) throws {
        let write = try AtomicFITSWrite(path)
        try write.writing(body)
        try write.commit(checksum: checksum)
    }

    /// Closes the file, flushing what was written. Safe to call twice.
    public func close() throws {
        guard fptr != nil else { return }
        var status: Int32 = 0
        ffclos(fptr, &status)
        fptr = nil
        try check(status, "closing file")
    }

    // MARK: errors

    static func errorText(_ status: Int32) -> String {
        var text = [CChar](repeating: 0, count: 32)
        ffgerr(status, &text)
        var detail = ""
        var msg = [CChar](repeating: 0, count: 96)
        while ffgmsg(&msg) != 0 {
            let line = stringFromCBuffer(msg)
            if !line.isEmpty && !detail.contains(line) { detail += (detail.isEmpty ? "" : "; ") + line }
        }
        let base = stringFromCBuffer(text)
        // cfitsio quotes the bytes of a damaged header in its messages: keep the error on one printable line
        let printable = detail.unicodeScalars.map { (0x20..<0x7F).contains($0.value) ? Character($0) : "?" }
        return detail.isEmpty ? base : "\(base) (\(String(printable)))"
    }

    func check(_ status: Int32, _ what: String, hdu: String? = nil) throws {
        if status != 0 {
            throw FITSError(path: path, hdu: hdu ?? currentHDULabel(), message: "\(what): \(FITSFile.errorText(status))", status: status)
        }
    }

    func handle() throws -> UnsafeMutablePointer<fitsfile> {
        guard let fptr else { throw FITSError(path: path, message: "file is closed") }
        return fptr
    }

    // MARK: HDU navigation (indices are 0-based, as astropy numbers them)

    public var hduCount: Int {
        var n: Int32 = 0, status: Int32 = 0
        ffthdu(fptr, &n, &status)
        return Int(n)
    }

    public var currentHDUIndex: Int {
        var n: Int32 = 0
        ffghdn(fptr, &n)
        return Int(n) - 1
    }

    public func moveTo(index: Int) throws {
        var status: Int32 = 0, type: Int32 = 0
        ffmahd(try handle(), Int32(index + 1), &type, &status)
        try check(status, "no HDU number \(index) (the file has \(hduCount))", hdu: String(index))
    }

    /// Moves to the HDU whose EXTNAME (or HDUNAME) is `name`, case-insensitively.
    public func moveTo(name: String) throws {
        var status: Int32 = 0
        var cname = Array(name.utf8CString)
        ffmnhd(try handle(), -1, &cname, 0, &status)
        if status != 0 {
            let known = hduNames().joined(separator: ", ")
            _ = FITSFile.errorText(status)
            throw FITSError(path: path, hdu: name, message: "no HDU named \(name) (found: \(known))", status: status)
        }
    }

    public func hasHDU(_ name: String) -> Bool { hduIndex(named: name) != nil }

    public func hduIndex(named name: String) -> Int? {
        let names = hduNames()
        return names.firstIndex { $0.uppercased() == name.uppercased() }
    }

    /// The EXTNAME of each HDU ("" where absent; "PRIMARY" for an unnamed primary).
    public func hduNames() -> [String] {
        guard fptr != nil else { return [] }
        let here = currentHDUIndex
        var names: [String] = []
        for i in 0..<hduCount {
            var status: Int32 = 0, type: Int32 = 0
            ffmahd(fptr, Int32(i + 1), &type, &status)
            if status != 0 { break }
            let name = (try? readString("EXTNAME")) ?? nil
            names.append(name ?? (i == 0 ? "PRIMARY" : ""))
        }
        var status: Int32 = 0, type: Int32 = 0
        ffmahd(fptr, Int32(here + 1), &type, &status)
        return names
    }

    public var currentHDUType: HDUType {
        var t: Int32 = 0, status: Int32 = 0
        ffghdt(fptr, &t, &status)
        switch t {
        case ASCII_TBL: return .asciiTable
        case BINARY_TBL: return .binaryTable
        default: return .image
        }
    }

    /// True when the current HDU is a tile-compressed image.
    public var isCompressedImage: Bool {
        var status: Int32 = 0
        return fits_is_compressed_image(fptr, &status) != 0
    }

    func currentHDULabel() -> String? {
        guard fptr != nil else { return nil }
        if let name = (try? readString("EXTNAME")) ?? nil { return name }
        return String(currentHDUIndex)
    }

    /// Reads one string keyword of the current HDU, nil if absent.
    func readString(_ key: String) throws -> String? {
        var status: Int32 = 0
        var value = [CChar](repeating: 0, count: Int(FLEN_VALUE) + 1)
        var ckey = Array(key.utf8CString)
        ffgky(fptr, TSTRING, &ckey, &value, nil, &status)
        if status == KEY_NO_EXIST { ffcmsg(); return nil }
        if status != 0 { ffcmsg(); return nil }
        return stringFromCBuffer(value).trimmingCharacters(in: .whitespaces)
    }
}
