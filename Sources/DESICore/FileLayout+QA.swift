import Foundation

// Where the QA of a production goes, under PROD/QA (desispec 0.51 qaprod templates; our metrics are JSON):
//   QA/exposures/NIGHT/EXPID/qa-CAMERA-EXPID.json   qa-frame of one camera
//   QA/exposures/NIGHT/EXPID/qa-KIND-CAMERA-EXPID.png its figures
//   QA/exposures/NIGHT/EXPID/qa-EXPID.{json,png,html} qa-exposure
//   QA/qa-NIGHT.{json,html}, QA/qa-NIGHT-METRIC.png  qa-night
//   QA/exposures/NIGHT/EXPID/fibers/fiber-FIBER-EXPID.png  plot-fiber (the fibers worth a look)
//   QA/exposures/NIGHT/EXPID/fibers/fibers-EXPID.json      their list (linked from qa-EXPID.html)

extension FileLayout {
    /// Per-camera QA of a frame: qa-CAMERA-EXPID.json in `folder` (qa-frame).
    public static func qaFrameFile(folder: String, camera: String, expid: Int) -> String {
        "\(folder)/\(cameraFileName("qa", camera: camera, expid: expid, ext: "json"))"
    }

    /// A QA figure of one camera: qa-KIND-CAMERA-EXPID.png in `folder` (KIND e.g. "sky", "diagnosis", "s2n", "frame").
    public static func qaFrameFigure(_ kind: String, folder: String, camera: String, expid: Int) -> String {
        "\(folder)/\(cameraFileName("qa-\(kind)", camera: camera, expid: expid, ext: "png"))"
    }

    /// The folder of an exposure's fiber pages: `exposureQAFolder`/fibers.
    public static func fiberPageDir(exposureQAFolder folder: String) -> String { "\(folder)/\(fiberPageFolderName)" }
    /// Name of that folder, relative to the exposure's QA folder (links of qa-EXPID.html).
    public static let fiberPageFolderName = "fibers"

    /// A fiber's verification page (plot-fiber) in `folder`: fiber-FIBER-EXPID.png.
    public static func fiberPage(folder: String, fiber: Int, expid: Int) -> String {
        "\(folder)/fiber-\(fiber)-\(expidString(expid)).png"
    }

    /// The list of an exposure's fiber pages in the fiber-page folder: fibers-EXPID.json.
    public static func fiberPageIndex(folder: String, expid: Int) -> String {
        "\(folder)/\(exposureFileName("fibers", expid: expid, ext: "json"))"
    }

    /// An exposure's combined QA in `folder`: qa-EXPID.EXT with EXT "json", "png" or "html" (qa-exposure).
    public static func qaExposureFile(folder: String, expid: Int, ext: String) -> String {
        "\(folder)/\(exposureFileName("qa", expid: expid, ext: ext))"
    }

    /// The night's QA in PROD/QA: qa-NIGHT.EXT with EXT "json" or "html" (qa-night; the HTML index links every figure).
    /// PROD/QA/qa-toplevel.html: the production's QA index (desispec's qa_toplevel name), every night's page.
    public static func qaTopLevelPage(specprod: String) -> String { "\(qaDir(specprod: specprod))/qa-toplevel.html" }

    /// The nights with a QA page (qa-NIGHT.html, NIGHT 8 digits) in the production's QA folder, sorted.
    public static func qaNightsWithPages(specprod: String) -> [String] {
        ((try? listing(qaDir(specprod: specprod))) ?? []).compactMap { name -> String? in
            guard name.hasPrefix("qa-"), name.hasSuffix(".html") else { return nil }
            let night = String(name.dropFirst(3).dropLast(5))
            return night.count == 8 && Int(night) != nil ? night : nil
        }.sorted()
    }

    public static func qaNightFile(specprod: String, night: String, ext: String) -> String {
        "\(qaDir(specprod: specprod))/qa-\(night).\(ext)"
    }

    /// Name of a time-series figure of the night, in PROD/QA: qa-NIGHT-METRIC.png ("." of the metric becomes "_").
    public static func qaNightFigureName(night: String, metric: String) -> String {
        "qa-\(night)-\(metric.replacingOccurrences(of: ".", with: "_")).png"
    }

    /// qa-CAMERA-EXPID.json files of a folder (of one EXPID when given), full paths in name order.
    public static func qaFrameFiles(in folder: String, expid: Int?) throws -> [String] {
        try listing(folder).filter { name in
            guard let parsed = DESIFileName.parseQA(name), parsed.camera != nil, let e = parsed.expid else { return false }
            return expid == nil || e == expid
        }.map { "\(folder)/\($0)" }
    }

    /// PNG figures of an exposure in its QA folder, names relative to it: the exposure's figure qa-EXPID.png first.
    public static func qaExposureFigures(in folder: String, expid: Int) -> [String] {
        let own = exposureFileName("qa", expid: expid, ext: "png")
        let tail = "\(expidString(expid)).png"
        let pngs = ((try? listing(folder)) ?? []).filter { $0.hasSuffix(tail) && $0.hasPrefix("qa-") }
        return pngs.filter { $0 == own } + pngs.filter { $0 != own }
    }

    /// Names in a folder, sorted; throws when the folder does not exist.
    public static func listing(_ folder: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw DESIError.badFile(path: folder, problem: "no such folder")
        }
        return try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }
}

extension DESIFileName {
    /// Parses a per-camera QA name qa-CAMERA-EXPID.json ("qa-b0-00000100.json" -> qa, b0, expid 100); nil otherwise.
    static func parseQA(_ name: String) -> DESIFileName? {
        let parts = name.split(separator: "-")
        guard parts.count == 3, parts[0] == "qa", let camera = Camera(String(parts[1])), name.hasSuffix(".json"),
              let expid = Int(parts[2].dropLast(5)) else { return nil }
        return DESIFileName(prefix: "qa", camera: camera, spectrograph: camera.spectrograph, expid: expid)
    }
}
