import ArgumentParser
import DESICore
import Foundation
import Pipeline
import QA

/// `desispec qa-exposure`: combines the per-camera QA of one exposure (qa-CAM-EXPID.json from qa-frame) into
/// qa-EXPID.json with a summary row per camera, a figure of MED_RESID and ZP per camera, and an HTML page
/// (desi_qa_exposure, desispec.io.qa.write_qa_exposure, desispec.qa.html.make_exposure).
struct QAExposureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qa-exposure",
        abstract: "Combine the per-camera QA of one exposure: qa-EXPID.json, qa-EXPID.png, qa-EXPID.html.",
        discussion: """
        Inputs: the per-camera files given, else every qa-CAM-EXPID.json in --qa-dir, else the QA folder of
        --night/--expid in the production ($DESI_SPECTRO_REDUX/$SPECPROD/QA/exposures/NIGHT/EXPID).
        Example: desispec qa-exposure --night 20201214 --expid 67890
        """
    )

    @Argument(help: "Per-camera QA files (qa-CAM-EXPID.json).")
    var files: [String] = []
    @Option(name: .customLong("qa-dir"), help: "Folder holding the exposure's qa-CAM-EXPID.json files (outputs go there too).")
    var qaDir: String?
    @Option(name: .long, help: "Night (YYYYMMDD), with --expid, to find the QA folder in the production.")
    var night: String?
    @Option(name: .long, help: "Exposure ID, with --night.")
    var expid: Int?
    @Option(name: .customLong("prod-root"), help: "Production folder (default $DESI_SPECTRO_REDUX/$SPECPROD).")
    var prodRoot: String?
    @Option(name: .shortAndLong, help: "Output JSON (default qa-EXPID.json in the QA folder).")
    var output: String?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = global.makeLogger("qa-exposure")
        try runStep {
            var inputs = files
            var dir = qaDir
            if inputs.isEmpty && dir == nil {
                guard let night, let expid else {
                    throw DESIError.invalidArgument("give per-camera QA files, --qa-dir, or --night and --expid")
                }
                dir = try QAPaths.layout(prodRoot).qaDir(night: night, expid: expid)
            }
            if inputs.isEmpty, let d = dir {
                inputs = try QAPaths.cameraFiles(in: d, expid: expid)
                guard !inputs.isEmpty else { throw DESIError.badFile(path: d, problem: "no per-camera QA files qa-CAM-EXPID.json in this folder") }
            }
            let folder = dir ?? (inputs[0] as NSString).deletingLastPathComponent
            let exposure = try QAExposure(cameraQA: try inputs.map { ($0, try QAValue.read($0)) })
            let tag = String(format: "%08d", exposure.expid)
            let out = output ?? "\(folder.isEmpty ? "." : folder)/qa-\(tag).json"
            let outDir = (out as NSString).deletingLastPathComponent.isEmpty ? "." : (out as NSString).deletingLastPathComponent
            var value = exposure.qaValue
            if case .dict(var items) = value {
                items.insert(("SOFTWARE", .string("desispec-swift \(DesispecVersion.string) qa-exposure")), at: 3)
                items.insert(("INPUTS", .list(inputs.map { .string($0) })), at: 4)
                value = .dict(items)
            }
            let figure = "\(outDir)/qa-\(tag).png"
            try exposure.figure(path: figure)
            try value.write(to: out)
            let html = "\(outDir)/qa-\(tag).html"
            try HTMLIndex.write(HTMLIndex.exposurePage(exposure, figures: QAPaths.figures(in: outDir, expid: exposure.expid)), to: html)
            for w in exposure.warnings { log.warning("\(w)") }
            log.info("wrote \(out), \(figure), \(html)")
        }
    }
}

/// Where QA files are and how they are named (inventory §18.1: QA/exposures/NIGHT/EXPID/qa-CAM-EXPID.json).
enum QAPaths {
    static func layout(_ prodRoot: String?) throws -> ProductionLayout {
        let env = ProcessInfo.processInfo.environment
        var prod = prodRoot
        if prod == nil, let redux = env["DESI_SPECTRO_REDUX"], let name = env["SPECPROD"] { prod = "\(redux)/\(name)" }
        guard let prod else { throw DESIError.invalidArgument("no production folder: give --prod-root or set DESI_SPECTRO_REDUX and SPECPROD") }
        return ProductionLayout(rawRoot: env["DESI_SPECTRO_DATA"] ?? "", prodRoot: absolute(prod))
    }

    static func listing(_ dir: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw DESIError.badFile(path: dir, problem: "no such folder")
        }
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// qa-CAM-EXPID.json files of a folder (of one EXPID when given).
    static func cameraFiles(in dir: String, expid: Int?) throws -> [String] {
        try listing(dir).filter { name in
            let parts = name.split(separator: "-")
            guard parts.count == 3, parts[0] == "qa", Camera(String(parts[1])) != nil, name.hasSuffix(".json") else { return false }
            let e = Int(parts[2].dropLast(5))
            return e != nil && (expid == nil || e == expid)
        }.map { "\(dir)/\($0)" }
    }

    /// PNG figures of an exposure in its folder, names relative to it: the exposure figure first.
    static func figures(in dir: String, expid: Int) -> [String] {
        let tag = String(format: "%08d", expid)
        let pngs = ((try? listing(dir)) ?? []).filter { $0.hasSuffix("\(tag).png") && $0.hasPrefix("qa-") }
        return pngs.filter { $0 == "qa-\(tag).png" } + pngs.filter { $0 != "qa-\(tag).png" }
    }
}
