import DESICore
import FITS
import Foundation
import LinearAlgebra

/// How well a coadd (or spectra) file recovers the simulator's input spectra: the end-to-end check of a simulated
/// night. The truth (truth-EXPID.fits of `desispec simulate`: CAM_WAVELENGTH, CAM_FLUX) is the object flux above the
/// atmosphere on a fine grid; the coadd sees it through its resolution matrix, so the model of each coadded spectrum
/// is R · truth, interpolated onto the coadd's wavelengths.
///
/// Flux calibration from standard stars is exact for point sources: a fiber collects a fraction `acceptance` of an
/// object's light, and the calibration vector includes the point-source fraction. So a pipeline's cframe flux of an
/// extended source is its total flux times acceptance(source) / acceptance(point source) (as in DESI, where galaxy
/// cframe fluxes are "fiber fluxes" with a point-source aperture correction). The truth's CAM_CALIB holds per fiber
/// photons x throughput x fiber throughput x acceptance; divided by CAM_FIBERTHRU it leaves the acceptance up to a
/// common factor, and the sky fibers' CAM_CALIB is computed for a point source, which gives the reference. The
/// simulator also scales every object's acceptance by the flat-fielded point-source response of its fiber's place on
/// the focal plane relative to the centre's (`FiberFluxCorrection.flatFieldedPointSourceResponse`, plate scale), and
/// the flux calibration undoes exactly that (FLAT_TO_PSF_FLUX): the reference of a fiber is a point source at the same
/// place, so that factor is divided out as well.
public struct TruthComparison: Sendable, Codable {
    /// Per band (B, R, Z): relative residual rms and pull statistics.
    public struct Band: Sendable, Codable {
        public var band: String
        public var targets: Int
        /// rms over wavelength blocks of (sum coadd - sum model) / sum model, for blocks whose noise alone is below
        /// `blockNoiseLimit` (so that the number measures calibration, not photon noise).
        public var blockRelativeRMS: Double
        public var blocksUsed: Int
        /// Median of (coadd - model) / sigma over all pixels with ivar > 0 (bias in units of the noise).
        public var medianPull: Double
        /// rms of (coadd - model) / sigma, robust (1.4826 MAD): ~1 when the noise model is right.
        public var pullNMAD: Double
    }
    public var coadd: String
    public var truth: String
    public var bands: [Band]
    /// Block-rms over every band (the headline number).
    public var relativeRMS: Double
    public var blocksUsed: Int
    /// Median velocity offset in km/s of the bright targets' coadds against their truth (`VelocityOffset`): ~0 when
    /// the reduction puts the spectra back in the truth's barycentric frame.
    public var velocityOffset: Double
    /// Targets whose offset entered the median (measured to better than 5 km/s).
    public var velocityTargets: Int
    /// The barycentric correction (km/s) the simulator applied to the objects' light (HELIOCOR of the truth), or nil.
    public var barycentricVelocity: Double?

    /// Pixels per wavelength block of the relative comparison.
    public static let blockSize = 50
    /// A block enters the relative rms when its expected relative noise is below this.
    public static let blockNoiseLimit = 0.01

    /// Compares `coaddPath` (a coadd or spectra file with TARGETID in its FIBERMAP) with the truth of one simulated
    /// exposure of the same targets (`truthPath`, and the raw fibermap next to it that maps TARGETID to FIBER).
    /// Sky fibers are left out.
    public static func compare(coaddPath: String, truthPath: String, fibermapPath: String) throws -> TruthComparison {
        let spectra = try Spectra.read(coaddPath)
        let fibermap = try Fibermap.read(fibermapPath)
        guard let fmTargets = fibermap.table["TARGETID"]?.data.ints, let fmFibers = fibermap.table["FIBER"]?.data.ints else {
            throw DESIError.badFile(path: fibermapPath, problem: "no TARGETID or FIBER column in FIBERMAP")
        }
        let objtypes: [String]
        if case .string(let s)? = fibermap.table["OBJTYPE"]?.data {
            objtypes = s
        } else {
            objtypes = Array(repeating: "TGT", count: fmTargets.count)
        }
        var fiberOf: [Int: Int] = [:]
        for (i, t) in fmTargets.enumerated() where objtypes[i].trimmingCharacters(in: .whitespaces) != "SKY" { fiberOf[t] = fmFibers[i] }

        let truthFile = try FITSFile.open(truthPath)
        let placeResponse = focalPlaneResponse(fibermap: fibermap, fibers: fmFibers, seeing: try truthFile.readHeader().double("SEEING"))
        let cameras = truthFile.hduNames().filter { $0.hasSuffix("_FLUX") }.map { String($0.dropLast(5)) }
        guard !cameras.isEmpty else { throw DESIError.badFile(path: truthPath, problem: "no CAM_FLUX HDU: not a simulator truth file") }

        var bands: [Band] = []
        var allBlocks: [Double] = []
        var velocities: [Int64: [(velocity: Double, sigma: Double)]] = [:]
        for bandName in spectra.bands {
            guard let band = spectra[bandName], let resolution = band.resolution else { continue }
            // the truth of this band's cameras, keyed by spectrograph
            var truthBySpectrograph: [Int: (wave: [Double], flux: [Float], nspec: Int, acceptance: [Double])] = [:]
            for cam in cameras where cam.lowercased().first == bandName.lowercased().first {
                guard let sp = Int(cam.dropFirst()) else { continue }
                let wave = try truthFile.readImage("\(cam)_WAVELENGTH", as: Double.self).data
                let flux = try truthFile.readImage("\(cam)_FLUX", as: Float.self)
                let calib = try truthFile.readImage("\(cam)_CALIB", as: Float.self).data
                let fiberThroughput = try truthFile.readImage("\(cam)_FIBERTHRU", as: Double.self).data
                let nspec = flux.shape[0], nw = wave.count
                // acceptance of each fiber relative to a point source (see the type's comment)
                let perFiber = (0..<nspec).map { f in
                    Statistics.median((0..<nw).map { Double(calib[f * nw + $0]) }) / fiberThroughput[f]
                }
                let skyRows = (0..<nspec).filter { f in (0..<nw).allSatisfy { flux.data[f * nw + $0] == 0 } }
                let pointSource = skyRows.isEmpty ? nil : Statistics.median(skyRows.map { perFiber[$0] })
                let acceptance = perFiber.indices.map { f in
                    (pointSource.map { perFiber[f] / $0 } ?? 1) / (placeResponse[sp * 500 + f] ?? 1)
                }
                truthBySpectrograph[sp] = (wave, flux.data, nspec, acceptance)
            }
            if truthBySpectrograph.isEmpty { continue }
            var blocks: [Double] = []
            var pulls: [Double] = []
            var ntargets = 0
            for (row, targetID) in spectra.targetIDRows.enumerated() {
                guard let fiber = fiberOf[Int(targetID)], let truth = truthBySpectrograph[fiber / 500] else { continue }
                let truthRow = fiber % 500
                guard truthRow < truth.nspec else { continue }
                let nw = truth.wave.count
                let input = (0..<nw).map { Double(truth.flux[truthRow * nw + $0]) * truth.acceptance[truthRow] }
                let onGrid = Interpolation.linear(x: truth.wave, y: input, at: band.wave, left: 0, right: 0)
                let model = resolution.apply(spec: row, to: onGrid)
                let n0 = row * band.nwave, n1 = n0 + band.nwave
                let shiftable = VelocityOffset.ShiftableSpectrum(wave: truth.wave, binAverages: input)
                if let v = VelocityOffset.fit(wave: band.wave, flux: band.flux[n0..<n1], ivar: band.ivar[n0..<n1], model: { factor in
                    resolution.apply(spec: row, to: shiftable.binAverages(at: band.wave, factor: factor))
                }) {
                    velocities[targetID, default: []].append(v)
                }
                ntargets += 1
                let n = band.nwave
                var start = 0
                while start + blockSize <= n {
                    var sumData = 0.0, sumModel = 0.0, sumVar = 0.0, good = true
                    for j in start..<(start + blockSize) {
                        let iv = Double(band.ivar[row * n + j])
                        if iv <= 0 { good = false; break }
                        sumData += Double(band.flux[row * n + j]); sumModel += model[j]; sumVar += 1 / iv
                    }
                    if good && sumModel > 0 && sumVar.squareRoot() / sumModel < blockNoiseLimit {
                        blocks.append((sumData - sumModel) / sumModel)
                    }
                    start += blockSize
                }
                for j in 0..<n {
                    let iv = Double(band.ivar[row * n + j])
                    if iv > 0 { pulls.append((Double(band.flux[row * n + j]) - model[j]) * iv.squareRoot()) }
                }
            }
            let rms = blocks.isEmpty ? .nan : (blocks.reduce(0) { $0 + $1 * $1 } / Double(blocks.count)).squareRoot()
            bands.append(Band(band: bandName, targets: ntargets, blockRelativeRMS: rms, blocksUsed: blocks.count,
                              medianPull: pulls.isEmpty ? .nan : Statistics.median(pulls),
                              pullNMAD: pulls.isEmpty ? .nan : Statistics.nmad(pulls)))
            allBlocks += blocks
        }
        guard !bands.isEmpty else {
            throw DESIError.mismatch("\(coaddPath): no band of this file has both a resolution matrix and truth in \(truthPath)")
        }
        let total = allBlocks.isEmpty ? .nan : (allBlocks.reduce(0) { $0 + $1 * $1 } / Double(allBlocks.count)).squareRoot()
        let velocity = VelocityOffset.median(perTarget: velocities)
        try truthFile.moveTo(index: 0)
        let heliocor = try truthFile.readHeader().double("HELIOCOR")
        return TruthComparison(coadd: coaddPath, truth: truthPath, bands: bands, relativeRMS: total, blocksUsed: allBlocks.count,
                               velocityOffset: velocity.median, velocityTargets: velocity.targets,
                               barycentricVelocity: heliocor.map { ($0 - 1) * BarycentricCorrection.speedOfLight / 1000 })
    }

    /// Per fiber (FIBER), the flat-fielded point-source response at the fiber's focal-plane place relative to the
    /// centre's, at the exposure's seeing (the truth's SEEING, else 1.1"): what the simulator multiplied every object's
    /// acceptance by. Empty without FIBER_X/FIBER_Y (older simulations: no position dependence).
    static func focalPlaneResponse(fibermap: Fibermap, fibers: [Int], seeing recorded: Double?) -> [Int: Double] {
        guard let xs = fibermap.table["FIBER_X"]?.data.doubles, let ys = fibermap.table["FIBER_Y"]?.data.doubles else { return [:] }
        let seeing = recorded ?? 1.1
        let centre = FiberFluxCorrection.flatFieldedPointSourceResponse(.init(x: 0, y: 0), seeingFWHM: seeing)
        var out: [Int: Double] = [:]
        for (i, fiber) in fibers.enumerated() where xs[i].isFinite && ys[i].isFinite {
            out[fiber] = FiberFluxCorrection.flatFieldedPointSourceResponse(.init(x: xs[i], y: ys[i]), seeingFWHM: seeing) / centre
        }
        return out
    }
}
