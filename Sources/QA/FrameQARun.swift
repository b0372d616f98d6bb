import DESICore
import Foundation

/// Where a QA run tells what it uses and what it could not do: the caller's logger.
public struct QALog {
    public var debug: (String) -> Void
    public var warning: (String) -> Void
    public init(debug: @escaping (String) -> Void, warning: @escaping (String) -> Void) {
        self.debug = debug; self.warning = warning
    }
}

/// CCD rows of the traces of a PSF file: y(fiber index, wavelength) for fibers 0..<nspec.
public struct TraceRows {
    public var nspec: Int
    public var row: (Int, Double) -> Double
    /// Column of fiber index i's trace at a CCD row (the variance check's between / on the traces), when known.
    public var column: ((Int, Double) -> Double)?
    public init(nspec: Int, row: @escaping (Int, Double) -> Double, column: ((Int, Double) -> Double)? = nil) {
        self.nspec = nspec; self.row = row; self.column = column
    }
}

/// `desispec qa-frame` as a library call (desi_qa_frame): read the frame, its related products each with its own
/// reader (fiber flat, sky model, flux calibration, PSF traces), make the sky-subtracted frame when needed, compute
/// the metrics and the diagnosis (`FrameQA`), add the inputs and the software, draw the figures and write the QA file.
public enum FrameQARun {
    /// The frame to check and what its header says.
    public struct Target {
        public var path: String
        public var frame: Frame
        public var kind: SpectralFileKind
        public var camera: Camera
        public var expid: Int
        public var night: String
        /// A flat-lamp frame (FLAVOR or OBSTYPE contains "flat"): FIBERFLAT metrics, no sky or flux calibration.
        public var isFlat: Bool

        /// Reads a frame of any stage; a sky/fiberflat/fluxcalib file or a frame without CAMERA is refused.
        public init(path: String) throws {
            (frame, kind) = try SpectralFileReader.readFrame(path)
            guard let camera = frame.camera else { throw DESIError.badFile(path: path, problem: "no valid CAMERA keyword in HDU 0") }
            self.path = path; self.camera = camera
            expid = frame.header.int("EXPID") ?? 0
            night = frame.header["NIGHT"].map { v in v.intValue.map(String.init) ?? v.stringValue ?? "" } ?? ""
            isFlat = (frame.header.string("FLAVOR") ?? frame.header.string("OBSTYPE") ?? "science").lowercased().contains("flat")
        }
    }

    /// Paths of the related products (nil: none); `sky` is ignored for sframes and cframes.
    public struct Inputs {
        public var fiberflat: String?
        public var sky: String?
        public var calib: String?
        public var psf: String?
        /// The preprocessed image and the extraction's 2D model (VARIANCE check).
        public var preproc: String?
        public var model: String?
        public init(fiberflat: String?, sky: String?, calib: String?, psf: String?, preproc: String? = nil, model: String? = nil) {
            self.fiberflat = fiberflat; self.sky = sky; self.calib = calib; self.psf = psf
            self.preproc = preproc; self.model = model
        }
    }

    public struct Outcome {
        public var qa: QAValue
        public var warnings: [String]
        /// The diagnosis flagged a broad residual feature.
        public var flagged: Bool
    }

    /// Runs the QA of `target` and writes it to `output` (.json or .yaml); with `plotDirectory`, the figures
    /// qa-{sky,diagnosis,s2n,frame}-CAMERA-EXPID.png (FileLayout.qaFrameFigure) go there. `readTraces` reads a
    /// PSF file's traces (the PSF module's reader; QA does not depend on the optics). `software` is the SOFTWARE entry.
    public static func run(_ target: Target, inputs: Inputs, readTraces: (String) throws -> TraceRows, output: String,
                           plotDirectory: String?, software: String, log: QALog) throws -> Outcome {
        let products = try RelatedProducts.read(for: target, inputs: inputs, readTraces: readTraces, log: log)
        if !target.isFlat && products.sframe == nil && products.calib == nil {
            log.warning("\(target.path): no sky model or flux calibration found: only the frame's header is in the QA")
        }
        var result = try FrameQA.compute(frame: target.frame, kind: target.kind, fiberflat: target.isFlat ? products.fiberflat : nil,
                                         sframe: products.sframe, nrej: products.nrej, calib: products.calib,
                                         ccdRow: products.traces?.row, path: target.path)
        let variance = products.preproc.map { image in
            VarianceCheck.analyze(image, traceColumn: products.traces?.column, nfibers: products.traces?.nspec ?? 0,
                                  model: products.model)
        }
        if let v = variance { result.addVariance(v) }
        var qa = result.qa
        if case .dict(var items) = qa {
            items.insert(("INPUTS", .dict(products.inputsEntry(frame: target.path))), at: 4)
            items.insert(("SOFTWARE", .string(software)), at: 4)
            qa = .dict(items)
        }
        if let dir = plotDirectory {
            try drawFigures(target, result: result, qa: qa, directory: dir)
            if let v = variance {
                try Figures.variance(v, title: "\(target.camera.name) exposure \(target.expid): variance model",
                                     path: FileLayout.qaFrameFigure("variance", folder: dir, camera: target.camera.name,
                                                                    expid: target.expid))
            }
        }
        try qa.write(to: output)
        return Outcome(qa: qa, warnings: result.warnings, flagged: result.diagnosis?.flagged ?? false)
    }

    /// The figures of a frame's QA: sky residuals, diagnosis, S/N, and the (sky-subtracted) frame as an image.
    static func drawFigures(_ target: Target, result: FrameQA, qa: QAValue, directory dir: String) throws {
        let title = "\(target.camera.name) exposure \(target.expid)"
        func path(_ kind: String) -> String {
            FileLayout.qaFrameFigure(kind, folder: dir, camera: target.camera.name, expid: target.expid)
        }
        if let s = result.sframe, let sky = qa["SKYSUB"] {
            try Figures.skyResiduals(sky, wave: s.wave, title: "\(title): sky residuals", path: path("sky"))
        }
        if let d = result.diagnosis, let s = result.sframe {
            try Figures.diagnosis(d, frame: s, title: title, path: path("diagnosis"))
        }
        if let s2n = qa["S2N"], s2n["MEDIAN_SNR"] != nil, target.frame.fibermap != nil {
            try Figures.signalToNoise(s2n, title: "\(title): S/N", path: path("s2n"))
        }
        let subtracted = result.sframe != nil && !target.kind.isSkySubtracted ? "sky-subtracted " : ""
        try Figures.frameImage(result.sframe ?? target.frame, title: "\(title) (\(subtracted)\(target.kind.rawValue))",
                               path: path("frame"))
    }
}
