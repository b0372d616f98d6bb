import DESICore
import Foundation
import LinearAlgebra

/// The external spectra of the absolute wavelength calibration of the trace shifts: reading them, the sky spectrum
/// shipped with the project, and the reference convolved with the PSF's line spread
/// (desispec.trace_shifts._prepare_ref_spectrum).

/// A reference spectrum from a text file: two columns, wavelength (A) and flux, separated by blanks, tabs or
/// commas; '#' comments. More than 10 lines are needed.
func readReferenceSpectrum(_ path: String) throws -> ([Double], [Double]) {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw DESIError.badFile(path: path, problem: "cannot read the reference spectrum")
    }
    var w = [Double](), f = [Double]()
    for line in text.split(separator: "\n") {
        let t = line.trimmingCharacters(in: .whitespaces)
        if t.isEmpty || t.hasPrefix("#") { continue }
        let cols = t.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).compactMap { Double($0) }
        guard cols.count >= 2 else { throw DESIError.badFile(path: path, problem: "line '\(t)' is not 'wavelength flux'") }
        w.append(cols[0]); f.append(cols[1])
    }
    guard w.count > 10 else {
        throw DESIError.badFile(path: path, problem: "only \(w.count) (wavelength, flux) lines, more than 10 are needed")
    }
    guard zip(w, w.dropFirst()).allSatisfy({ $0 < $1 }) else {
        throw DESIError.badFile(path: path, problem: "the wavelengths of the reference spectrum do not increase")
    }
    return (w, f)
}

/// The reference spectra shipped with the PSF module for the absolute wavelength calibration of the trace shifts, as
/// desi_compute_trace_shifts takes them from desispec's data folder (Sources/PSF/Resources/sky/README.md and
/// Sources/PSF/Resources/arclines/README.md).
public enum ShippedReferenceSpectrum: String, Sendable {
    /// The night-sky emission lines (`--sky`: desispec's data/spec-sky.dat, stored sparse).
    case sky
    /// The arc lamps' spectrum (`--arc-lamps`: desispec's data/spec-arc-lamps.dat, as it is).
    case arcLamps

    /// What the messages call it.
    public var description: String {
        switch self {
        case .sky: return "the shipped sky line spectrum (desispec's spec-sky.dat)"
        case .arcLamps: return "the shipped arc lamp spectrum (desispec's spec-arc-lamps.dat)"
        }
    }

    /// The file in the module's resources.
    public func path() throws -> String {
        let (name, ext, folder) = self == .sky ? ("spec-sky-lines", "txt", "sky") : ("spec-arc-lamps", "dat", "arclines")
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: folder) else {
            throw DESIError.badFile(path: "\(Bundle.module.bundlePath)/\(folder)/\(name).\(ext)",
                                    problem: "\(description) is missing from the PSF module's resources")
        }
        return url.path
    }
}

/// The line spread of a PSF along the dispersion at one wavelength: the spot summed across the columns, as a
/// function of the offset (pixels) of a row from the trace centre, averaged over `fibers`. Sampled every
/// 1/`substeps` pixel from spots centred at `substeps` sub-pixel positions around the wavelength (the shape does
/// not change over a pixel); the values integrate to 1 over the offset. desispec's _prepare_ref_spectrum sums
/// specter's pixel-integrated PSF over x in the same way: the profile keeps the PSF's asymmetry along y, whose
/// centroid moves the lines as much as a trace shift of the same size would.
struct LineSpreadProfile {
    /// Offset of the first sample from the trace centre (pixels) and the sampling step (pixels).
    var firstOffset: Double
    var step: Double
    var values: [Double]

    init(psf: any SpectralPSF, fibers: [Int], wavelength w: Double, substeps: Int = 10) {
        var sums: [Int: Double] = [:], counts: [Int: Int] = [:]
        for f in fibers {
            let centre = psf.y(fiber: f, wavelength: w).rounded()
            for s in 0..<substeps {
                let ws = psf.wavelength(fiber: f, y: centre + Double(s) / Double(substeps) - 0.5)
                let spot = psf.spot(fiber: f, wavelength: ws)
                let yc = psf.y(fiber: f, wavelength: ws)
                for i in 0..<spot.ny {
                    var row = 0.0
                    for j in 0..<spot.nx { row += spot.values[i * spot.nx + j] }
                    let k = Int(((Double(spot.y0 + i) - yc) * Double(substeps)).rounded())
                    sums[k, default: 0] += row; counts[k, default: 0] += 1
                }
            }
        }
        let k0 = sums.keys.min() ?? 0, k1 = sums.keys.max() ?? 0
        var v = (k0...k1).map { k in counts[k].map { sums[k]! / Double($0) } ?? 0 }
        let total = v.reduce(0, +) / Double(substeps)
        if total > 0 { v = v.map { $0 / total } }
        firstOffset = Double(k0) / Double(substeps); step = 1 / Double(substeps); values = v
    }

    /// The profile at an offset (pixels), linearly interpolated, 0 outside the sampled range.
    func value(at offset: Double) -> Double {
        let t = (offset - firstOffset) / step
        guard values.count > 1, t >= 0, t <= Double(values.count - 1) else { return 0 }
        let i = min(Int(t), values.count - 2)
        return values[i] + (values[i + 1] - values[i]) * (t - Double(i))
    }

    /// Half extent of the sampled profile, pixels.
    var halfWidth: Double { max(-firstOffset, firstOffset + step * Double(values.count - 1)) }
}

/// A reference spectrum convolved with the PSF's line spread, tabulated every 0.02 A so that it can be shifted
/// continuously (desispec.trace_shifts._prepare_ref_spectrum): the line spread (LineSpreadProfile over 20 fibers
/// spread over the measured ones) is taken at the centres of 20 equal wavelength bins, and the spectra convolved
/// with two neighbouring ones are blended linearly in between (the first and last beyond the outer centres).
/// Without a PSF the reference is only interpolated.
struct ConvolvedReference {
    static let step = 0.02
    let first: Double
    let values: [Double]

    init(wave rw0: [Double], flux rf0: [Double], from lo: Double, to hi: Double, psf: (any SpectralPSF)?, fibers: [Int]) {
        let margin = 12.0, step = Self.step
        let start = lo - margin
        first = start
        let n = Int((hi + margin - start) / step) + 1
        let grid = (0..<n).map { start + step * Double($0) }
        let raw = Interpolation.linear(x: rw0, y: rf0, at: grid, left: 0, right: 0)
        guard let psf else { values = raw; return }

        let nodes = 20
        let nodeWave = (0..<nodes).map { lo + (hi - lo) * (Double($0) + 0.5) / Double(nodes) }
        let sample = Array(Set((0..<20).map { fibers[Int(Double(fibers.count - 1) * Double($0) / 19)] })).sorted()
        let profiles = parallelMap(nodes) { LineSpreadProfile(psf: psf, fibers: sample, wavelength: nodeWave[$0]) }
        var out = [Double](repeating: 0, count: n)
        let nonzero = (0..<n).filter { raw[$0] != 0 }
        for (b, wb) in nodeWave.enumerated() {
            let profile = profiles[b]
            let dydw = sample.map { f in (psf.y(fiber: f, wavelength: wb + 0.1) - psf.y(fiber: f, wavelength: wb)) / 0.1 }
                .reduce(0, +) / Double(sample.count)
            // kernel over wavelength offsets: the profile at offset * dy/dw, normalised to 1 over the grid
            let taps = Int(profile.halfWidth / abs(dydw) / step) + 1
            var kernel = (-taps...taps).map { profile.value(at: Double($0) * step * dydw) }
            let ks = kernel.reduce(0, +)
            if ks > 0 { kernel = kernel.map { $0 / ks } }
            // the samples this node's spectrum weighs on, and its weight there
            let lower = b == 0 ? -Double.infinity : nodeWave[b - 1], upper = b == nodes - 1 ? Double.infinity : nodeWave[b + 1]
            func weight(_ w: Double) -> Double {
                if w <= wb { return b == 0 ? 1 : (w - lower) / (wb - lower) }
                return b == nodes - 1 ? 1 : (upper - w) / (upper - wb)
            }
            // only the samples whose kernel reaches the node's window (each node weighs on a tenth of the range); the
            // window's samples are a contiguous range of the grid, their weights taken once
            let reach = Double(taps + 1) * step
            let inside = (0..<n).filter { grid[$0] > lower && grid[$0] < upper }
            guard let i0 = inside.first, let i1 = inside.last else { continue }
            let w = (i0...i1).map { weight(grid[$0]) }
            raw.withUnsafeBufferPointer { r in kernel.withUnsafeBufferPointer { k in
                w.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { o in
                    for j in nonzero where grid[j] > lower - reach && grid[j] < upper + reach {
                        let lo = max(j - taps, i0), hi = min(j + taps, i1)
                        guard lo <= hi else { continue }
                        for i in lo...hi {
                            o[i] += wp[i - i0] * r[j] * k[i - j + taps]
                        }
                    }
                } }
            } }
        }
        values = out
    }

    /// The convolved reference at a wavelength, linearly interpolated; 0 outside the table.
    func value(at w: Double) -> Double {
        let t = (w - first) / Self.step
        let i = Int(t.rounded(.down))
        guard i >= 0, i + 1 < values.count else { return 0 }
        return values[i] + (values[i + 1] - values[i]) * (t - Double(i))
    }
}
