import DESICore
import Foundation

/// Summaries of the quality grades (QUALITY_GRADE / QUALITY_REASONS of the FIBERMAP) for qa-frame, qa-exposure and
/// qa-night: counts per grade per camera, and per petal (each fiber counted once, at its worst grade over the
/// petal's cameras).
public enum QualityQA {
    /// The GRADES family of a frame's QA: NGRADE (fibers per grade 0-5), FIBER, GRADE and REASONS per fiber; nil when
    /// the frame carries no grades.
    public static func frameSummary(_ frame: Frame) -> QAValue? {
        guard let q = frame.quality else { return nil }
        return .dict([
            ("NGRADE", .ints(QualityColumns.counts(q))),
            ("FIBER", .ints(frame.fibers)),
            ("GRADE", .ints(q.map { Int($0.grade.rawValue) })),
            ("REASONS", .list(q.map { .string($0.reasonsText) })),
        ])
    }

    /// Fibers per grade for each petal (spectrograph) of an exposure, from the cameras' GRADES: a fiber's grade is its
    /// worst over the petal's cameras. Petals in order; none when no camera has grades.
    public static func petalCounts(_ e: QAExposure) -> [(petal: Int, counts: [Int])] {
        var worst: [Int: [Int: Int]] = [:]   // petal -> fiber -> grade
        for (cam, qa) in e.cameras {
            guard let petal = Int(cam.dropFirst()), let g = qa["GRADES"],
                  let fibers = g["FIBER"]?.list?.compactMap(\.int), let grades = g["GRADE"]?.list?.compactMap(\.int),
                  fibers.count == grades.count else { continue }
            for (f, grade) in zip(fibers, grades) { worst[petal, default: [:]][f] = max(worst[petal]?[f] ?? 0, grade) }
        }
        return worst.keys.sorted().map { p in
            var n = [Int](repeating: 0, count: QualityGrade.allCases.count)
            for g in worst[p]!.values where g >= 0 && g < n.count { n[g] += 1 }
            return (p, n)
        }
    }

    /// GRADES_PER_PETAL of an exposure's QA: petal number (as text) -> fibers per grade.
    static func petalValue(_ e: QAExposure) -> QAValue? {
        let counts = petalCounts(e)
        guard !counts.isEmpty else { return nil }
        return .dict(counts.map { (String($0.petal), .ints($0.counts)) })
    }

    /// An HTML table of fibers per grade, one row per labelled line; grades 3-5 highlighted when non-zero.
    static func htmlTable(_ rows: [(label: String, counts: [Int])]) -> String {
        guard !rows.isEmpty else { return "<p>No quality grades.</p>\n" }
        var s = "<table>\n<tr><th>petal</th>" + QualityGrade.allCases.map { "<th>grade \($0.rawValue)</th>" }.joined()
            + "</tr>\n"
        for r in rows {
            s += "<tr><td class=\"name\">\(HTMLIndex.escape(r.label))</td>"
            for (g, n) in r.counts.enumerated() { s += g >= 3 && n > 0 ? "<td class=\"warn\">\(n)</td>" : "<td>\(n)</td>" }
            s += "</tr>\n"
        }
        return s + "</table>\n"
    }
}
