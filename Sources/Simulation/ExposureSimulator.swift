import DESICore
import Foundation
import LinearAlgebra
import PSF

/// Kinds of exposure the simulator makes.
public enum ExposureFlavor: String, Sendable, CaseIterable {
    case arc, flat, science, zero, dark

    /// OBSTYPE keyword of the raw file.
    public var obstype: String { self == .zero ? "ZERO" : rawValue.uppercased() }
    /// Default exposure time in seconds.
    public var defaultExptime: Double {
        switch self {
        case .arc: return 5
        case .flat: return 10
        case .science: return 900
        case .zero: return 0
        case .dark: return 900
        }
    }
}

/// What one camera of a simulated exposure truly holds, on the truth wavelength grid.
public struct CameraTruth: Sendable {
    public var camera: Camera
    public var wave: [Double]
    public var nspec: Int
    /// Expected extracted signal, electrons per Angstrom, [nspec, nwave]: what extraction should recover.
    public var electrons: [Double]
    /// Object flux above the atmosphere, 1e-17 erg/s/cm2/A, [nspec, nwave] (0 for sky fibers and calibrations).
    public var objectFlux: [Double]
    /// Sky flux in the fiber, 1e-17 erg/s/cm2/A, [nspec, nwave].
    public var skyFlux: [Double]
    /// Electrons per Angstrom per unit of object flux above the atmosphere (throughput, extinction, fiber
    /// acceptance, fiber throughput, area, exposure time), [nspec, nwave]: the flux calibration to recover.
    public var calibration: [Double]
    /// Instrument throughput of the arm (no atmosphere), [nwave].
    public var throughput: [Double]
    /// Relative fiber throughputs, [nspec].
    public var fiberThroughput: [Double]
}

/// One simulated camera: the noiseless and noisy electron images [ny, nx] and the truth.
public struct CameraExposure: Sendable {
    public var camera: Camera
    public var ny: Int
    public var nx: Int
    public var expectedElectrons: [Float]
    public var electrons: [Float]
    public var truth: CameraTruth
}

/// Builds electron images of arc, flat and science exposures (desisim.simexp / quickgen ideas: photons from
/// flux through area, exposure time, throughput, then projected with the PSF).
public struct ExposureSimulator: Sendable {
    public var inputs: SpectralInputs
    public var instrument: Instrument
    public var samplesPerPixel: Int = 4

    public init(inputs: SpectralInputs, instrument: Instrument = Instrument()) {
        self.inputs = inputs; self.instrument = instrument
    }

    /// Relative fiber throughputs N(1, rms) truncated at 1 +- `fiberThroughputMaxOffset` (redrawn beyond) for the
    /// fibers of a spectrograph, from `seed`.
    public func fiberThroughputs(nspec: Int, spectrograph: Int, seed: UInt64) -> [Double] {
        var rng = SimulationRandom(seed: seed, stream: 77_000 + UInt64(spectrograph))
        let rms = instrument.fiberThroughputRMS, limit = max(instrument.fiberThroughputMaxOffset, 1e-6)
        return (0..<nspec).map { _ in
            var offset = rms * rng.gaussian()
            while abs(offset) > limit { offset = rms * rng.gaussian() }
            return max(0.5, 1 + offset)
        }
    }

    /// The wavelength grid of the truth for an arm: desispec's default extraction grid, 0.8 A steps.
    public static func truthWave(_ arm: Camera.Arm) -> [Double] {
        let r = Instrument.wavelengthRange(arm)
        return stride(from: r.lowerBound, through: r.upperBound + 1e-9, by: 0.8).map { $0 }
    }

    /// Components of a fiber's light: a spectrum and the factor (a function of wavelength) turning it into
    /// electrons per Angstrom at the CCD.
    struct Component {
        var spectrum: SpectrumModel
        /// The spectrum as the CCD sees it (an object's light shifted into the observatory frame); nil: `spectrum`.
        var observed: SpectrumModel? = nil
        var factor: ([Double]) -> [Double]
        var isObject: Bool
        var isSky: Bool
    }

    func components(flavor: ExposureFlavor, arm: Camera.Arm, target: SimulatedTarget, fiberThroughput: Double,
                    exptime: Double, objectWavelengthFactor: Double = 1) -> [Component] {
        let inst = instrument
        let ext = inputs.extinction
        let peak = stride(from: 3000.0, through: 11000, by: 5).map { Instrument.throughput(arm, wavelength: $0) }.max() ?? 1
        let instrumentFactor: ([Double]) -> [Double] = { w in
            w.map {
                inst.photonsPerFluxUnit(wavelength: $0, exptime: exptime) * Instrument.throughput(arm, wavelength: $0)
                    * fiberThroughput
            }
        }
        switch flavor {
        case .zero, .dark:
            return []
        case .arc:
            let lines = SpectrumModel(lines: inputs.arcLines)
            let scale = exptime / SpectralInputs.arcReferenceExptime * fiberThroughput
            return [Component(spectrum: lines, factor: { w in w.map { Instrument.throughput(arm, wavelength: $0) / peak * scale } },
                              isObject: false, isSky: false)]
        case .flat:
            return [Component(spectrum: inputs.flatLamp.scaled(by: inst.fiberAreaArcsec2), factor: instrumentFactor,
                              isObject: false, isSky: false)]
        case .science:
            var c = [Component(spectrum: inputs.sky.scaled(by: inst.fiberAreaArcsec2), factor: instrumentFactor,
                               isObject: false, isSky: true)]
            if target.kind != .sky {
                let acc = target.fiberAcceptance, airmass = inst.airmass
                c.append(Component(spectrum: target.spectrum, factor: { w in
                    let k = ext.evaluate(at: w)
                    let base = instrumentFactor(w)
                    return (0..<w.count).map { base[$0] * acc * pow(10, -0.4 * k[$0] * airmass) }
                }, isObject: true, isSky: false))
                if objectWavelengthFactor != 1 {
                    c[c.count - 1].observed = target.spectrum.wavelengthsDivided(by: objectWavelengthFactor)
                }
            }
            return c
        }
    }

    /// Simulates one camera. `targets` are the camera's fibers in order (target i in PSF fiber i); the PSF must
    /// describe at least that many fibers. `truthWave` defaults to the arm's extraction grid; `parallel: false`
    /// runs on one thread (same result); `addNoise: false` skips the Poisson draw (electrons = expected).
    /// `objectWavelengthFactor` is the barycentric factor 1 + v/c of the exposure: the objects' spectra are given in
    /// the barycentric frame and land on the CCD at lambda / factor (sky and lamps are in the observatory frame);
    /// the truth stays in the barycentric frame.
    public func simulateCamera(camera: Camera, flavor: ExposureFlavor, psf: any SpectralPSF, targets: [SimulatedTarget],
                               fiberThroughput: [Double], exptime: Double, seed: UInt64,
                               truthWave: [Double]? = nil, parallel: Bool = true, addNoise: Bool = true,
                               objectWavelengthFactor: Double = 1) throws -> CameraExposure {
        let nspec = targets.count
        guard psf.nspec >= nspec else {
            throw DESIError.mismatch("simulate \(camera): the PSF describes \(psf.nspec) fibers, \(nspec) requested")
        }
        guard fiberThroughput.count == nspec else {
            throw DESIError.mismatch("simulate \(camera): \(fiberThroughput.count) fiber throughputs for \(nspec) fibers")
        }
        let wave = truthWave ?? ExposureSimulator.truthWave(camera.arm)
        let truthEdges = Interpolation.edges(centers: wave)
        let nw = wave.count
        var samples = [FiberSamples](repeating: FiberSamples(electrons: [], meanWavelength: []), count: nspec)
        var electrons = [Double](repeating: 0, count: nspec * nw)
        var objectFlux = electrons, skyFlux = electrons, calibration = electrons
        let truthCenters = (0..<nw).map { 0.5 * (truthEdges[$0] + truthEdges[$0 + 1]) }
        let widths = (0..<nw).map { truthEdges[$0 + 1] - truthEdges[$0] }
        // per fiber: fine samples for the image, bin averages for the truth
        samples.withUnsafeMutableBufferPointer { sp in
        electrons.withUnsafeMutableBufferPointer { ep in
        objectFlux.withUnsafeMutableBufferPointer { op in
        skyFlux.withUnsafeMutableBufferPointer { kp in
        calibration.withUnsafeMutableBufferPointer { cp in
            nonisolated(unsafe) let sP = sp, eP = ep, oP = op, kP = kp, cP = cp
            parallelFor(nspec, parallel: parallel) { f in
                let comps = components(flavor: flavor, arm: camera.arm, target: targets[f], fiberThroughput: fiberThroughput[f],
                                       exptime: exptime, objectWavelengthFactor: objectWavelengthFactor)
                let edges = Projection.fineEdges(psf: psf, fiber: f, samplesPerPixel: samplesPerPixel)
                let nb = max(edges.count - 1, 0)
                var e = [Double](repeating: 0, count: nb), lam = [Double](repeating: 0, count: nb)
                let centers = (0..<nb).map { 0.5 * (edges[$0] + edges[$0 + 1]) }
                for c in comps {
                    let m = (c.observed ?? c.spectrum).binMoments(edges: edges)
                    let fac = c.factor(centers)
                    for k in 0..<nb { e[k] += m.integral[k] * fac[k]; lam[k] += m.firstMoment[k] * fac[k] }
                    let mt = c.spectrum.binMoments(edges: truthEdges)
                    let ft = c.factor(truthCenters)
                    for k in 0..<nw {
                        eP[f * nw + k] += mt.integral[k] * ft[k] / widths[k]
                        if c.isObject { oP[f * nw + k] += mt.integral[k] / widths[k]; cP[f * nw + k] = ft[k] }
                        if c.isSky { kP[f * nw + k] += mt.integral[k] / widths[k] }
                    }
                }
                for k in 0..<nb {
                    if e[k] > 0 { lam[k] /= e[k] } else { e[k] = 0; lam[k] = centers[k] }
                    // a bin's mean wavelength stays inside the bin (guards rounding for lines at an edge)
                    lam[k] = min(max(lam[k], edges[k]), edges[k + 1])
                }
                sP[f] = FiberSamples(electrons: e, meanWavelength: lam)
            }
        }}}}}
        if flavor == .science {
            // calibration of sky fibers too: what an object there would give
            for f in 0..<nspec where targets[f].kind == .sky {
                let acc = instrument.pointSourceFiberAcceptance
                let k = inputs.extinction.evaluate(at: truthCenters)
                for j in 0..<nw {
                    calibration[f * nw + j] = instrument.photonsPerFluxUnit(wavelength: truthCenters[j], exptime: exptime)
                        * Instrument.throughput(camera.arm, wavelength: truthCenters[j]) * fiberThroughput[f] * acc
                        * pow(10, -0.4 * k[j] * instrument.airmass)
                }
            }
        }
        let expected = Projection.project(psf: psf, fibers: Array(0..<nspec), samples: samples, parallel: parallel)
        let stream = UInt64(camera.spectrograph * 3 + (camera.arm == .b ? 0 : camera.arm == .r ? 1 : 2))
        let noisy = !addNoise
            ? expected.map(Float.init)
            : Projection.poisson(expected, ny: psf.npixY, nx: psf.npixX, seed: seed, stream: 500 + stream, parallel: parallel)
        let truth = CameraTruth(camera: camera, wave: wave, nspec: nspec, electrons: electrons, objectFlux: objectFlux,
                                skyFlux: skyFlux, calibration: calibration,
                                throughput: wave.map { Instrument.throughput(camera.arm, wavelength: $0) },
                                fiberThroughput: fiberThroughput)
        return CameraExposure(camera: camera, ny: psf.npixY, nx: psf.npixX, expectedElectrons: expected.map(Float.init),
                              electrons: noisy, truth: truth)
    }
}
