import DESICore
import Foundation

/// The self-contained HTML page of a `ViewerDocument`: the charting library (dygraphs) and the viewer's script and
/// style inline, the targets' metadata as JSON, and each target's arrays as one base64 chunk of little-endian
/// float32 (flux, ivar, then sky and model where present, per spectrum), decoded only when the target is shown, so
/// that the page opens in a time that hardly grows with the number of targets.
public enum ViewerPage {

    /// The page's HTML.
    public static func html(_ doc: ViewerDocument, resources: ViewerResources) throws -> String {
        let meta = try metadataJSON(doc)
        var s = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(doc.title))</title>
        <style>\n\(resources.dygraphsCSS)\n\(resources.viewerCSS)\n</style>
        <script>\n\(resources.dygraphsJS)\n</script>
        </head><body>
        \(resources.viewerBody)
        <script id="viewer-meta" type="application/json">\(meta)</script>

        """
        s.reserveCapacity(s.utf8.count + doc.targets.count * 90_000)
        for (i, t) in doc.targets.enumerated() {
            s += "<script id=\"chunk-\(i)\" type=\"application/octet-stream\">" + chunk(t) + "</script>\n"
        }
        s += "<script>\n\(resources.viewerJS)\n</script>\n</body></html>\n"
        return s
    }

    /// Writes the page atomically (a temporary file, then one rename).
    public static func write(_ doc: ViewerDocument, to path: String, resources: ViewerResources) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(try html(doc, resources: resources).utf8).write(to: url, options: .atomic)
    }

    /// One target's arrays, float32 little-endian, base64.
    static func chunk(_ t: ViewerTarget) -> String {
        var values: [Float] = []
        for s in t.spectra {
            values += s.flux
            values += s.ivar
            if let sky = s.sky { values += sky }
            if let model = s.model { values += model }
        }
        return base64(values)
    }

    static func base64<T: BinaryFloatingPoint>(_ values: [T]) -> String {
        values.withUnsafeBytes { Data($0) }.base64EncodedString()   // x86-64 and arm64 are little-endian
    }

    struct Link: Encodable { var text: String; var href: String }
    struct GridMeta: Encodable { var name: String; var wave: String; var n: Int }
    struct PartMeta: Encodable { var grid: Int; var sky: Bool; var model: Bool }
    struct TargetMeta: Encodable {
        /// TARGETID as text: 64-bit integers are not exact as JavaScript numbers.
        var targetid: String?
        var fiber: Int?
        var row: [[String]]
        var grade: Int?
        var reasons: String?
        var z: Double?
        var spectype: String?
        var parts: [PartMeta]
    }
    struct Meta: Encodable {
        var title: String
        var sources: [String]
        var fluxUnit: String
        var links: [Link]
        var grids: [GridMeta]
        var targets: [TargetMeta]
    }

    /// The page's metadata as JSON, safe inside a <script> element ("<" written as \u003c).
    static func metadataJSON(_ doc: ViewerDocument) throws -> String {
        let meta = Meta(
            title: doc.title, sources: doc.sources.map { ($0 as NSString).lastPathComponent }, fluxUnit: doc.fluxUnit,
            links: doc.links.map { Link(text: $0.text, href: $0.href) },
            grids: doc.grids.map { GridMeta(name: $0.name, wave: base64($0.wave), n: $0.wave.count) },
            targets: doc.targets.map { t in
                TargetMeta(targetid: t.targetID.map(String.init), fiber: t.fiber, row: t.fibermapRow.map { [$0.name, $0.value] },
                           grade: t.qualityGrade, reasons: t.qualityReasons, z: t.redshift.flatMap { $0.isFinite ? $0 : nil },
                           spectype: t.spectype,
                           parts: t.spectra.map { PartMeta(grid: $0.grid, sky: $0.sky != nil, model: $0.model != nil) })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]   // the same page for the same inputs
        let data = try encoder.encode(meta)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
