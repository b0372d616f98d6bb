import DESICore
import Foundation
import LinearAlgebra

/// `desispec plot-fiber` as a library call: one fiber through every stage of one exposure, one PNG per fiber
/// (issue 15; the six panels of SDSS-BOSS's calibration notebooks adapted to DESI, see `Figures.fiberPage`).
/// The products of each camera are read once and shared by every fiber drawn.
public enum FiberPages {
    /// A camera's products, read with their own readers; nil where the file is missing.
    public struct CameraProducts {
        public var files: FiberCameraFiles
        var frame: Frame?
        var cframe: Frame?
        var fiberflat: FiberFlat?
        var sky: SkyModel?
        var calib: FluxCalibration?
        var preproc: Image?
        var stdstars: StdStarModels?

        public init(_ files: FiberCameraFiles) throws {
            self.files = files
            frame = try files.frame.map { try Frame.read($0, skipResolution: true) }
            cframe = try files.cframe.map { try Frame.read($0, skipResolution: true) }
            fiberflat = try files.fiberflat.map(FiberFlat.read)
            sky = try files.sky.map(SkyModel.read)
            calib = try files.calib.map(FluxCalibration.read)
            preproc = try files.preproc.map { try Image.read($0) }
            stdstars = try files.stdstars.map(StdStarModels.read)
            guard frame != nil || cframe != nil else {
                throw DESIError.invalidArgument("camera \(files.camera.name): neither a frame nor a cframe was found")
            }
        }

        /// The FIBERMAP of the exposure's camera (frame's, else cframe's).
        public var fibermap: Fibermap? { frame?.fibermap ?? cframe?.fibermap }
        public var fibers: [Int] { frame?.fibers ?? cframe?.fibers ?? [] }
    }

    /// What a page shows of one fiber in one camera. `traces(psf, fibers)` gives the traces of PSF fiber indices.
    public static func stageData(_ p: CameraProducts, fiber: Int, traces: (String, [Int]) throws -> [FiberTrace],
                                 halfWidth: Int = 7) throws -> FiberStageData? {
        guard let row = p.fibers.firstIndex(of: fiber) else { return nil }
        var d = FiberStageData(camera: p.files.camera)
        let base = p.frame ?? p.cframe!
        d.wave = base.wave
        let n = base.nwave
        func rowOf(_ a: [Float], _ r: Int) -> [Float] { Array(a[(r * n)..<((r + 1) * n)]) }
        if let f = p.frame {
            d.electrons = rowOf(f.flux, row); d.electronsIvar = rowOf(f.ivar, row)
            d.sources.append(p.files.frame!)
        }
        if let ff = p.fiberflat, ff.nwave == n, row < ff.nspec {
            d.fiberflat = Array(ff.flat[(row * n)..<((row + 1) * n)])
        }
        if let s = p.sky, s.nwave == n, row < s.nspec, !d.electrons.isEmpty {
            d.sky = Array(s.flux[(row * n)..<((row + 1) * n)])
            d.skyResidual = (0..<n).map { j in
                let flat = d.fiberflat.isEmpty ? 1 : d.fiberflat[j]
                return flat > 0 ? Double(d.electrons[j]) / flat - d.sky[j] : .nan
            }
        }
        if let c = p.calib, c.nwave == n, row < c.nspec { d.calibration = rowOf(c.calib, row) }
        if let c = p.cframe, c.nwave == n {
            d.calibratedFlux = rowOf(c.flux, row); d.calibratedIvar = rowOf(c.ivar, row)
            if let std = p.stdstars, let k = std.fibers.firstIndex(of: fiber) {
                let m = Array(std.flux[(k * std.wave.count)..<((k + 1) * std.wave.count)])
                d.model = Interpolation.linear(x: std.wave, y: m, at: d.wave, left: .nan, right: .nan)
            }
        }
        if let image = p.preproc, let psf = p.files.psf, let f = p.frame {
            try cutout(&d, image: image, frame: f, row: row, psf: psf, traces: traces, halfWidth: halfWidth)
        }
        return d
    }

    /// The preproc cut-out around the trace of frame row `row`, the model of the same pixels (this fiber's and its
    /// neighbours' extracted electrons per Angstrom times |dlambda/dy|, spread over a Gaussian of the PSF's
    /// cross-dispersion sigma), and the read noise of the extraction: a Gaussian profile of sigma s weighted
    /// optimally measures a row's flux with variance rn^2 2 sqrt(pi) s, i.e. rn sqrt(2 sqrt(pi) s) / |dlambda/dy|
    /// per Angstrom.
    static func cutout(_ d: inout FiberStageData, image: Image, frame: Frame, row: Int, psf: String,
                       traces: (String, [Int]) throws -> [FiberTrace], halfWidth: Int) throws {
        let rows = [row - 1, row, row + 1].filter { $0 >= 0 && $0 < frame.nspec }
        let all = try traces(psf, rows.map { frame.fibers[$0] % 500 })
        guard let own = zip(rows, all).first(where: { $0.0 == row })?.1, own.rows.count > 1 else { return }
        let width = 2 * halfWidth + 1, n = frame.nwave
        // each trace's electrons per CCD row: flux per Angstrom at the row's wavelength times |dlambda/dy|
        let perRow: [[Double]] = zip(rows, all).map { r, t in
            let flux = Interpolation.linear(x: frame.wave, y: (0..<n).map { Double(frame.flux[r * n + $0]) }, at: t.wavelength,
                                            left: 0, right: 0)
            return flux.indices.map { flux[$0] * abs(derivative(t.wavelength, $0)) }
        }
        d.halfWidth = halfWidth
        d.cutoutWave = own.wavelength
        d.cutout = [Float](repeating: .nan, count: own.rows.count * width)
        d.cutoutModel = [Float](repeating: 0, count: own.rows.count * width)
        var rn = [Double](repeating: .nan, count: own.rows.count)
        for (k, y) in own.rows.enumerated() where y >= 0 && y < image.ny {
            let x0 = Int(own.column[k].rounded()) - halfWidth
            for c in 0..<width where x0 + c >= 0 && x0 + c < image.nx {
                let i = y * image.nx + x0 + c
                if image.mask[i] == 0 { d.cutout[k * width + c] = image.pix[i] }
                for (t, e) in zip(all, perRow) {
                    guard let first = t.rows.first, y - first >= 0, y - first < t.rows.count else { continue }
                    let kk = y - first
                    let s = t.sigma[kk], u = (Double(x0 + c) - t.column[kk]) / s
                    d.cutoutModel[k * width + c] += Float(e[kk] * exp(-0.5 * u * u) / (s * (2 * Double.pi).squareRoot()))
                }
            }
            let xc = min(max(Int(own.column[k].rounded()), 0), image.nx - 1)
            let dwdy = abs(derivative(own.wavelength, k))
            if dwdy > 0 {
                rn[k] = Double(image.readnoise[y * image.nx + xc]) * (2 * Double.pi.squareRoot() * own.sigma[k]).squareRoot() / dwdy
            }
        }
        let order = own.wavelength.indices.sorted { own.wavelength[$0] < own.wavelength[$1] }
        d.readNoise = Interpolation.linear(x: order.map { own.wavelength[$0] }, y: order.map { rn[$0] }, at: d.wave,
                                           left: .nan, right: .nan)
        d.sources += [psf]
    }

    /// Central difference of a sampled function (one-sided at the ends).
    static func derivative(_ v: [Double], _ k: Int) -> Double {
        guard v.count > 1 else { return 0 }
        let a = max(k - 1, 0), b = min(k + 1, v.count - 1)
        return (v[b] - v[a]) / Double(b - a)
    }

    /// Draws the page of each requested fiber of one exposure into `folder` (`FileLayout.fiberPage`) and returns
    /// the paths. Fibers come from `fibers` and from the rows whose TARGETID is in `targetIDs`; a requested FIBER
    /// or TARGETID in none of the cameras is an error. `model`: spectra of redrock models (matched by TARGETID).
    public static func draw(cameras: [CameraProducts], expid: Int, night: String, fibers: [Int], targetIDs: [Int64],
                            model: [SpectrumEntry]?, traces: (String, [Int]) throws -> [FiberTrace],
                            folder: String) throws -> [FiberPageIndex.Entry] {
        var wanted = fibers
        for t in targetIDs {
            let found = cameras.flatMap { c in
                (c.fibermap.map { fm in zip(fm.targetIDs, fm.fibers).filter { $0.0 == t }.map(\.1) }) ?? []
            }
            guard !found.isEmpty else { throw DESIError.invalidArgument("TARGETID \(t) is in none of the frames of exposure \(expid)") }
            wanted += found
        }
        var seen = Set<Int>()
        wanted = wanted.filter { seen.insert($0).inserted }
        var out: [FiberPageIndex.Entry] = []
        for fiber in wanted {
            let stages = try cameras.compactMap { try stageData($0, fiber: fiber, traces: traces) }
            guard !stages.isEmpty else { throw DESIError.invalidArgument("fiber \(fiber) is in none of the frames of exposure \(expid)") }
            let verdict = cameras.lazy.compactMap { c in
                c.fibermap.flatMap { fm in FiberVerdict.all(fm).first { $0.fiber == fiber } }
            }.first ?? FiberVerdict(fiber: fiber, targetID: -1, grade: nil, reasons: "", fiberStatus: 0)
            let redrock = model?.first { $0.targetID == verdict.targetID }.map { $0.concatenated() }
            let path = FileLayout.fiberPage(folder: folder, fiber: fiber, expid: expid)
            try Figures.fiberPage(stages, verdict: verdict, redrock: redrock, title: "night \(night) exposure \(expid)",
                                  path: path)
            out.append(FiberPageIndex.Entry(verdict: verdict, page: path))
        }
        return out
    }
}
