import DESICore
import Foundation

/// The cframes (and, with a flux calibration, the sky and fluxcalib files) of one exposure and petal: the inputs of
/// its viewer page.
struct ExposureViewerInputs {
    var files: [String] = []
    var overlays: [String] = []
    var tasks: [String] = []

    mutating func add(cframe: String, task: String, overlays more: [String]) {
        files.append(cframe); tasks.append(task); overlays += more
    }

    /// `view` of the petal's cframes into the exposure's QA folder, linking back to qa-EXPID.html beside it.
    func task(night: String, expid: Int, spectrograph sp: Int, layout L: ProductionLayout) -> PipelineTask {
        let page = FileLayout.viewerExposurePage(folder: L.qaDir(night: night, expid: expid), spectrograph: sp, expid: expid)
        let qa = (FileLayout.qaExposureFile(folder: ".", expid: expid, ext: "html") as NSString).lastPathComponent
        let title = "exposure \(expid), petal \(sp), night \(night)"
        return PipelineTask(type: .view, night: night, expid: expid, unit: "sp\(sp)",
                            arguments: ["view"] + files + overlays + ["--title", title, "--qa-link", qa, "-o", page],
                            inputs: files + overlays, outputs: [page], dependencies: tasks)
    }
}

extension TaskGraph {
    /// `view` of one coadd into PROD/QA/tiles/cumulative/TILE/NIGHT, linking back to the night's QA page.
    static func coaddViewTask(night: String, tile: Int, spectrograph sp: Int, coadd: String, coaddTask: String,
                              layout L: ProductionLayout) -> PipelineTask {
        let page = FileLayout.viewerCoaddPage(specprod: L.prodRoot, tile: tile, night: night, coadd: coadd)
        let qaRoot = FileLayout.qaDir(specprod: L.prodRoot)
        let depth = page.dropFirst(qaRoot.count + 1).split(separator: "/").count - 1
        let back = String(repeating: "../", count: depth) + (L.qaNightHTML(night: night) as NSString).lastPathComponent
        return PipelineTask(type: .view, night: night, unit: "tile\(tile)-sp\(sp)",
                            arguments: ["view", coadd, "--title", "coadd of tile \(tile), petal \(sp), through \(night)",
                                        "--qa-link", back, "-o", page],
                            inputs: [coadd], outputs: [page], dependencies: [coaddTask])
    }
}
