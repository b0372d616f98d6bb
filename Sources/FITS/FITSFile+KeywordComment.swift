internal import CFITSIO
import Foundation

extension FITSFile {
    /// The comment of a keyword of the current HDU, structural ones included (e.g. a table's TTYPEn, whose comments
    /// desispec uses to describe SCORES columns); nil if the keyword is absent.
    public func keywordComment(_ key: String) throws -> String? {
        let f = try handle()
        var status: Int32 = 0
        var ckey = Array(key.utf8CString)
        var value = [CChar](repeating: 0, count: Int(FLEN_VALUE) + 1)
        var comment = [CChar](repeating: 0, count: Int(FLEN_COMMENT) + 1)
        ffgkey(f, &ckey, &value, &comment, &status)
        if status == KEY_NO_EXIST { ffcmsg(); return nil }
        try check(status, "reading the comment of \(key)")
        return stringFromCBuffer(comment).trimmingCharacters(in: .whitespaces)
    }

    /// Replaces the comment of an existing keyword of the current HDU (structural ones included).
    public func setKeywordComment(_ key: String, _ comment: String) throws {
        let f = try handle()
        var status: Int32 = 0
        var ckey = Array(key.utf8CString)
        var ccomment = Array(comment.utf8CString)
        ffmcom(f, &ckey, &ccomment, &status)
        try check(status, "writing the comment of \(key)")
    }
}
