import DESICore
import FITS
import Foundation

/// Adds cosmic-ray hits to an image of electrons and returns the pixels they hit.
///
/// Synthetic tracks: a straight segment through the 250 um thick depletion region of a DESI red/NIR CCD (15 um
/// pixels). The projected length is drawn from a distribution dominated by short tracks (most muons arrive near the
/// vertical: |tan(zenith)| has a ~cos^2 distribution) with a tail up to `maxLength` pixels; the direction in the CCD
/// plane is uniform. Charge follows the path in silicon: `electronsPerMicron` (about 80 e-/um for a minimum ionizing
/// particle) times a Landau-like fluctuation, deposited in 0.05 px steps into the pixel under each step.
public struct CosmicRayInjector: Sendable {
    public var thicknessMicrons: Double = 250
    public var pixelMicrons: Double = 15
    public var electronsPerMicron: Double = 80
    public var maxLength: Double = 60
    /// Pixels with at least this charge count as hit (the truth list).
    public var hitThreshold: Double = 60

    public init() {}

    /// Injects `count` synthetic tracks into `electrons` ([ny, nx]); returns the sorted flat indices of hit pixels.
    @discardableResult
    public func inject(into electrons: inout [Float], ny: Int, nx: Int, count: Int, rng: inout SimulationRandom) -> [Int] {
        var deposit = [Int: Double]()
        for _ in 0..<count {
            // zenith angle with a cos^2 law: sample cos(theta) = u^(1/3)
            let cosT = max(0.05, pow(rng.uniform(), 1.0 / 3.0))
            let tanT = (1 - cosT * cosT).squareRoot() / cosT
            let length = max(1.0, min(maxLength, tanT * thicknessMicrons / pixelMicrons))
            let phi = Double.pi * rng.uniform()
            let x0 = rng.uniform() * Double(nx), y0 = rng.uniform() * Double(ny)
            let pathMicrons = (thicknessMicrons * thicknessMicrons + (length * pixelMicrons) * (length * pixelMicrons)).squareRoot()
            // Landau-like fluctuation: most probable near 1, long tail to high charge
            let landau = 0.7 + 0.3 * (-log(max(1e-12, rng.uniform())))
            let total = electronsPerMicron * pathMicrons * landau
            let steps = max(1, Int(length / 0.05))
            let q = total / Double(steps)
            let dx = cos(phi) * length / Double(steps), dy = sin(phi) * length / Double(steps)
            for s in 0..<steps {
                let x = x0 + (Double(s) + 0.5) * dx, y = y0 + (Double(s) + 0.5) * dy
                let ix = Int(x.rounded(.down)), iy = Int(y.rounded(.down))
                guard ix >= 0, ix < nx, iy >= 0, iy < ny else { continue }
                deposit[iy * nx + ix, default: 0] += q
            }
        }
        var hits: [Int] = []
        for (idx, q) in deposit {
            electrons[idx] += Float(q)
            if q >= hitThreshold { hits.append(idx) }
        }
        return hits.sorted()
    }

    /// Pastes real cosmic-ray hits from a cut-out file (HDUs IMAGE-*, IVAR-*, MASK-* of 20x20 pixels, as
    /// /work/shared/data/cosmics/cosmics-dark-r.fits) at `count` random places: the IMAGE values of the MASKed
    /// pixels of every cut-out that holds a hit are added to `electrons`. Returns the sorted flat indices of the
    /// pasted masked pixels.
    @discardableResult
    public func pasteRealHits(from path: String, into electrons: inout [Float], ny: Int, nx: Int, count: Int,
                              rng: inout SimulationRandom) throws -> [Int] {
        let f = try FITSFile.open(path)
        var stamps: [(ny: Int, nx: Int, values: [(Int, Float)])] = []
        for name in f.hduNames() where name.uppercased().hasPrefix("IMAGE-") {
            let suffix = name.dropFirst("IMAGE-".count)
            guard f.hasHDU("MASK-\(suffix)") else { continue }
            let img = try f.readImage(name, as: Float.self)
            let mask = try f.readImage("MASK-\(suffix)", as: Int32.self)
            guard img.shape.count == 2, img.shape == mask.shape else {
                throw DESIError.badFile(path: path, problem: "\(name) and MASK-\(suffix) have different shapes")
            }
            let vals = (0..<img.count).compactMap { mask.data[$0] != 0 ? ($0, img.data[$0]) : nil }
            if !vals.isEmpty { stamps.append((img.shape[0], img.shape[1], vals)) }
        }
        guard !stamps.isEmpty else {
            throw DESIError.badFile(path: path, problem: "no IMAGE-*/MASK-* cut-out holds a masked cosmic-ray hit")
        }
        var hits = Set<Int>()
        for _ in 0..<count {
            let s = stamps[Int(rng.uniform() * Double(stamps.count)) % stamps.count]
            guard ny > s.ny, nx > s.nx else { continue }
            let oy = Int(rng.uniform() * Double(ny - s.ny)), ox = Int(rng.uniform() * Double(nx - s.nx))
            for (k, v) in s.values {
                let idx = (oy + k / s.nx) * nx + ox + k % s.nx
                electrons[idx] += max(0, v)
                hits.insert(idx)
            }
        }
        return hits.sorted()
    }
}
