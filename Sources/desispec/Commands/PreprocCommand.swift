import ArgumentParser
import DESICore
import FITS
import Foundation
import Pipeline
import Preproc

/// `desispec preproc`: raw CCD exposure -> preproc-CAM-EXPID.fits (IMAGE, IVAR, MASK, READNOISE), as desi_preproc.
struct PreprocCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preproc",
        abstract: "Preprocess raw CCD images: overscan, bias, gain, dark, pixel flat, variance, cosmic rays.",
        discussion: """
        Example: desispec preproc -i desi-00001234.fits.fz --cameras r0 --outdir out/
                 desispec preproc -n 20240101 -e 1234 --cameras b0,r0,z0   (uses DESI_SPECTRO_DATA, DESI_SPECTRO_REDUX/SPECPROD)
        Calibration images come from --bias/--dark/--pixflat/--mask FILE, or from the camera's entry of a
        DESI_SPECTRO_CALIB yaml (--calib-config FILE, or $DESI_SPECTRO_CALIB/spec/smN/smN-ARM.yaml); without either
        that step is skipped with a warning. --noX skips step X.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "Raw exposure file (desi-EXPID.fits.fz).")
    var infile: String?
    @Option(name: [.short, .long], help: "Night YYYYMMDD (with --expid, instead of --infile).")
    var night: Int?
    @Option(name: [.short, .long], help: "Exposure id (with --night).")
    var expid: Int?
    @Option(name: .long, help: "Comma-separated cameras (default: every camera HDU of the file).")
    var cameras: String?
    @Option(name: [.short, .long], help: "Output file (one camera only).")
    var outfile: String?
    @Option(name: .long, help: "Output directory for preproc-CAM-EXPID.fits (default: the production's preproc folder, else .).")
    var outdir: String?
    @Option(name: .long, help: "Fibermap file whose FIBERMAP table is copied into the output.")
    var fibermap: String?
    @Option(name: .long, help: "Bias frame (HDU 0, raw shape, ADU).")
    var bias: String?
    @Option(name: .long, help: "Dark current image (HDU 0, electrons/s; multiplied by EXPTIME).")
    var dark: String?
    @Option(name: .long, help: "Pixel flat image (HDU 0).")
    var pixflat: String?
    @Option(name: .long, help: "Bad-pixel mask image (HDU 0, ccdmask bits).")
    var mask: String?
    @Option(name: .long, help: "DESI_SPECTRO_CALIB camera yaml (e.g. sm1-r.yaml) for gains, saturation, crosstalk and calibration files.")
    var calibConfig: String?
    @Flag(name: .long, help: "Do not subtract a bias frame.") var nobias = false
    @Flag(name: .long, help: "Do not subtract the dark.") var nodark = false
    @Flag(name: .long, help: "Do not divide by the pixel flat.") var nopixflat = false
    @Flag(name: .long, help: "Do not apply the bad-pixel mask.") var nomask = false
    @Flag(name: .long, help: "Do not mask cosmic rays.") var nocosmic = false
    @Flag(name: .long, help: "Do not apply the gain (image in ADU).") var nogain = false
    @Flag(name: .long, help: "Do not correct amplifier crosstalk.") var nocrosstalk = false
    @Flag(name: .long, help: "Do not correct dark trails (calibration DARKTRAILAMP*).") var nodarktrail = false
    @Option(name: .long, help: "Amplifiers to mask as BADAMP, e.g. AD.") var badamps: String = ""
    @Option(name: .customLong("cosmics-nsig"), help: "Cosmics: sigmas above the neighbours.") var cosmicsNsig: Double = 6
    @Option(name: .customLong("cosmics-cfudge"), help: "Cosmics: sigmas inconsistent with the PSF.") var cosmicsCfudge: Double = 3
    @Option(name: .customLong("cosmics-c2fudge"), help: "Cosmics: PSF fudge factor (default: calibration COSMICS_C2, else 0.5).") var cosmicsC2fudge: Double?
    @Option(name: .long, help: "Cameras processed at the same time (each is itself parallel).") var ncpu: Int = 1
    @Flag(name: .long, help: "Log the time of each step (read, calibration, amplifiers, pixel pass, cosmics, write).") var timing = false

    func validate() throws {
        if infile == nil && (night == nil || expid == nil) { throw ValidationError("give --infile, or --night and --expid") }
        if infile != nil && (night != nil || expid != nil) { throw ValidationError("give either --infile or --night/--expid, not both") }
        if ncpu < 1 { throw ValidationError("--ncpu must be at least 1") }
        for (flag, on, file) in [("bias", nobias, bias), ("dark", nodark, dark), ("pixflat", nopixflat, pixflat), ("mask", nomask, mask)] where on && file != nil {
            throw ValidationError("--no\(flag) and --\(flag) contradict each other")
        }
    }

    func run() throws {
        let log = global.makeLogger("preproc")
        try runStep {
            let layout = try? ProductionLayout.fromEnvironment()
            let input: String
            if let f = infile { input = f } else {
                guard let data = ProcessInfo.processInfo.environment["DESI_SPECTRO_DATA"] else {
                    throw DESIError.invalidArgument("--night/--expid need DESI_SPECTRO_DATA to find the raw file")
                }
                input = "\(data)/\(night!)/\(String(format: "%08d", expid!))/desi-\(String(format: "%08d", expid!)).fits.fz"
            }
            guard FileManager.default.fileExists(atPath: input) else { throw DESIError.badFile(path: input, problem: "no such raw file") }
            let camList: [String]
            if let c = cameras { camList = try Camera.parseList(c).map(\.name) } else {
                let f = try FITSFile.open(input)
                camList = f.hduNames().compactMap { Camera($0)?.name }
                if camList.isEmpty { throw DESIError.badFile(path: input, problem: "no camera HDU (B0..Z9) in file") }
            }
            if outfile != nil && camList.count != 1 { throw DESIError.invalidArgument("--outfile needs exactly one camera (got \(camList.joined(separator: ",")))") }
            let fibermapTable: FITSTable? = try fibermap.map { path in
                let f = try FITSFile.open(path)
                return try f.hasHDU("FIBERMAP") ? f.readTable("FIBERMAP") : { try f.moveTo(index: 1); return try f.readTable() }()
            }

            // check that every camera is there before starting; each camera is then read, processed and written on its
            // own (memory: one raw camera is ~140 MB as Double), its output renamed into place only when complete
            let file = try FITSFile.open(input)
            for cam in camList where !file.hasHDU(cam.uppercased()) {
                throw DESIError.badFile(path: input, problem: "camera \(cam) not in file (HDUs: \(file.hduNames().filter { !$0.isEmpty }.joined(separator: ", ")))")
            }
            try file.close()
            let outputFor: @Sendable (String, RawImage) -> String = { [outfile, outdir, night, expid] cam, raw in
                let e = raw.header.int("EXPID") ?? expid ?? 0
                let n = raw.header.int("NIGHT") ?? night ?? 0
                if let o = outfile { return o }
                if let d = outdir { return "\(d)/preproc-\(cam)-\(String(format: "%08d", e)).fits" }
                if let l = layout { return l.preproc(night: String(n), expid: e, camera: cam) }
                return "preproc-\(cam)-\(String(format: "%08d", e)).fits"
            }
            let cmdline = CommandLine.arguments.dropFirst().joined(separator: " ")
            let errors = ErrorList()
            let queue = DispatchQueue(label: "preproc.log")
            let semaphore = DispatchSemaphore(value: ncpu)
            let group = DispatchGroup()
            let command = self
            for cam in camList {
                semaphore.wait()
                group.enter()
                DispatchQueue.global().async {
                    defer { semaphore.signal(); group.leave() }
                    do {
                        let t0 = Date()
                        let raw = try RawImage.read(path: input, camera: cam)
                        let tRead = Date().timeIntervalSince(t0)
                        let opts = try command.options(for: raw, log: { m in queue.sync { log.warning("\(cam): \(m)") } })
                        let out = outputFor(cam, raw)
                        // IMAGE and IVAR are written while the cosmic rays are searched (they only add mask bits)
                        let writer = PreprocFileWriter(out)
                        let history = "desispec-swift \(DesispecVersion.string) preproc \(cmdline)"
                        let result = try Preprocessor.run(raw, options: opts) { final in
                            var header = final.header
                            header.addHistory(history)
                            try writer.writeImageAndIvar(pix: final.pix, ivar: final.ivar, ny: final.ny, nx: final.nx, header: header)
                        }
                        let tw = Date()
                        try writer.finish(mask: result.image.mask, readnoise: result.image.readnoise,
                                          fibermap: fibermapTable.map(Fibermap.init(table:)))
                        let dt = Date().timeIntervalSince(t0)
                        queue.sync {
                            if command.timing {
                                let steps = [("read raw", tRead)] + result.timings.map { ($0.step, $0.seconds) }
                                    + [("write MASK, READNOISE (IMAGE, IVAR during the cosmic-ray search)", Date().timeIntervalSince(tw))]
                                let text = steps.map { "\($0.0) \(String(format: "%.3f", $0.1)) s" }.joined(separator: ", ")
                                log.info("\(cam): timing \(text)")
                            }
                            for n in result.notes { log.warning("\(cam): \(n)") }
                            log.info("\(cam): \(result.cosmicCount) cosmic-ray pixels; wrote \(out) in \(String(format: "%.1f", dt)) s")
                        }
                    } catch { errors.append("\(cam): \(error)") }
                }
            }
            group.wait()
            if !errors.items.isEmpty { throw DESIError.failed(errors.items.joined(separator: "; ")) }
        }
    }

    /// Calibration choices for one camera: file > calib yaml > skipped (with a warning).
    func options(for raw: RawImage, log: (String) -> Void) throws -> PreprocOptions {
        var o = PreprocOptions()
        var config: CalibrationConfig? = nil
        if let y = calibConfig {
            config = try CalibrationConfig.select(yamlPath: y, headers: [raw.header, raw.primaryHeader])
        } else if let dir = ProcessInfo.processInfo.environment["DESI_SPECTRO_CALIB"],
                  let cam = raw.header.string("CAMERA")?.trimmingCharacters(in: .whitespaces).lowercased() {
            let specid = raw.header.int("SPECID") ?? Int(cam.suffix(1)) ?? 0
            let y = "\(dir)/spec/sm\(specid)/sm\(specid)-\(cam.prefix(1)).yaml"
            if FileManager.default.fileExists(atPath: y) { config = try CalibrationConfig.select(yamlPath: y, headers: [raw.header, raw.primaryHeader]) }
        }
        o.calibration = config
        func source(_ name: String, off: Bool, file: String?) -> CalibrationSource {
            if off { return .none }
            if let f = file { return .file(f) }
            if let c = config, c.has(name.uppercased()) { return .fromConfig }
            log("no \(name) given and no calibration config entry: \(name) step skipped")
            return .none
        }
        o.bias = source("bias", off: nobias, file: bias)
        o.dark = source("dark", off: nodark, file: dark)
        o.pixflat = source("pixflat", off: nopixflat, file: pixflat)
        o.mask = source("mask", off: nomask, file: mask)
        o.nocosmic = nocosmic; o.nogain = nogain; o.nocrosstalk = nocrosstalk; o.nodarktrail = nodarktrail; o.badamps = badamps
        o.cosmicsNsig = cosmicsNsig; o.cosmicsCfudge = cosmicsCfudge; o.cosmicsC2fudge = cosmicsC2fudge
        return o
    }
}

/// Errors collected from concurrent jobs.
final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ s: String) { lock.lock(); stored.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}
