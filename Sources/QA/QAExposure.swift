import DESICore
import Foundation
import Plot

/// The QA of one exposure: the per-camera QA dictionaries that `qa-frame` wrote (qa-CAM-EXPID.json), combined
/// into one (desispec.io.qa.write_qa_exposure / desi_qa_exposure) with a summary row per camera and all warnings.
public struct QAExposure: Sendable {
    public var expid: Int
    public var night: String
    public var flavor: String
    /// Camera name -> that camera's QA dictionary, cameras in b0, r0, z0, b1, ... order.
    public var cameras: [(String, QAValue)]

    /// Key numbers shown in the summary table, the figures and the HTML, by dotted path.
    public static let summaryMetrics: [(column: String, path: String)] = [
        ("MED_RESID", "SKYSUB.MED_RESID"), ("NBAD_PCHI", "SKYSUB.NBAD_PCHI"), ("CHI2PDF", "SKYSUB.CHI2PDF"),
        ("ZP", "FLUXCALIB.ZP"), ("RMS_ZP", "FLUXCALIB.RMS_ZP"),
        ("MAX_RMS", "FIBERFLAT.MAX_RMS.0"), ("MAX_SCALE_OFF", "FIBERFLAT.MAX_SCALE_OFF.0"),
        ("NFEATURES", "DIAGNOSIS.NFEATURES"),
    ] + QualityGrade.allCases.map { ("GRADE_\($0.rawValue)", "GRADES.NGRADE.\($0.rawValue)") }

    public init(expid: Int, night: String, flavor: String, cameras: [(String, QAValue)]) {
        self.expid = expid; self.night = night; self.flavor = flavor
        self.cameras = cameras.sorted { QAExposure.cameraOrder($0.0) < QAExposure.cameraOrder($1.0) }
    }

    /// From per-camera QA dictionaries; they must all be of one exposure.
    public init(cameraQA: [(path: String, qa: QAValue)]) throws {
        guard let first = cameraQA.first else { throw QAFileError(path: "", message: "no per-camera QA files to combine") }
        let expid = first.qa["EXPID"]?.int ?? 0
        var cams: [(String, QAValue)] = []
        for (path, qa) in cameraQA {
            guard let cam = qa["CAMERA"]?.string, !cam.isEmpty else {
                throw QAFileError(path: path, message: "no CAMERA key: not a qa-frame file")
            }
            guard (qa["EXPID"]?.int ?? 0) == expid else {
                throw QAFileError(path: path, message: "EXPID \(qa["EXPID"]?.int ?? 0) differs from \(expid) of \(first.path)")
            }
            guard !cams.contains(where: { $0.0 == cam }) else { throw QAFileError(path: path, message: "camera \(cam) given twice") }
            cams.append((cam, qa))
        }
        self.init(expid: expid, night: first.qa["NIGHT"]?.string ?? "", flavor: first.qa["FLAVOR"]?.string ?? "", cameras: cams)
    }

    /// Reads an exposure QA file written by `qaValue.write` (qa-EXPID.json).
    public init(_ value: QAValue, path: String) throws {
        guard let cams = value["CAMERAS"], case .dict(let items) = cams else {
            throw QAFileError(path: path, message: "no CAMERAS dictionary: not an exposure QA file")
        }
        self.init(expid: value["EXPID"]?.int ?? 0, night: value["NIGHT"]?.string ?? "", flavor: value["FLAVOR"]?.string ?? "",
                  cameras: items)
    }

    static func cameraOrder(_ name: String) -> Int {
        let arm = ["b": 0, "r": 1, "z": 2][String(name.prefix(1)).lowercased()] ?? 3
        return (Int(name.dropFirst()) ?? 99) * 4 + arm
    }

    public func metric(_ camera: String, _ path: String) -> Double? {
        cameras.first { $0.0 == camera }?.1.lookup(path)?.double
    }

    /// Warnings of every camera, each prefixed by its camera.
    public var warnings: [String] {
        cameras.flatMap { cam, qa in (qa["WARNINGS"]?.list ?? []).compactMap(\.string).map { "\(cam) \($0)" } }
    }

    public var qaValue: QAValue {
        let rows: [QAValue] = cameras.map { cam, qa in
            var r: [(String, QAValue)] = [("CAMERA", .string(cam))]
            for m in QAExposure.summaryMetrics { if let v = qa.lookup(m.path), v.double != nil { r.append((m.column, v)) } }
            r.append(("NWARNINGS", .int(qa["WARNINGS"]?.list?.count ?? 0)))
            return .dict(r)
        }
        return .dict([
            ("EXPID", .int(expid)), ("NIGHT", .string(night)), ("FLAVOR", .string(flavor)),
            ("NCAMERAS", .int(cameras.count)),
            ("SUMMARY", .list(rows)),
            ("WARNINGS", .list(warnings.map { .string($0) })),
        ] + (QualityQA.petalValue(self).map { [("GRADES_PER_PETAL", $0)] } ?? []) + [
            ("CAMERAS", .dict(cameras)),
        ])
    }

    /// MED_RESID and ZP of each camera, one panel each, points coloured by arm (desispec qa_plots.exposure_* style).
    public func figure(path: String) throws {
        let canvas = Canvas(width: 1000, height: 700)
        let panels: [(String, String)] = [("SKYSUB.MED_RESID", "sky residual MED_RESID"), ("FLUXCALIB.ZP", "zero point ZP [AB mag]")]
        let names = cameras.map(\.0)
        for (p, (key, label)) in panels.enumerated() {
            let a = Axes(canvas: canvas, row: p, column: 0, rows: panels.count, columns: 1)
            let xs = names.indices.map(Double.init)
            let ys = names.map { metric($0, key) ?? .nan }
            let finite = ys.filter(\.isFinite)
            if finite.isEmpty {
                a.setLimits(x: (-0.5, Double(max(1, names.count)) - 0.5), y: (-1, 1))
                canvas.text("no \(key) in this exposure", x: a.left + a.width / 2, y: a.top + a.height / 2, size: 12,
                            color: .gray, anchor: .center)
            } else {
                let lo = finite.min()!, hi = finite.max()!, pad = max(0.1 * (hi - lo), 1e-3 * max(1, abs(hi)))
                a.setLimits(x: (-0.5, Double(names.count) - 0.5), y: (lo - pad, hi + pad))
                if key.hasPrefix("SKYSUB") { a.horizontalLine(0) }
                for arm in ["b", "r", "z"] {
                    let idx = names.indices.filter { names[$0].hasPrefix(arm) && ys[$0].isFinite }
                    guard !idx.isEmpty else { continue }
                    let c: Color = arm == "b" ? .blue : arm == "r" ? .red : Color(0.4, 0.1, 0.5)
                    a.scatter(x: idx.map { xs[$0] }, y: idx.map { ys[$0] }, color: c, radius: 5, label: "\(arm) cameras")
                }
            }
            for (i, n) in names.enumerated() {
                canvas.text(n, x: a.px(Double(i)), y: a.top + a.height + 26, size: 10, anchor: .center)
            }
            a.decorate(xLabel: "", yLabel: label, title: p == 0 ? "exposure \(expid) night \(night) (\(flavor))" : "")
        }
        try canvas.writePNG(path)
    }
}
