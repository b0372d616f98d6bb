import DESICore
import Foundation

/// Options that shape a night's task graph.
public struct NightOptions: Sendable {
    /// Calibration folder (DESI_SPECTRO_CALIB's role): a starting PSF per camera, named psf-CAMERA.fits (as the
    /// simulator writes its truth PSFs), used to bootstrap the arc PSFs, and where present the camera's average flux
    /// calibration fluxcalib-CAMERA.fits, the flux calibration's fallback.
    public var inputPSFDir: String?
    /// Fibers per spectrograph to extract (nil: all the PSF has).
    public var nspec: Int?
    /// Skip the flux calibration chain (no standard stars).
    public var noFluxCalib = false
    /// Stellar templates for the standard-star fit (nil: stdstars' default).
    public var starModels: String?
    /// Filter curves for the standard-star normalisation (nil: stdstars' default).
    public var filtersDir: String?
    /// Science frames in the barycentric frame (desi_proc's default; false: its --no-barycentric-correction).
    public var barycentricCorrection = true
    /// Calibration folder in DESI_SPECTRO_CALIB's layout, passed to preproc as --calib-dir (nil: preproc's
    /// $DESI_SPECTRO_CALIB).
    public var calibDir: String?

    public init(inputPSFDir: String? = nil, nspec: Int? = nil, noFluxCalib: Bool = false, starModels: String? = nil,
                filtersDir: String? = nil) {
        self.inputPSFDir = inputPSFDir; self.nspec = nspec; self.noFluxCalib = noFluxCalib
        self.starModels = starModels; self.filtersDir = filtersDir
    }
}

/// Extraction wavelength grid of each arm (desi_proc's defaults).
public func extractionGrid(_ arm: Camera.Arm) -> String {
    switch arm {
    case .b: return "3600.0,5800.0,0.8"
    case .r: return "5760.0,7620.0,0.8"
    case .z: return "7520.0,9824.0,0.8"
    }
}

/// desi_proc's preproc flags for an exposure's flavor and camera: --model-variance except for arcs and darks,
/// --bkgsub-for-science for science exposures of b cameras, both with the camera's starting PSF (the PSF desispec
/// takes from DESI_SPECTRO_CALIB); none without a PSF folder.
public func preprocFlags(flavor: String, camera: Camera, psfDir: String?) -> (arguments: [String], inputs: [String]) {
    guard let dir = psfDir else { return ([], []) }
    let f = flavor.lowercased()
    var args: [String] = []
    if f != "arc" && f != "dark" { args.append("--model-variance") }
    if f == "science" && camera.arm == .b { args.append("--bkgsub-for-science") }
    guard !args.isEmpty else { return ([], []) }
    let psf = "\(dir)/\(FileLayout.startingPSFFileName(camera: camera.name))"
    return (args + ["--psf", psf], [psf])
}

/// The camera's average flux calibration in the calibration folder (fluxcalib-CAMERA.fits, as desispec finds it in
/// DESI_SPECTRO_CALIB through the FLUXCALIB entry of the camera's yaml): fluxcalib falls back on it, flagged
/// FCFALLBK, when the petal's standards cannot be fitted. None without the folder or the file (then such a petal fails,
/// as in desispec without the file).
public func averageFluxCalibration(camera: Camera, calibrationDir: String?) -> (arguments: [String], inputs: [String]) {
    guard let dir = calibrationDir else { return ([], []) }
    let path = "\(dir)/\(FileLayout.averageFluxCalibrationFileName(camera: camera.name))"
    guard FileManager.default.fileExists(atPath: path) else { return ([], []) }
    return (["--average-fluxcalib", path], [path])
}

/// Extraction options of each camera and flavor as desi_proc passes them: the grid, --psferr 0.04 for b cameras
/// (a smaller value flags many bins of the 5578 A sky line BAD2DFIT) and 0.01 otherwise, and
/// --barycentric-correction for science exposures (flats stay in the observatory frame) unless `barycentric` is false.
public func extractionArguments(_ arm: Camera.Arm, flavor: String, barycentric: Bool = true) -> [String] {
    ["-w", extractionGrid(arm), "--psferr", arm == .b ? "0.04" : "0.01"]
        + (flavor == "science" && barycentric ? ["--barycentric-correction"] : [])
}

/// The trace shifts of an arc before its PSF fit, as desi_proc runs them: one offset in x and one in y (the large
/// shift scan, then the x pass and the calibration against the arc lamp spectrum).
let arcTraceShiftArguments = ["--arc-lamps", "--degxx", "0", "--degxy", "0", "--degyx", "0", "--degyy", "0"]

/// Builds every task of a night, in dependency order: preproc, arcshift, psf, psfnight, traceshift, extract, fiberflat,
/// fiberflatnight, sky, stdstars, fluxcalib, cframe, spectra, coadd, qa, view (the step order of
/// desispec.scripts.proc_night and desi_proc).
public struct TaskGraph: Sendable {
    public private(set) var tasks: [PipelineTask] = []

    public init(tasks: [PipelineTask]) { self.tasks = tasks }

    public static func night(_ night: String, exposures: [ExposureInfo], layout L: ProductionLayout,
                             options: NightOptions = NightOptions()) throws -> TaskGraph {
        var tasks: [PipelineTask] = []
        func add(_ t: PipelineTask) -> String { tasks.append(t); return t.name }
        let nspecArgs = options.nspec.map { ["-n", String($0)] } ?? []
        let starArgs = (options.starModels.map { ["--starmodels", $0] } ?? []) + (options.filtersDir.map { ["--filters-dir", $0] } ?? [])

        // preproc: every exposure, every camera.
        var preprocTask: [String: String] = [:]   // "expid/camera" -> task
        for e in exposures {
            for c in e.cameras {
                let out = L.preproc(night: night, expid: e.expid, camera: c.name)
                var flags = preprocFlags(flavor: e.flavor, camera: c, psfDir: options.inputPSFDir)
                if let dir = options.calibDir { flags.arguments += ["--calib-dir", dir] }
                preprocTask["\(e.expid)/\(c.name)"] = add(PipelineTask(
                    type: .preproc, night: night, expid: e.expid, unit: c.name,
                    arguments: ["preproc", "-i", L.raw(night: night, expid: e.expid), "--cameras", c.name, "-o", out] + flags.arguments,
                    inputs: [L.raw(night: night, expid: e.expid)] + flags.inputs, outputs: [out], dependencies: []))
            }
        }
        let arcs = exposures.filter { $0.flavor == "arc" }
        let flats = exposures.filter { $0.flavor == "flat" }
        let sciences = exposures.filter { $0.flavor == "science" }
        let cameras = Set(exposures.flatMap(\.cameras)).sorted()

        // psf from arcs, each from the input PSF moved onto the arc by trace shifts (desi_proc: shifted-input-psf, from
        // desi_compute_trace_shifts --arc-lamps with degrees 0), then psfnight.
        var nightPSF: [String: (path: String, task: String)] = [:]   // per camera
        for c in cameras {
            var psfs: [(String, String)] = []
            for e in arcs where e.cameras.contains(c) {
                guard let dir = options.inputPSFDir else {
                    throw PipelineError.invalid("no starting PSF: give a folder of psf-CAMERA.fits files (--psf-dir)")
                }
                let input = "\(dir)/\(FileLayout.startingPSFFileName(camera: c.name))"
                let pre = L.preproc(night: night, expid: e.expid, camera: c.name)
                let shifted = L.exposureFile("shifted-input-psf", night: night, expid: e.expid, camera: c.name)
                let shift = add(PipelineTask(
                    type: .arcshift, night: night, expid: e.expid, unit: c.name,
                    arguments: ["traceshift", "-i", pre, "--psf", input, "-o", shifted] + arcTraceShiftArguments,
                    inputs: [pre, input], outputs: [shifted], dependencies: [preprocTask["\(e.expid)/\(c.name)"]!]))
                let out = L.exposureFile("psf", night: night, expid: e.expid, camera: c.name)
                let name = add(PipelineTask(
                    type: .psf, night: night, expid: e.expid, unit: c.name,
                    arguments: ["psf", "-i", pre, "--psf", shifted, "-o", out],
                    inputs: [pre, shifted], outputs: [out], dependencies: [shift]))
                psfs.append((out, name))
            }
            if psfs.isEmpty { continue }
            if psfs.count == 1 {
                // one arc: its PSF is the night's (psfnight averages two or more)
                nightPSF[c.name] = psfs[0]
                continue
            }
            let out = L.psfnight(night: night, camera: c.name)
            nightPSF[c.name] = (out, add(PipelineTask(
                type: .psfnight, night: night, unit: c.name,
                arguments: ["psfnight", "-i"] + psfs.map(\.0) + ["-o", out],
                inputs: psfs.map(\.0), outputs: [out], dependencies: psfs.map(\.1))))
        }

        // traceshift + extract for flats and science exposures.
        var frameTask: [String: String] = [:]
        for e in flats + sciences {
            for c in e.cameras {
                guard let (psfIn, psfnight) = nightPSF[c.name] else {
                    throw PipelineError.noData("night \(night): no arc exposure for camera \(c.name), so no PSF for exposure \(e.expid)")
                }
                let pre = L.preproc(night: night, expid: e.expid, camera: c.name)
                let psfOut = L.exposureFile("psf", night: night, expid: e.expid, camera: c.name)
                let shiftArgs = e.flavor == "flat" ? ["--continuum", "--degxx", "2", "--degxy", "0", "--degyx", "0", "--degyy", "0",
                                                      "--no-large-shift-scan"]
                                                   : ["--sky", "--degxx", "2", "--degxy", "0", "--degyx", "2", "--degyy", "0"]
                let shift = add(PipelineTask(
                    type: .traceshift, night: night, expid: e.expid, unit: c.name,
                    arguments: ["traceshift", "-i", pre, "--psf", psfIn, "-o", psfOut] + shiftArgs,
                    inputs: [pre, psfIn], outputs: [psfOut], dependencies: [preprocTask["\(e.expid)/\(c.name)"]!, psfnight]))
                let frame = L.exposureFile("frame", night: night, expid: e.expid, camera: c.name)
                let fibermap = L.rawFibermap(night: night, expid: e.expid)
                frameTask["\(e.expid)/\(c.name)"] = add(PipelineTask(
                    type: .extract, night: night, expid: e.expid, unit: c.name,
                    arguments: ["extract", "-i", pre, "-p", psfOut, "-o", frame, "-f", fibermap]
                        + extractionArguments(c.arm, flavor: e.flavor, barycentric: options.barycentricCorrection) + nspecArgs,
                    inputs: [pre, psfOut, fibermap], outputs: [frame], dependencies: [shift]))
            }
        }

        // fiberflat per flat exposure, fiberflatnight per camera.
        var qaFrameTasks: [Int: [String]] = [:]   // expid -> qa-frame tasks
        var flatnightTask: [String: String] = [:]
        for c in cameras {
            var ffs: [(String, String)] = []
            for e in flats where e.cameras.contains(c) {
                let frame = L.exposureFile("frame", night: night, expid: e.expid, camera: c.name)
                let out = L.exposureFile("fiberflat", night: night, expid: e.expid, camera: c.name)
                let name = add(PipelineTask(type: .fiberflat, night: night, expid: e.expid, unit: c.name,
                                            arguments: ["fiberflat", "-i", frame, "-o", out],
                                            inputs: [frame], outputs: [out], dependencies: [frameTask["\(e.expid)/\(c.name)"]!]))
                ffs.append((out, name))
                qaFrameTasks[e.expid, default: []].append(add(qaFrameTask(
                    night: night, expid: e.expid, camera: c.name, frame: frame, layout: L,
                    related: ["--fiberflat", out], dependencies: [name])))
            }
            if ffs.isEmpty { continue }
            let out = L.fiberflatnight(night: night, camera: c.name)
            flatnightTask[c.name] = add(PipelineTask(type: .fiberflatnight, night: night, unit: c.name,
                                                     arguments: ["fiberflatnight", "-i"] + ffs.map(\.0) + ["-o", out],
                                                     inputs: ffs.map(\.0), outputs: [out], dependencies: ffs.map(\.1)))
        }

        // science: sky, stdstars (per spectrograph), fluxcalib, cframe.
        var cframesByTile: [Int: [(path: String, task: String, spectrograph: Int)]] = [:]
        var viewTasks: [Int: [String]] = [:]   // expid -> view tasks of its petals (qa-exposure links them)
        var coaddViewTasks: [String] = []        // qa-night links them
        for e in sciences {
            var skyTask: [String: String] = [:]
            for c in e.cameras {
                guard let ffnight = flatnightTask[c.name] else {
                    throw PipelineError.noData("night \(night): no flat exposure for camera \(c.name), "
                                               + "so no fiber flat for exposure \(e.expid)")
                }
                let frame = L.exposureFile("frame", night: night, expid: e.expid, camera: c.name)
                let ff = L.fiberflatnight(night: night, camera: c.name)
                let sky = L.exposureFile("sky", night: night, expid: e.expid, camera: c.name)
                // desi_proc's sky flags for science exposures: per-fiber wavelength and LSF adjustments, and the
                // offsets of the CCD sectors the calibration yaml names (--fit-offsets; a no-op where it names none)
                var arguments = ["sky", "-i", frame, "--fiberflat", ff, "-o", sky, "--adjust-wavelength", "--adjust-lsf"]
                var inputs = [frame, ff]
                if let dir = options.calibDir {
                    let psf = L.exposureFile("psf", night: night, expid: e.expid, camera: c.name)
                    arguments += ["--fit-offsets", "--calib-dir", dir, "--psf", psf]
                    inputs.append(psf)
                }
                skyTask[c.name] = add(PipelineTask(type: .sky, night: night, expid: e.expid, unit: c.name,
                                                   arguments: arguments,
                                                   inputs: inputs, outputs: [sky],
                                                   dependencies: [frameTask["\(e.expid)/\(c.name)"]!, ffnight]))
            }
            let spectrographs = Set(e.cameras.map(\.spectrograph)).sorted()
            for sp in spectrographs {
                let cams = e.cameras.filter { $0.spectrograph == sp }
                var starTask: String?
                let stars = L.stdstars(night: night, expid: e.expid, spectrograph: sp)
                if !options.noFluxCalib {
                    let frames = cams.map { L.exposureFile("frame", night: night, expid: e.expid, camera: $0.name) }
                    let skies = cams.map { L.exposureFile("sky", night: night, expid: e.expid, camera: $0.name) }
                    let ffs = cams.map { L.fiberflatnight(night: night, camera: $0.name) }
                    starTask = add(PipelineTask(type: .stdstars, night: night, expid: e.expid, unit: "sp\(sp)",
                                                arguments: ["stdstars", "--frames"] + frames + ["--skymodels"] + skies
                                                    + ["--fiberflats"] + ffs + ["-o", stars] + starArgs,
                                                inputs: frames + skies + ffs, outputs: [stars],
                                                dependencies: cams.map { skyTask[$0.name]! }))
                }
                var viewer = ExposureViewerInputs()
                for c in cams {
                    let frame = L.exposureFile("frame", night: night, expid: e.expid, camera: c.name)
                    let ff = L.fiberflatnight(night: night, camera: c.name)
                    let sky = L.exposureFile("sky", night: night, expid: e.expid, camera: c.name)
                    let cframe = L.exposureFile("cframe", night: night, expid: e.expid, camera: c.name)
                    let calib = L.exposureFile("fluxcalib", night: night, expid: e.expid, camera: c.name)
                    var cframeArgs = ["cframe", "-i", frame, "--fiberflat", ff, "--sky", sky, "-o", cframe]
                    var deps = [skyTask[c.name]!]
                    var inputs = [frame, ff, sky]
                    if let starTask {
                        let average = averageFluxCalibration(camera: c, calibrationDir: options.inputPSFDir)
                        let fc = add(PipelineTask(type: .fluxcalib, night: night, expid: e.expid, unit: c.name,
                                                  arguments: ["fluxcalib", "-i", frame, "--fiberflat", ff, "--sky", sky,
                                                              "--models", stars, "-o", calib] + average.arguments,
                                                  inputs: [frame, ff, sky, stars] + average.inputs, outputs: [calib],
                                                  dependencies: [starTask, skyTask[c.name]!]))
                        cframeArgs += ["--calib", calib]
                        deps.append(fc)
                        inputs.append(calib)
                    }
                    let cf = add(PipelineTask(type: .cframe, night: night, expid: e.expid, unit: c.name,
                                              arguments: cframeArgs, inputs: inputs, outputs: [cframe], dependencies: deps))
                    cframesByTile[e.tile ?? 0, default: []].append((cframe, cf, sp))
                    viewer.add(cframe: cframe, task: cf, overlays: starTask == nil ? [] : [sky, calib])
                    let related = ["--fiberflat", ff, "--sky", sky] + (starTask == nil ? [] : ["--calib", calib])
                    qaFrameTasks[e.expid, default: []].append(add(qaFrameTask(
                        night: night, expid: e.expid, camera: c.name, frame: cframe, layout: L,
                        related: related, dependencies: [cf])))
                }
                viewTasks[e.expid, default: []].append(add(viewer.task(night: night, expid: e.expid, spectrograph: sp, layout: L)))
            }
        }

        // spectra and coadd per tile and spectrograph.
        for (tile, cframes) in cframesByTile.sorted(by: { $0.key < $1.key }) {
            for sp in Set(cframes.map(\.spectrograph)).sorted() {
                let mine = cframes.filter { $0.spectrograph == sp }
                let spectra = L.tileFile("spectra", spectrograph: sp, tile: tile, night: night)
                let st = add(PipelineTask(type: .spectra, night: night, unit: "tile\(tile)-sp\(sp)",
                                          arguments: ["spectra", "--inframes"] + mine.map(\.path) + ["-o", spectra],
                                          inputs: mine.map(\.path), outputs: [spectra], dependencies: mine.map(\.task)))
                let coadd = L.tileFile("coadd", spectrograph: sp, tile: tile, night: night)
                let ct = add(PipelineTask(type: .coadd, night: night, unit: "tile\(tile)-sp\(sp)",
                                          arguments: ["coadd", "-i", spectra, "-o", coadd, "--onetile"],
                                          inputs: [spectra], outputs: [coadd], dependencies: [st]))
                coaddViewTasks.append(add(coaddViewTask(night: night, tile: tile, spectrograph: sp, coadd: coadd,
                                                        coaddTask: ct, layout: L)))
            }
        }

        // QA: per exposure (its cameras' qa-frame files), then the night's time series and HTML index.
        var qaExposureTasks: [String] = []
        for (expid, frameQAs) in qaFrameTasks.sorted(by: { $0.key < $1.key }) {
            let dir = L.qaDir(night: night, expid: expid)
            let out = L.qaExposure(night: night, expid: expid)
            // the pages of the fibers worth a look (grade >= 2, else FIBERSTATUS != 0), linked from qa-exposure's page
            let fiberDir = FileLayout.fiberPageDir(exposureQAFolder: dir)
            let pages = add(PipelineTask(
                type: .qa, night: night, expid: expid, unit: "fibers",
                arguments: ["plot-fiber", "--prod-root", L.prodRoot, "--night", night, "--expid", String(expid),
                            "--worth-a-look", String(Self.fiberPagesPerExposure), "--outdir", fiberDir],
                inputs: [], outputs: [FileLayout.fiberPageIndex(folder: fiberDir, expid: expid)], dependencies: frameQAs))
            qaExposureTasks.append(add(PipelineTask(
                type: .qaexposure, night: night, expid: expid,
                arguments: ["qa-exposure", "--qa-dir", dir, "-o", out],
                inputs: [], outputs: [out], dependencies: frameQAs + [pages] + (viewTasks[expid] ?? []))))
        }
        if !qaExposureTasks.isEmpty {
            _ = add(PipelineTask(type: .qanight, night: night,
                                 arguments: ["qa-night", "--night", night, "--prod-root", L.prodRoot],
                                 inputs: [], outputs: [L.qaNightHTML(night: night)],
                                 dependencies: qaExposureTasks + coaddViewTasks))
        }
        return TaskGraph(tasks: tasks)
    }

    /// Most fiber pages drawn per exposure by the nightly run.
    public static let fiberPagesPerExposure = 20

    /// `qa-frame` of one camera's frame (flat frame or science cframe), with its figures, into the exposure's QA folder.
    static func qaFrameTask(night: String, expid: Int, camera: String, frame: String, layout L: ProductionLayout,
                            related: [String], dependencies: [String]) -> PipelineTask {
        let dir = L.qaDir(night: night, expid: expid)
        let out = L.qaFrame(night: night, expid: expid, camera: camera)
        return PipelineTask(type: .qa, night: night, expid: expid, unit: camera,
                            arguments: ["qa-frame", frame] + related + ["-o", out, "--make-plots", dir, "--no-search"],
                            inputs: [frame], outputs: [out], dependencies: dependencies)
    }

    /// Tasks of one exposure and what they need that is not of that exposure (nightly calibrations must exist).
    public func restricted(toExpid expid: Int) -> TaskGraph {
        TaskGraph(tasks: tasks.filter { $0.expid == expid })
    }
}
