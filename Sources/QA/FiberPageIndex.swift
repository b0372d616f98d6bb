import DESICore
import Foundation

/// The list of an exposure's fiber pages, fibers/fibers-EXPID.json in its QA folder (`FileLayout.fiberPageIndex`):
/// FIBER, TARGETID, GRADE (null where not graded), REASONS, FIBERSTATUS and PAGE (the PNG's name, relative to the
/// index). qa-exposure's page links each fiber's verdict to its page from it.
public struct FiberPageIndex: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var verdict: FiberVerdict
        public var page: String
    }
    public var expid: Int
    public var night: String
    public var entries: [Entry]

    public init(expid: Int, night: String, entries: [Entry]) { self.expid = expid; self.night = night; self.entries = entries }

    /// The fibers worth a person's look in the exposure's FIBERMAPs (grade >= 2 where graded, else FIBERSTATUS != 0),
    /// worst grade first then by FIBER, at most `max`.
    public static func worthLooking(_ fibermaps: [Fibermap], max: Int) -> [FiberVerdict] {
        var seen = Set<Int>()
        let all = fibermaps.flatMap(FiberVerdict.all).filter { $0.worthLooking && seen.insert($0.fiber).inserted }
        return Array(all.sorted { ($0.grade ?? 0, -$0.fiber) > ($1.grade ?? 0, -$1.fiber) }.prefix(max))
    }

    public var qaValue: QAValue {
        .dict([("EXPID", .int(expid)), ("NIGHT", .string(night)), ("FIBERS", .list(entries.map { e in
            .dict([("FIBER", .int(e.verdict.fiber)), ("TARGETID", .int(Int(e.verdict.targetID))),
                   ("GRADE", e.verdict.grade.map { .int($0) } ?? .double(.nan)), ("REASONS", .string(e.verdict.reasons)),
                   ("FIBERSTATUS", .int(Int(e.verdict.fiberStatus))), ("PAGE", .string(e.page))])
        }))])
    }

    public static func read(_ path: String) throws -> FiberPageIndex {
        let v = try QAValue.read(path)
        guard let list = v["FIBERS"]?.list else { throw DESIError.badFile(path: path, problem: "no FIBERS list") }
        let entries = try list.map { e -> Entry in
            guard let fiber = e["FIBER"]?.int, let page = e["PAGE"]?.string else {
                throw DESIError.badFile(path: path, problem: "a FIBERS entry without FIBER or PAGE")
            }
            let verdict = FiberVerdict(fiber: fiber, targetID: Int64(e["TARGETID"]?.int ?? -1), grade: e["GRADE"]?.int,
                                       reasons: e["REASONS"]?.string ?? "",
                                       fiberStatus: UInt32(truncatingIfNeeded: e["FIBERSTATUS"]?.int ?? 0))
            return Entry(verdict: verdict, page: page)
        }
        return FiberPageIndex(expid: v["EXPID"]?.int ?? 0, night: v["NIGHT"]?.string ?? "", entries: entries)
    }
}
