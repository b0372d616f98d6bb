import DESICore
import Foundation

/// The files a viewer page embeds: Debian's dygraphs 2.2.1 (MIT, libjs-dygraphs; see Resources/LICENSE.dygraphs),
/// the viewer's own script, style and page body. They are the module's SwiftPM resources, found in the
/// desispec_Viewer.resources folder beside the executable (or in $DESISPEC_VIEWER_RESOURCES).
public struct ViewerResources: Sendable {
    public var dygraphsJS: String
    public var dygraphsCSS: String
    public var viewerJS: String
    public var viewerCSS: String
    public var viewerBody: String

    /// The folder holding the resources: $DESISPEC_VIEWER_RESOURCES, else desispec_Viewer.resources/Resources beside
    /// the running executable (where SwiftPM puts them), else the source tree's Resources folder the executable was
    /// built from (so that a copy of the executable elsewhere, e.g. a benchmark's, still finds them while that tree is
    /// there, as the other modules' `Bundle.module` falls back to the build's products; without its fatal error).
    /// `environment` and `executableFolders` (default: this process's, the executable's folder and the main bundle's)
    /// are parameters for the tests.
    public static func folder(environment: [String: String] = ProcessInfo.processInfo.environment,
                              executableFolders: [URL]? = nil) throws -> String {
        let env = environment["DESISPEC_VIEWER_RESOURCES"]
        var candidates = env.map { [$0] } ?? []
        let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent()
        for dir in executableFolders ?? [exe, Bundle.main.bundleURL].compactMap({ $0 }) {
            candidates.append(dir.appendingPathComponent("desispec_Viewer.resources/Resources").path)
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources").path)
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: "\($0)/dygraph.min.js") }) else {
            let looked = candidates.joined(separator: ", ")
            throw DESIError.badFile(path: looked, problem: "the viewer's resources (dygraph.min.js) are not there: "
                                    + "set DESISPEC_VIEWER_RESOURCES to the Sources/Viewer/Resources folder")
        }
        return found
    }

    /// Reads the resources from `folder` (default: `folder()`).
    public static func load(from folder: String? = nil) throws -> ViewerResources {
        let dir = try folder ?? Self.folder()
        func read(_ name: String) throws -> String {
            let path = "\(dir)/\(name)"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw DESIError.badFile(path: path, problem: "viewer resource missing or not UTF-8")
            }
            return text
        }
        let js = withoutSourceMap(try read("dygraph.min.js"))
        // Inline in <script>: a "</script" inside the library would end the element.
        guard !js.lowercased().contains("</script") else {
            throw DESIError.badFile(path: "\(dir)/dygraph.min.js", problem: "contains </script: cannot be inlined")
        }
        return ViewerResources(dygraphsJS: js, dygraphsCSS: withoutSourceMap(try read("dygraph.css")), viewerJS: try read("viewer.js"),
                               viewerCSS: try read("viewer.css"), viewerBody: try read("viewer-body.html"))
    }

    /// The text without its source-map comment (the map is not shipped: a page from disk would point at nothing).
    static func withoutSourceMap(_ text: String) -> String {
        text.components(separatedBy: "\n").filter { !$0.contains("# sourceMappingURL=") }.joined(separator: "\n")
    }
}
