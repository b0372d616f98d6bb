import DESICore
import Foundation

/// HTML pages of the QA (desispec.qa.html make_exposure / toplevel): every figure linked and shown, the key
/// numbers per camera in a table, warnings highlighted.
public enum HTMLIndex {

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func head(_ title: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font-family: sans-serif; margin: 1.5em; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }
        th, td { border: 1px solid #bbb; padding: 2px 8px; text-align: right; }
        th { background: #eee; }
        td.name { text-align: left; }
        .warn { background: #ffd6d6; color: #900; font-weight: bold; }
        ul.warnings li { color: #900; }
        img { max-width: 100%; border: 1px solid #ccc; margin: 4px 0; }
        </style></head><body>
        <h1>\(escape(title))</h1>

        """
    }

    static func number(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "" }
        if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
        return String(format: "%.4g", v)
    }

    static func figures(_ paths: [String]) -> String {
        guard !paths.isEmpty else { return "<p>No figures.</p>\n" }
        return paths.map { p in
            let e = escape(p)
            return "<h3>\(escape((p as NSString).lastPathComponent))</h3>\n<a href=\"\(e)\"><img src=\"\(e)\" alt=\"\(e)\"></a>\n"
        }.joined()
    }

    static func warningList(_ warnings: [String]) -> String {
        guard !warnings.isEmpty else { return "<p>No warnings.</p>\n" }
        return "<ul class=\"warnings\">\n" + warnings.map { "<li>\(escape($0))</li>\n" }.joined() + "</ul>\n"
    }

    /// The key-number table of an exposure: one row per camera; a cell is highlighted when that camera's warnings
    /// mention its metric family, and the warnings count when non-zero.
    static func summaryTable(_ e: QAExposure) -> String {
        var s = "<table>\n<tr><th>camera</th>"
            + QAExposure.summaryMetrics.map { "<th>\(escape($0.column))</th>" }.joined() + "<th>warnings</th></tr>\n"
        for (cam, qa) in e.cameras {
            let warnings = (qa["WARNINGS"]?.list ?? []).compactMap(\.string)
            s += "<tr><td class=\"name\">\(escape(cam))</td>"
            for m in QAExposure.summaryMetrics {
                let family = String(m.path.split(separator: ".").first ?? "")
                let flagged = warnings.contains { $0.hasPrefix(family + ":") }
                s += flagged ? "<td class=\"warn\">" : "<td>"
                s += number(qa.lookup(m.path)?.double) + "</td>"
            }
            s += warnings.isEmpty ? "<td>0</td>" : "<td class=\"warn\">\(warnings.count)</td>"
            s += "</tr>\n"
        }
        return s + "</table>\n"
    }

    /// Links to interactive viewer pages (`desispec view`), by their file names; nothing when there are none.
    static func viewerLinks(_ pages: [String]) -> String {
        guard !pages.isEmpty else { return "" }
        let anchors = pages.map { "<a class=\"viewer\" href=\"\(escape($0))\">\(escape(($0 as NSString).lastPathComponent))</a>" }
        return "<p>Spectrum viewer: " + anchors.joined(separator: " | ") + "</p>\n"
    }

    /// qa-EXPID.html: summary table, warnings, figures (paths relative to the page).
    /// Links to the exposure's viewer pages (one per petal) where given.
    /// `fiberPages`: the fibers worth a look, each verdict linked to its page (`prefix` + the index's PAGE).
    public static func exposurePage(_ e: QAExposure, figures figs: [String], fiberPages: FiberPageIndex? = nil,
                                    fiberPagePrefix prefix: String = "", viewers: [String] = []) -> String {
        var s = head("DESI QA: exposure \(e.expid), night \(e.night) (\(e.flavor))")
        s += viewerLinks(viewers)
        s += "<h2>Key numbers</h2>\n" + summaryTable(e)
        s += "<h2>Warnings</h2>\n" + warningList(e.warnings)
        s += "<h2>Quality grades per petal</h2>\n"
            + QualityQA.htmlTable(QualityQA.petalCounts(e).map { ("petal \($0.petal)", $0.counts) })
        if let index = fiberPages {
            s += "<h2>Fibers to look at</h2>\n"
            if index.entries.isEmpty { s += "<p>none (no fiber graded 2 or worse, no FIBERSTATUS set)</p>\n" }
            s += index.entries.isEmpty ? "" : "<ul>\n" + index.entries.map { f in
                "<li><a href=\"\(escape(prefix + f.page))\">fiber \(f.verdict.fiber)</a> (TARGETID \(f.verdict.targetID)): "
                    + "\(escape(f.verdict.text))</li>\n"
            }.joined() + "</ul>\n"
        }
        s += "<h2>Figures</h2>\n" + figures(figs)
        return s + "</body></html>\n"
    }

    /// qa-NIGHT.html: one row per exposure and camera, warnings, the night's time-series figures and links to each
    /// exposure's page and figures (paths relative to the page).
    public static func nightPage(_ n: QANight, figures figs: [String], exposurePages: [Int: String],
                                 exposureFigures: [Int: [String]], exposureViewers: [Int: [String]] = [:],
                                 coaddViewers: [String] = []) -> String {
        var s = head("DESI QA: night \(n.night)")
        s += viewerLinks(coaddViewers)
        s += "<h2>Exposures</h2>\n<table>\n<tr><th>EXPID</th><th>flavor</th><th>cameras</th><th>warnings</th><th>page</th></tr>\n"
        for e in n.exposures {
            let w = e.warnings.count
            let link = exposurePages[e.expid].map { "<a href=\"\(escape($0))\">qa-\(FileLayout.expidString(e.expid))</a>" } ?? ""
            s += "<tr><td>\(e.expid)</td><td class=\"name\">\(escape(e.flavor))</td><td>\(e.cameras.count)</td>"
            s += (w > 0 ? "<td class=\"warn\">\(w)</td>" : "<td>0</td>") + "<td class=\"name\">\(link)</td></tr>\n"
        }
        s += "</table>\n"
        s += "<h2>Quality grades per petal</h2>\n" + QualityQA.htmlTable(n.exposures.flatMap { e in
            QualityQA.petalCounts(e).map { ("\(e.expid) petal \($0.petal)", $0.counts) }
        })
        s += "<h2>Time series</h2>\n" + figures(figs)
        for e in n.exposures {
            s += "<h2 id=\"\(e.expid)\">Exposure \(e.expid)</h2>\n" + viewerLinks(exposureViewers[e.expid] ?? [])
            s += summaryTable(e) + warningList(e.warnings)
            let links = exposureFigures[e.expid] ?? []
            if !links.isEmpty {
                let anchors = links.map { "<a href=\"\(escape($0))\">\(escape(($0 as NSString).lastPathComponent))</a>" }
                s += "<p>" + anchors.joined(separator: " | ") + "</p>\n"
            }
        }
        s += "<h2>All warnings</h2>\n" + warningList(n.exposures.flatMap { e in e.warnings.map { "\(e.expid) \($0)" } })
        return s + "</body></html>\n"
    }

    /// Writes text through a temporary file and a rename.
    public static func write(_ html: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(html.utf8).write(to: url, options: .atomic)
    }
}
