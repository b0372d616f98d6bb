import DESICore
import Foundation

/// The production's QA index, QA/qa-toplevel.html (desispec.qa.html.toplevel): a row per night with a QA page,
/// linking that page and the night's spectrum viewer pages (`desispec view`: one per coadd, one per exposure and
/// petal). qa-night rewrites it after each night's page, so it lists every night reduced so far.
public enum QAProductionIndex {
    public struct Night: Sendable, Equatable {
        public var night: String
        /// qa-NIGHT.html, relative to the production's QA folder (where the index is).
        public var page: String
        /// The coadds' viewer pages, then the exposures', relative to the QA folder.
        public var viewers: [String]
    }

    /// The nights with a QA page under the production `specprod`, and their viewer pages.
    public static func gather(specprod: String) -> [Night] {
        let qaRoot = FileLayout.qaDir(specprod: specprod)
        return FileLayout.qaNightsWithPages(specprod: specprod).map { night in
            var viewers = FileLayout.viewerCoaddPages(specprod: specprod, night: night)
            for name in (try? FileLayout.listing(FileLayout.qaNightDir(specprod: specprod, night: night))) ?? [] {
                guard name.count == 8, let expid = Int(name) else { continue }
                let dir = FileLayout.qaExposureDir(specprod: specprod, night: night, expid: expid)
                let relative = String(dir.dropFirst(qaRoot.count + 1))
                viewers += FileLayout.viewerExposurePages(in: dir, expid: expid).map { "\(relative)/\($0)" }
            }
            let page = (FileLayout.qaNightFile(specprod: specprod, night: night, ext: "html") as NSString).lastPathComponent
            return Night(night: night, page: page, viewers: viewers)
        }
    }

    /// Writes qa-toplevel.html through a temporary file and a rename; returns its path.
    @discardableResult
    public static func write(specprod: String) throws -> String {
        let path = FileLayout.qaTopLevelPage(specprod: specprod)
        try HTMLIndex.write(HTMLIndex.productionPage(gather(specprod: specprod)), to: path)
        return path
    }
}

extension HTMLIndex {
    /// qa-toplevel.html: one row per night, its QA page and its viewer pages (paths relative to the page).
    static func productionPage(_ nights: [QAProductionIndex.Night]) -> String {
        var s = head("DESI QA: production")
        s += "<h2>Nights</h2>\n<table>\n<tr><th>night</th><th>QA page</th><th>spectrum viewer</th></tr>\n"
        for n in nights {
            let viewers = n.viewers.map { "<a class=\"viewer\" href=\"\(escape($0))\">\(escape(($0 as NSString).lastPathComponent))</a>" }
            s += "<tr><td>\(escape(n.night))</td><td class=\"name\"><a href=\"\(escape(n.page))\">\(escape(n.page))</a></td>"
            s += "<td class=\"name\">\(viewers.joined(separator: " | "))</td></tr>\n"
        }
        return s + "</table>\n</body></html>\n"
    }
}
