import DESICore
import Foundation

/// What `qa-exposure` wrote.
public struct QAExposureOutputs: Sendable {
    public var json: String
    public var figure: String
    public var html: String
    /// Warnings of every camera, each prefixed by its camera.
    public var warnings: [String]
}

extension QAExposure {
    /// The per-camera QA files of an exposure: `files` when given, else every qa-CAMERA-EXPID.json of `folder`
    /// (of `expid` when given). Throws when there is neither, or when the folder holds none.
    public static func cameraFiles(_ files: [String], folder: String?, expid: Int?) throws -> [String] {
        if !files.isEmpty { return files }
        guard let folder else { throw DESIError.invalidArgument("give per-camera QA files, --qa-dir, or --night and --expid") }
        let found = try FileLayout.qaFrameFiles(in: folder, expid: expid)
        guard !found.isEmpty else {
            throw DESIError.badFile(path: folder, problem: "no per-camera QA files qa-CAM-EXPID.json in this folder")
        }
        return found
    }

    /// qa-exposure (desi_qa_exposure, desispec.io.qa.write_qa_exposure, desispec.qa.html.make_exposure): combines the
    /// per-camera QA `files` into qa-EXPID.json (at `output`, else in `folder`, else beside the first file), and writes
    /// beside it the figure of MED_RESID and ZP per camera (qa-EXPID.png) and the exposure's page (qa-EXPID.html).
    /// `software` is recorded as SOFTWARE.
    public static func combine(files: [String], folder: String?, output: String?, software: String) throws -> QAExposureOutputs {
        let folder = folder ?? (files[0] as NSString).deletingLastPathComponent
        let exposure = try QAExposure(cameraQA: try files.map { ($0, try QAValue.read($0)) })
        let out = output ?? FileLayout.qaExposureFile(folder: folder.isEmpty ? "." : folder, expid: exposure.expid, ext: "json")
        let parent = (out as NSString).deletingLastPathComponent
        let outDir = parent.isEmpty ? "." : parent
        var value = exposure.qaValue
        if case .dict(var items) = value {
            items.insert(("SOFTWARE", .string(software)), at: 3)
            items.insert(("INPUTS", .list(files.map { .string($0) })), at: 4)
            value = .dict(items)
        }
        let figure = FileLayout.qaExposureFile(folder: outDir, expid: exposure.expid, ext: "png")
        try exposure.figure(path: figure)
        try value.write(to: out)
        let html = FileLayout.qaExposureFile(folder: outDir, expid: exposure.expid, ext: "html")
        let fiberDir = FileLayout.fiberPageDir(exposureQAFolder: outDir)
        let indexPath = FileLayout.fiberPageIndex(folder: fiberDir, expid: exposure.expid)
        let fiberPages = FileManager.default.fileExists(atPath: indexPath) ? try FiberPageIndex.read(indexPath) : nil
        let page = HTMLIndex.exposurePage(exposure, figures: FileLayout.qaExposureFigures(in: outDir, expid: exposure.expid),
                                          fiberPages: fiberPages, fiberPagePrefix: FileLayout.fiberPageFolderName + "/",
                                          viewers: FileLayout.viewerExposurePages(in: outDir, expid: exposure.expid))
        try HTMLIndex.write(page, to: html)
        return QAExposureOutputs(json: out, figure: figure, html: html, warnings: exposure.warnings)
    }
}
