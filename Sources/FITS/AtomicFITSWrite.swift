import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A FITS file written under a temporary name in its destination's folder and renamed into place by `commit`, so
/// that a reader never sees a partial file and a failure leaves no output. A write that is neither committed nor
/// abandoned when released is abandoned (its temporary file removed).
/// `FITSFile.writeAtomically` covers the usual case of a file written in one go; this object serves a writer that
/// writes its HDUs at different times (a preproc file's IMAGE while the cosmic-ray search still runs).
public final class AtomicFITSWrite: @unchecked Sendable {
    public let path: String
    public let file: FITSFile
    private let temporaryPath: String
    private var finished = false

    public init(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw FITSError(path: path, message: "cannot create the folder \(dir.path): \(AtomicFITSWrite.whyNoFolder(dir))")
        }
        temporaryPath = dir.appendingPathComponent(
            ".tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))-\(url.lastPathComponent)").path
        self.path = path
        do {
            file = try FITSFile.create(temporaryPath)
        } catch let error as FITSError {
            throw error.naming(path)
        }
    }

    deinit { if !finished { abandon() } }

    /// Why `dir` could not be created: its nearest existing ancestor is a file, or cannot be written.
    private static func whyNoFolder(_ dir: URL) -> String {
        var ancestor = dir
        var isFolder: ObjCBool = false
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isFolder), ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
        }
        return isFolder.boolValue ? "cannot write in \(ancestor.path)" : "\(ancestor.path) is a file, not a folder"
    }

    /// Runs `body` on the file; when it throws, the write is abandoned and the error (a FITS error naming `path`
    /// rather than the temporary file) rethrown.
    public func writing(_ body: (FITSFile) throws -> Void) throws {
        do {
            try body(file)
        } catch let error as FITSError {
            abandon()
            throw error.naming(path)
        } catch {
            abandon()
            throw error
        }
    }

    /// Writes the checksums (with `checksum`), closes the file and renames it to `path` (replacing any file there
    /// in one step). On failure the temporary file is removed and the error names `path`.
    public func commit(checksum: Bool = false) throws {
        try writing { f in
            if checksum { try f.writeChecksums() }
            try f.close()
            guard rename(temporaryPath, path) == 0 else {
                throw FITSError(path: path, message: "cannot rename the finished file into place: \(String(cString: strerror(errno)))")
            }
        }
        finished = true
    }

    /// Closes and removes the temporary file; nothing appears at `path`.
    public func abandon() {
        try? file.close()
        try? FileManager.default.removeItem(atPath: temporaryPath)
        finished = true
    }
}
