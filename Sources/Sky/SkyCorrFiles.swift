import DESICore
import FITS
import Foundation

extension SkyAdjustments {
    /// Writes the adjustments in desispec's skycorr layout (desispec.io.write_skycorr), atomically: HDU0
    /// WAVELENGTH (f8), DWAVE and DLSF [nspec, nwave] (f4, BUNIT Angstrom).
    public func write(to path: String, header: FITSHeader = FITSHeader()) throws {
        var hdr = FITSHeader()
        for card in header.cards where !FITSHeader.isStructural(card.key) && card.key != "EXTNAME" { hdr.append(card) }
        let shape = [nspec, wave.count]
        var unit = FITSHeader(); unit.set("BUNIT", "Angstrom")
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeImage(wave, shape: [wave.count], name: "WAVELENGTH", header: hdr)
            try f.writeImage(dwave.map { Float($0) }, shape: shape, name: "DWAVE", header: unit)
            try f.writeImage(dlsf.map { Float($0) }, shape: shape, name: "DLSF", header: unit)
        }
    }
}

/// A PCA basis of the per-fiber adjustments (desispec.skycorr.SkyCorrPCA, read as desispec.io.read_skycorr_pca):
/// HDU0 DWAVE_MEAN, DWAVE_EIG1..n, DWAVE_EIGENVALS, DLSF_MEAN, DLSF_EIG1..n, DLSF_EIGENVALS, WAVELENGTH;
/// each image [nspec, nwave].
public struct SkyCorrPCA: Sendable {
    public var wave: [Double]
    public var nspec: Int
    public var dwaveMean: [Double]
    public var dwaveEigenvectors: [[Double]]
    public var dlsfMean: [Double]
    public var dlsfEigenvectors: [[Double]]

    public init(wave: [Double], nspec: Int, dwaveMean: [Double], dwaveEigenvectors: [[Double]], dlsfMean: [Double],
                dlsfEigenvectors: [[Double]]) {
        self.wave = wave; self.nspec = nspec; self.dwaveMean = dwaveMean; self.dwaveEigenvectors = dwaveEigenvectors
        self.dlsfMean = dlsfMean; self.dlsfEigenvectors = dlsfEigenvectors
    }

    public static func read(_ path: String) throws -> SkyCorrPCA {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        for name in ["WAVELENGTH", "DWAVE_MEAN", "DLSF_MEAN"] where !f.hasHDU(name) {
            throw DESIError.badFile(path: path, problem: "no \(name) HDU: not a sky PCA (skycorr PCA) file")
        }
        let wave = try f.readImage("WAVELENGTH", as: Double.self).data
        let mean = try f.readImage("DWAVE_MEAN", as: Double.self)
        guard mean.shape.count == 2, mean.shape[1] == wave.count else {
            throw DESIError.badFile(path: path, problem: "DWAVE_MEAN has shape \(mean.shape), expected [nspec, \(wave.count)]")
        }
        func image(_ name: String) throws -> [Double] {
            let im = try f.readImage(name, as: Double.self)
            guard im.shape == mean.shape else {
                throw DESIError.badFile(path: path, problem: "\(name) has shape \(im.shape), DWAVE_MEAN \(mean.shape)")
            }
            return im.data
        }
        // desispec reads at most 11 eigenvectors, stopping at the first missing one
        func eigenvectors(_ prefix: String) throws -> [[Double]] {
            var out = [[Double]]()
            for i in 1..<12 {
                guard f.hasHDU("\(prefix)_EIG\(i)") else { break }
                out.append(try image("\(prefix)_EIG\(i)"))
            }
            return out
        }
        return SkyCorrPCA(wave: wave, nspec: mean.shape[0], dwaveMean: mean.data, dwaveEigenvectors: try eigenvectors("DWAVE"),
                          dlsfMean: try image("DLSF_MEAN"), dlsfEigenvectors: try eigenvectors("DLSF"))
    }

    /// Writes the basis in desispec's layout (desispec.io.write_skycorr_pca; eigenvalues written as 1 per vector).
    public func write(to path: String) throws {
        let shape = [nspec, wave.count]
        try FITSFile.writeAtomically(path, checksum: true) { f in
            try f.writeImage(dwaveMean.map { Float($0) }, shape: shape, name: "DWAVE_MEAN")
            for (i, v) in dwaveEigenvectors.enumerated() { try f.writeImage(v.map { Float($0) }, shape: shape, name: "DWAVE_EIG\(i + 1)") }
            let nd = max(1, dwaveEigenvectors.count), nl = max(1, dlsfEigenvectors.count)
            try f.writeImage([Double](repeating: 1, count: nd), shape: [nd], name: "DWAVE_EIGENVALS")
            try f.writeImage(dlsfMean.map { Float($0) }, shape: shape, name: "DLSF_MEAN")
            for (i, v) in dlsfEigenvectors.enumerated() { try f.writeImage(v.map { Float($0) }, shape: shape, name: "DLSF_EIG\(i + 1)") }
            try f.writeImage([Double](repeating: 1, count: nl), shape: [nl], name: "DLSF_EIGENVALS")
            try f.writeImage(wave, shape: [wave.count], name: "WAVELENGTH")
        }
    }

    func check(nspec n: Int, nwave: Int) throws {
        guard nspec == n, wave.count == nwave else {
            throw DESIError.mismatch("the sky PCA file is [\(nspec), \(wave.count)], the frame [\(n), \(nwave)]")
        }
    }

    /// Least-squares fit of mean + eigenvectors to `delta` on the sky fibers (all wavelengths), evaluated for
    /// every fiber (desispec compute_sky fit_and_interpolate). Returns the correction and the coefficients.
    func fit(_ delta: [Double], sky: [Int], mean: [Double], components: [[Double]]) throws -> ([Double], [Double]) {
        let basis = [mean] + components
        let n = basis.count, nwave = wave.count
        var a = [Double](repeating: 0, count: n * n), b = [Double](repeating: 0, count: n)
        for f in sky {
            for i in 0..<nwave {
                let k = f * nwave + i
                for p in 0..<n {
                    b[p] += delta[k] * basis[p][k]
                    for q in 0..<n { a[p * n + q] += basis[p][k] * basis[q][k] }
                }
            }
        }
        guard let inv = invertSmall(a, n: n) else {
            throw DESIError.failed("the sky PCA basis (\(n) vectors) is singular on the \(sky.count) sky fibers")
        }
        let coef = (0..<n).map { p in (0..<n).reduce(0.0) { $0 + inv[p * n + $1] * b[$1] } }
        var out = [Double](repeating: 0, count: delta.count)
        for p in 0..<n { for k in 0..<out.count { out[k] += coef[p] * basis[p][k] } }
        return (out, coef)
    }
}
