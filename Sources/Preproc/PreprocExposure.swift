import DESICore
import FITS
import Foundation
import LinearAlgebra

/// Where `PreprocExposure.run` writes each camera's preproc file.
public enum PreprocDestination: Sendable {
    /// One file (one camera only).
    case file(String)
    /// FOLDER/preproc-CAMERA-EXPID.fits; the empty folder is the current one (a bare file name).
    case folder(String)
    /// The production's PROD/preproc/NIGHT/EXPID/preproc-CAMERA-EXPID.fits (desispec findfile 'preproc').
    case production(specprod: String)

    public func path(camera: String, night: Int, expid: Int) -> String {
        let name = FileLayout.cameraFileName("preproc", camera: camera, expid: expid)
        switch self {
        case .file(let path): return path
        case .folder(let dir): return dir.isEmpty ? name : "\(dir)/\(name)"
        case .production(let prod):
            return "\(FileLayout.preprocDir(specprod: prod, night: FileLayout.nightString(night), expid: expid))/\(name)"
        }
    }
}

/// How one camera went: its output and what is worth logging.
public struct CameraPreprocReport: Sendable {
    public var camera: String
    public var output: String
    /// Warnings about the data (Preprocessor's notes).
    public var notes: [String]
    public var cosmicCount: Int
    /// Seconds of each step: reading the raw camera, Preprocessor's steps, writing the last HDUs.
    public var timings: [(step: String, seconds: Double)]
    /// Wall-clock seconds for the whole camera.
    public var seconds: Double
}

/// `desispec preproc` on the cameras of one raw exposure (desi_preproc): each camera is read, preprocessed and
/// written on its own (one raw camera is ~140 MB as Double), its output renamed into place only when complete.
public struct PreprocExposure: Sendable {
    /// The raw file, desi-EXPID.fits.fz.
    public var input: String
    /// Cameras to process, e.g. ["b0", "r0"].
    public var cameras: [String]
    public var destination: PreprocDestination
    /// NIGHT and EXPID when the raw header has none.
    public var night: Int?
    public var expid: Int?
    /// Table copied as the FIBERMAP HDU of every output.
    public var fibermap: Fibermap?
    /// HISTORY card of every output (the command line).
    public var history: String
    /// Cameras processed at the same time (each is itself parallel).
    public var concurrency: Int

    public init(input: String, cameras: [String], destination: PreprocDestination, night: Int? = nil, expid: Int? = nil,
                fibermap: Fibermap? = nil, history: String, concurrency: Int = 1) {
        self.input = input; self.cameras = cameras; self.destination = destination; self.night = night
        self.expid = expid; self.fibermap = fibermap; self.history = history; self.concurrency = concurrency
    }

    /// The cameras of a raw file: `requested` (each checked to be in the file), else every camera HDU (B0..Z9).
    public static func cameras(in input: String, requested: [String]?) throws -> [String] {
        guard FileManager.default.fileExists(atPath: input) else { throw DESIError.badFile(path: input, problem: "no such raw file") }
        let file = try FITSFile.open(input)
        defer { try? file.close() }
        guard let requested else {
            let found = file.hduNames().compactMap { Camera($0)?.name }
            if found.isEmpty { throw DESIError.badFile(path: input, problem: "no camera HDU (B0..Z9) in file") }
            return found
        }
        for cam in requested where !file.hasHDU(cam.uppercased()) {
            let hdus = file.hduNames().filter { !$0.isEmpty }.joined(separator: ", ")
            throw DESIError.badFile(path: input, problem: "camera \(cam) not in file (HDUs: \(hdus))")
        }
        return requested
    }

    /// The FIBERMAP table of a fibermap file (its FIBERMAP HDU, else its first extension).
    public static func readFibermap(_ path: String) throws -> Fibermap {
        let f = try FITSFile.open(path)
        if f.hasHDU("FIBERMAP") { return Fibermap(table: try f.readTable("FIBERMAP")) }
        try f.moveTo(index: 1)
        return Fibermap(table: try f.readTable())
    }

    /// Preprocesses every camera, `concurrency` at a time. `options` chooses the calibrations of a camera from its raw
    /// image (its second argument logs a warning); `report` is called as each camera is written, one call at a time.
    /// Returns "CAMERA: error" for each camera that failed, in camera order (empty when all went well).
    public func run(options: @escaping @Sendable (RawImage, (String) -> Void) throws -> PreprocOptions,
                    warn: @escaping @Sendable (String) -> Void,
                    report: @escaping @Sendable (CameraPreprocReport) -> Void) -> [String] {
        let n = cameras.count, workers = max(1, min(concurrency, n))
        let failures = IndexedResults<String?>(count: n)
        let logLock = NSLock()
        // worker w takes cameras w, w + workers, ...: at most `workers` cameras in memory at once
        parallelFor(workers) { w in
            for i in stride(from: w, to: n, by: workers) {
                let cam = cameras[i]
                do {
                    let done = try preprocess(camera: cam, options: options) { m in logLock.withLock { warn("\(cam): \(m)") } }
                    logLock.withLock { report(done) }
                    failures.set(i, nil)
                } catch {
                    failures.set(i, "\(cam): \(error)")
                }
            }
        }
        return failures.all().compactMap { $0 }
    }

    /// One camera: read, preprocess (IMAGE and IVAR are written while the cosmic rays are searched, as they only add
    /// mask bits), then MASK, READNOISE and FIBERMAP.
    private func preprocess(camera cam: String, options: (RawImage, (String) -> Void) throws -> PreprocOptions,
                            warn: @escaping (String) -> Void) throws -> CameraPreprocReport {
        let t0 = Date()
        let raw = try RawImage.read(path: input, camera: cam)
        let tRead = Date().timeIntervalSince(t0)
        var opts = try options(raw, warn)
        opts.readNoiseImage = false   // written from the plane a band of rows at a time (68 MB less for a full camera)
        let out = destination.path(camera: cam, night: raw.header.int("NIGHT") ?? night ?? 0,
                                   expid: raw.header.int("EXPID") ?? expid ?? 0)
        let writer = PreprocFileWriter(out)
        let history = self.history
        let result = try Preprocessor.run(consume raw, options: opts) { final in
            var header = final.header
            header.addHistory(history)
            try writer.writeImageAndIvar(pix: final.pix, ivar: final.ivar, ny: final.ny, nx: final.nx, header: header)
        }
        let tw = Date()
        let readNoise = result.readNoise
        try writer.finish(mask: result.image.mask, fibermap: fibermap) { rows, out in readNoise.rows(rows, into: out) }
        let written = ("write MASK, READNOISE (IMAGE, IVAR during the cosmic-ray search)", Date().timeIntervalSince(tw))
        return CameraPreprocReport(camera: cam, output: out, notes: result.notes, cosmicCount: result.cosmicCount,
                                   timings: [("read raw", tRead)] + result.timings + [written],
                                   seconds: Date().timeIntervalSince(t0))
    }
}
