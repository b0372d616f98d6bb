import DESICore
import FITS
import Foundation
import TestSupport
import XCTest

/// How one run of a subcommand on a damaged file ended.
enum FuzzOutcome: String, CaseIterable {
    /// exit 0 (or 3: `diff` found differences)
    case ok
    /// exit 1 with a one-line error
    case error
    /// killed by a signal, or an exit status other than 0, 1 and (diff) 3
    case crash
    /// still running at the time limit
    case hang
    /// exit 1, but not a one-line error
    case messy = "not-one-line"
    /// failed and left a file in its output folder
    case partial = "partial-output"
}

/// A subcommand that reads one product type: its arguments for an input file and an output folder.
struct FuzzReader {
    let name: String
    let arguments: (_ input: String, _ out: URL) -> [String]
}

/// Seed products of every type the simulator and the pipeline make, small enough to fuzz quickly.
struct FuzzProducts {
    /// product type -> seed file
    var files: [String: String] = [:]
    /// Good companions a reader may need beside the damaged file (a PSF for extract, a frame for cframe).
    var preproc = "", psf = "", frame = ""

    static let types = ["raw", "fibermap", "preproc", "psf", "frame", "fiberflat", "sky", "fluxcalib", "cframe",
                        "stdstars", "spectra", "coadd"]

    /// Products of a production or demo folder (`desispec demo` output): the first file of each type found.
    static func find(in root: String) -> FuzzProducts {
        var p = FuzzProducts()
        let patterns: [(String, String)] = [("raw", "desi-"), ("fibermap", "fibermap-"), ("preproc", "preproc-"),
                                            ("psf", "psf-"), ("frame", "frame-"), ("fiberflat", "fiberflat-"),
                                            ("sky", "sky-"), ("fluxcalib", "fluxcalib-"), ("cframe", "cframe-"),
                                            ("stdstars", "stdstars-"), ("spectra", "spectra-"), ("coadd", "coadd-")]
        let all = (FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []).sorted()
        for (type, prefix) in patterns {
            if let hit = all.first(where: { ($0 as NSString).lastPathComponent.hasPrefix(prefix) && $0.contains(".fits") }) {
                p.files[type] = root + "/" + hit
            }
        }
        p.preproc = p.files["preproc"] ?? ""; p.psf = p.files["psf"] ?? ""; p.frame = p.files["frame"] ?? ""
        return p
    }

    /// Small products made here: a simulated science exposure of 5 fibers on a 1024-row CCD (raw, fibermap, PSF),
    /// its preproc image and extracted frame (`desispec`), calibration files in DESI's layout, and the cframe,
    /// spectra and coadd that `desispec cframe`, `spectra` and `coadd` make of them.
    static func make(in dir: URL) throws -> FuzzProducts {
        func run(_ args: [String]) throws {
            let r = try CLIRunner.run(args + ["-q"])
            guard r.status == 0 else { throw DESIError.failed("\(args.first ?? ""): \(r.stderr)") }
        }
        let d = dir.path
        try run(["simulate", "--night", "20250101", "--expid", "7", "--flavor", "science", "--cameras", "r0", "--nspec", "5",
                 "--ccd-size", "small", "--no-cosmics", "--outdir", "\(d)/raw"])
        var p = FuzzProducts()
        let raw = "\(d)/raw/20250101/00000007"
        p.files["raw"] = "\(raw)/desi-00000007.fits.fz"
        p.files["fibermap"] = "\(raw)/fibermap-00000007.fits"
        p.files["psf"] = "\(raw)/truth-psf-r0.fits"
        p.files["preproc"] = "\(d)/preproc-r0-00000007.fits"
        try run(["preproc", "-i", p.files["raw"]!, "--cameras", "r0", "-o", p.files["preproc"]!, "--fibermap", p.files["fibermap"]!,
                 "--no-calib-config"])
        p.files["frame"] = "\(d)/frame-r0-00000007.fits"
        try run(["extract", "-i", p.files["preproc"]!, "-p", p.files["psf"]!, "-o", p.files["frame"]!,
                 "-w", "5760,6159.2,0.8", "--ncpu", "1"])
        for kind in ["fiberflat", "sky", "fluxcalib"] {
            let path = "\(d)/\(kind)-r0-00000007.fits"
            try QATestFiles.writeCalibration(path, kind: kind.uppercased(), nspec: 5, nwave: 500, expid: 7) { f, w in
                kind == "sky" ? 10 + w / 1000 : 1 + 0.01 * Double(f)
            }
            p.files[kind] = path
        }
        p.files["cframe"] = "\(d)/cframe-r0-00000007.fits"
        try run(["cframe", "-i", p.files["frame"]!, "--fiberflat", p.files["fiberflat"]!, "--sky", p.files["sky"]!,
                 "--calib", p.files["fluxcalib"]!, "-o", p.files["cframe"]!])
        p.files["spectra"] = "\(d)/spectra-0-1007-20250101.fits"
        try run(["spectra", "--inframes", p.files["cframe"]!, "-o", p.files["spectra"]!])
        p.files["coadd"] = "\(d)/coadd-0-1007-20250101.fits"
        try run(["coadd", "-i", p.files["spectra"]!, "-o", p.files["coadd"]!])
        p.files["stdstars"] = "\(d)/stdstars-0-00000007.fits"
        try writeStdStars(p.files["stdstars"]!)
        p.preproc = p.files["preproc"]!; p.psf = p.files["psf"]!; p.frame = p.files["frame"]!
        return p
    }

    /// A standard-star models file in desispec's layout (FLUX, WAVELENGTH, FIBERS, METADATA, COEFF, FIBERMAP), for
    /// two fibers of the seed frame, so that `fluxcalib` with it succeeds.
    private static func writeStdStars(_ path: String) throws {
        let n = 2, nwave = 300
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage((0..<(n * nwave)).map { Float($0 % 17) }, shape: [n, nwave], name: "FLUX")
            try f.writeImage((0..<nwave).map { Float(3600 + 20 * $0) }, shape: [nwave], name: "WAVELENGTH")
            try f.writeImage([Int64(1), 3], shape: [n], name: "FIBERS")   // fibers of the seed frame
            try f.writeTable(FITSTable(columns: [FITSColumn("LOGG", .double([4.1, 4.3])), FITSColumn("TEFF", .double([6000, 6200])),
                                                 FITSColumn("CHI2DOF", .double([1.1, 0.9]))]), name: "METADATA")
            try f.writeImage([Double](repeating: 0.5, count: n * 3), shape: [n, 3], name: "COEFF")
            try f.writeTable(QATestFiles.fibermap(nspec: n), name: "FIBERMAP")
        }
    }

    /// The subcommands that read each product type, with a damaged `input` and output in `out`.
    func readers(of type: String) -> [FuzzReader] {
        let original = files[type] ?? ""
        var list = [FuzzReader(name: "info") { i, _ in ["info", i] },
                    FuzzReader(name: "diff") { i, _ in ["diff", original, i] }]
        switch type {
        case "raw":
            list.append(FuzzReader(name: "preproc") { i, o in
                ["preproc", "-i", i, "--cameras", "r0", "-o", o.path + "/preproc.fits", "--no-calib-config"]
            })
        case "preproc":
            if !psf.isEmpty {
                list.append(FuzzReader(name: "extract") { i, o in
                    ["extract", "-i", i, "-p", psf, "-o", o.path + "/frame.fits", "-w", "5760,5799.2,0.8", "--ncpu", "1"]
                })
            }
        case "psf":
            list.append(FuzzReader(name: "psf-eval") { i, _ in ["psf-eval", i, "--fiber", "0", "--wavelength", "6000"] })
            list.append(FuzzReader(name: "qa-frame --psf") { i, o in
                ["qa-frame", frame, "--psf", i, "--no-search", "-o", o.path + "/qa.json"]
            })
        case "frame", "cframe":
            list.append(FuzzReader(name: "plot-frame") { i, o in ["plot-frame", i, "-o", o.path + "/frame.png"] })
            list.append(FuzzReader(name: "qa-frame") { i, o in ["qa-frame", i, "--no-search", "-o", o.path + "/qa.json"] })
            list.append(FuzzReader(name: "plot-spectra") { i, o in ["plot-spectra", i, "--fibers", "0:3", "-o", o.path + "/s.png"] })
        case "sky", "fiberflat":
            list.append(FuzzReader(name: "plot-frame") { i, o in ["plot-frame", i, "-o", o.path + "/frame.png"] })
            list.append(FuzzReader(name: "cframe") { i, o in ["cframe", "-i", frame, "--\(type)", i, "-o", o.path + "/cframe.fits"] })
        case "fluxcalib":
            list.append(FuzzReader(name: "cframe") { i, o in ["cframe", "-i", frame, "--calib", i, "-o", o.path + "/cframe.fits"] })
        case "stdstars":
            list.append(FuzzReader(name: "fluxcalib") { i, o in
                ["fluxcalib", "-i", frame, "--models", i, "--nostdcheck", "-o", o.path + "/fluxcalib.fits"]
            })
        case "spectra", "coadd":
            list.append(FuzzReader(name: "plot-spectra") { i, o in ["plot-spectra", i, "-o", o.path + "/s.png"] })
            list.append(FuzzReader(name: "coadd") { i, o in ["coadd", "-i", i, "-o", o.path + "/coadd.fits"] })
        default: break
        }
        // quiet where the subcommand has the option (info, diff and psf-eval print nothing but their answer)
        let verbose: Set<String> = ["info", "diff", "psf-eval"]
        return list.map { r in verbose.contains(r.name) ? r : FuzzReader(name: r.name) { i, o in r.arguments(i, o) + ["-q"] } }
    }
}

/// Runs the binary on damaged inputs and classifies each run.
enum FuzzRun {
    /// Runs `arguments` with a time limit; the outcome, and stderr for the report.
    static func run(_ arguments: [String], out: URL, limit: TimeInterval, allowsExit3: Bool) throws -> (FuzzOutcome, String) {
        let exe = CLIRunner.executable
        guard FileManager.default.isExecutableFile(atPath: exe.path) else { throw XCTSkip("desispec binary not built at \(exe.path)") }
        let p = Process()
        p.executableURL = exe
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        let errData = ErrReader(err.fileHandleForReading)
        if done.wait(timeout: .now() + limit) == .timedOut {
            p.terminate()
            _ = done.wait(timeout: .now() + 5)
            return (.hang, "")
        }
        let stderr = errData.finish()
        if p.terminationReason == .uncaughtSignal { return (.crash, "signal \(p.terminationStatus): " + stderr) }
        switch p.terminationStatus {
        case 0: return (.ok, stderr)
        case 3 where allowsExit3: return (.ok, stderr)
        case 1:
            if !CLIRunner.files(in: out).isEmpty { return (.partial, stderr) }
            // log lines (timestamped warnings) aside, one line: "error: FILE...: what"
            let lines = stderr.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("20") }
            return (lines.count == 1 && lines[0].hasPrefix("error: ") ? .error : .messy, stderr)
        default:
            return (.crash, "exit \(p.terminationStatus): " + stderr)
        }
    }
}

/// Reads a pipe on its own thread, so that a chatty child never blocks on a full pipe.
private final class ErrReader: @unchecked Sendable {
    private var data = Data()
    private let finished = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            finished.signal()
        }
    }
    func finish() -> String {
        finished.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Counts of outcomes per subcommand, printed as a table.
struct FuzzTally {
    private(set) var counts: [String: [FuzzOutcome: Int]] = [:]
    private(set) var failures: [String] = []

    mutating func add(_ reader: String, _ outcome: FuzzOutcome, detail: @autoclosure () -> String) {
        counts[reader, default: [:]][outcome, default: 0] += 1
        if outcome != .ok && outcome != .error { failures.append(detail()) }
    }

    var total: Int { counts.values.reduce(0) { $0 + $1.values.reduce(0, +) } }

    var table: String {
        let columns = FuzzOutcome.allCases
        var text = "subcommand".padding(toLength: 18, withPad: " ", startingAt: 0)
            + columns.map { $0.rawValue.leftPad(15) }.joined() + "\n"
        var sums = [FuzzOutcome: Int]()
        for name in counts.keys.sorted() {
            text += name.padding(toLength: 18, withPad: " ", startingAt: 0)
            for c in columns {
                let n = counts[name]?[c] ?? 0
                sums[c, default: 0] += n
                text += String(n).leftPad(15)
            }
            text += "\n"
        }
        text += "total".padding(toLength: 18, withPad: " ", startingAt: 0) + columns.map { String(sums[$0] ?? 0).leftPad(15) }.joined()
        return text
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
