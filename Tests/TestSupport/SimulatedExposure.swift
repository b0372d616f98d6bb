import DESICore
import FITS
import Foundation
import LinearAlgebra
import StdStars

/// Sframes of one spectrograph made in memory for tests and demos: standard stars drawn from a template grid
/// (redshifted, normalised to an r magnitude), smooth science spectra, a Gaussian resolution per fiber, a smooth
/// calibration vector per camera (electrons/A per 1e-17 erg/s/cm2/A), a per-fiber throughput, Gaussian noise.
public struct SimulatedExposure: Sendable {
    /// A standard: template, redshift, observed r magnitude (through its PHOTSYS's curve, after reddening),
    /// SFD E(B-V) of Milky Way dust in front of it and its photometric system ("S" or "N").
    public struct Star: Sendable {
        public var template: Int; public var redshift: Double; public var rmag: Double
        public var ebv: Double; public var photsys: String
        public init(template: Int, redshift: Double, rmag: Double, ebv: Double = 0, photsys: String = "S") {
            self.template = template; self.redshift = redshift; self.rmag = rmag; self.ebv = ebv; self.photsys = photsys
        }
    }

    public var frames: [Frame]
    /// True calibration per camera on its grid (b, r, z order).
    public var calibration: [[Double]]
    /// True spectra per fiber, 1e-17 erg/s/cm2/A, on `trueWave`.
    public var trueWave: [Double]
    public var trueFlux: [[Double]]
    public var stars: [Star]
    public var stdRows: [Int]
    /// Per-fiber throughput factor applied on top of the calibration.
    public var throughput: [Double]

    /// Wavelength ranges of DESI's cameras (Angstrom).
    public static let cameraRanges: [(Camera.Arm, Double, Double)] = [(.b, 3600, 5800), (.r, 5760, 7620), (.z, 7520, 9824)]

    /// - Parameters: stars (template index, redshift, r mag) become fibers 0..<stars.count; `nscience` smooth
    ///   spectra follow. `step` is the wavelength step; `snrScale` scales the exposure depth.
    public static func make(templates: StellarTemplates, filters: FilterSet, stars: [Star], nscience: Int = 2,
                            spectrograph: Int = 0, step: Double = 0.8, seed: UInt64 = 1, noise: Bool = true,
                            throughputScatter: Double = 0.03, scienceLevel: Double = 2,
                            arms: [Camera.Arm] = [.b, .r, .z], expid: Int = 1234,
                            calibrationScale: Double = 1) throws -> SimulatedExposure {
        var rng = SplitMix64(seed: seed)
        let nspec = stars.count + nscience
        // true spectra on a fine grid
        let tw = stride(from: 3400.0, through: 10000.0, by: 0.2).map { $0 }
        var truth: [[Double]] = []
        var mags: [[Double]] = []
        for s in stars {
            let shifted = templates.wave.map { $0 * (1 + s.redshift) }
            let dust = GalacticExtinction.transmission(wave: templates.wave, ebv: s.ebv)
            var f = zip(Interpolation.linear(x: shifted, y: templates.spectrum(s.template), at: templates.wave), dust).map(*)
            let m = try filters.magnitude("R" + s.photsys, wave: templates.wave, flux: f)
            let k = pow(10, (m - s.rmag) / 2.5)
            f = f.map { $0 * k }
            truth.append(Interpolation.linear(x: templates.wave, y: f, at: tw))
            mags.append(try ["G", "R", "Z"].map { try filters.magnitude($0 + s.photsys, wave: templates.wave, flux: f) })
        }
        for i in 0..<nscience {
            // a smooth galaxy-like continuum with a 4000 A break and two emission lines
            let a = scienceLevel * (1 + 0.5 * Double(i))
            let f = tw.map { w -> Double in
                var v = a * pow(w / 6000, 1.0 + 0.3 * Double(i)) * (w < 4000 ? 0.6 : 1.0)
                v += 8 * exp(-0.5 * pow((w - 6600 - 50 * Double(i)) / 2.0, 2)) * scienceLevel / 2
                v += 5 * exp(-0.5 * pow((w - 5050) / 2.0, 2))
                return v
            }
            truth.append(f)
            mags.append(try ["GS", "RS", "ZS"].map { try filters.magnitude($0, wave: tw, flux: f) })
        }
        // fibermap
        var fmt = FITSTable()
        let fibers = (0..<nspec).map { Int32(500 * spectrograph + $0) }
        fmt.columns = [
            FITSColumn("TARGETID", .int64((0..<nspec).map { Int64(1000 + $0) })),
            FITSColumn("FIBER", .int32(fibers)),
            FITSColumn("OBJTYPE", .string([String](repeating: "TGT", count: nspec))),
            FITSColumn("DESI_TARGET", .int64((0..<nspec).map { $0 < stars.count ? Int64(1) << 33 : 1 })),
            FITSColumn("FIBERSTATUS", .int32([Int32](repeating: 0, count: nspec))),
            FITSColumn("PHOTSYS", .string((0..<nspec).map { $0 < stars.count ? stars[$0].photsys : "S" })),
            FITSColumn("EBV", .float((0..<nspec).map { $0 < stars.count ? Float(stars[$0].ebv) : 0 })),
            FITSColumn("FLUX_G", .float(mags.map { Float(pow(10, (22.5 - $0[0]) / 2.5)) })),
            FITSColumn("FLUX_R", .float(mags.map { Float(pow(10, (22.5 - $0[1]) / 2.5)) })),
            FITSColumn("FLUX_Z", .float(mags.map { Float(pow(10, (22.5 - $0[2]) / 2.5)) })),
        ]
        let fibermap = Fibermap(table: fmt)
        let throughput = (0..<nspec).map { _ in 1 + throughputScatter * (2 * rng.uniform() - 1) }
        let sigmas = (0..<nspec).map { 0.9 + 0.3 * Double($0) / Double(max(1, nspec - 1)) }
        var frames: [Frame] = [], calibs: [[Double]] = []
        for (arm, w0, w1) in cameraRanges where arms.contains(arm) {
            let wave = stride(from: w0, through: w1 + 1e-9, by: step).map { $0 }
            let nw = wave.count
            // calibration: a smooth bump, 10-25 electrons/A per 1e-17 erg/s/cm2/A, with a shallow dip
            let mid = 0.5 * (w0 + w1), half = 0.5 * (w1 - w0)
            let cal = wave.map { w -> Double in
                let x = (w - mid) / half
                return calibrationScale * 22 * (1 - 0.45 * x * x) * (1 + 0.05 * sin(3 * x))
                    * (1 - 0.08 * exp(-0.5 * pow((w - mid - 300) / 60, 2)))
            }
            calibs.append(cal)
            let ndiag = 11, h = 5
            var res = [Float](repeating: 0, count: nspec * ndiag * nw)
            var flux = [Float](repeating: 0, count: nspec * nw), ivar = [Float](repeating: 0, count: nspec * nw)
            for s in 0..<nspec {
                for j in 0..<nw {
                    var col = [Double](repeating: 0, count: ndiag), sum = 0.0
                    for d in 0..<ndiag { let k = Double(h - d); col[d] = exp(-0.5 * k * k / (sigmas[s] * sigmas[s])); sum += col[d] }
                    for d in 0..<ndiag { res[(s * ndiag + d) * nw + j] = Float(col[d] / sum) }
                }
                let rd = Array(res[(s * ndiag * nw)..<((s + 1) * ndiag * nw)]).map { Double($0) }
                let ft = Interpolation.resampleFlux(xout: wave, x: tw, flux: truth[s])
                let e = zip(cal, ft).map { $0 * $1 * throughput[s] }
                let obs = ResolutionData.apply(diagonals: rd, ndiag: ndiag, to: e)
                for j in 0..<nw {
                    let variance = max(obs[j], 0) + 25.0
                    let n = noise ? rng.gaussian() * variance.squareRoot() : 0
                    flux[s * nw + j] = Float(obs[j] + n)
                    ivar[s * nw + j] = Float(1 / variance)
                }
            }
            var hdr = FITSHeader()
            hdr.set("CAMERA", "\(arm.rawValue)\(spectrograph)")
            hdr.set("NIGHT", 20240101); hdr.set("EXPID", expid)
            hdr.set("BUNIT", "electron/Angstrom")
            frames.append(Frame(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: nspec * nw),
                                resolution: ResolutionData(nspec: nspec, ndiag: ndiag, nwave: nw, data: res),
                                fibermap: fibermap, header: hdr))
        }
        return SimulatedExposure(frames: frames, calibration: calibs, trueWave: tw, trueFlux: truth, stars: stars,
                                 stdRows: Array(0..<stars.count), throughput: throughput)
    }
}
