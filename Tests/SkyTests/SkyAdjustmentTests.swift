import DESICore
import FITS
import Foundation
import TestSupport
import XCTest
@testable import Sky

/// Gaussian resolution matrices (rows normalized) whose kernels are centred `shifts[f]` bins off the diagonal:
/// a line at input bin j lands at output bin j + shift.
func shiftedGaussianResolution(sigmas: [Double], shifts: [Double], nwave: Int, ndiag: Int = 11) -> ResolutionData {
    let h = ndiag / 2
    var r = ResolutionData(nspec: sigmas.count, ndiag: ndiag, nwave: nwave)
    for (f, s) in sigmas.enumerated() {
        for i in 0..<nwave {
            var row = [Double](repeating: 0, count: ndiag), norm = 0.0
            for k in -h...h where i + k >= 0 && i + k < nwave {
                let u = Double(k) + shifts[f]
                row[k + h] = exp(-0.5 * u * u / (s * s)); norm += row[k + h]
            }
            for k in -h...h where i + k >= 0 && i + k < nwave {
                r.data[(f * ndiag + (h - k)) * nwave + (i + k)] = Float(row[k + h] / norm)
            }
        }
    }
    return r
}

/// A flat-fielded frame whose fibers see the sky through a resolution that differs per fiber from the one the frame
/// carries (as a slightly wrong PSF gives): wavelength offsets `injectedShift` (Angstrom, smooth across fibers,
/// 0.05-0.1 A in size) and core widths changed by up to +-4%.
struct PerturbedSkyFrame {
    static let nspec = 60
    static let nwave = 1500
    static let step = 0.8
    let wave = (0..<nwave).map { 6200 + step * Double($0) }
    var frame: Frame
    var isSky: [Bool]
    var injectedShift: [Double]          // Angstrom: lines land at lambda + shift
    var injectedWidthChange: [Double]    // sigma'^2 - sigma^2 in Angstrom^2
    /// What the adjustments can see: the sky model absorbs the sky fibers' mean offset and width change, so the
    /// fitted dwave is -(shift - its mean over the sky fibers) and dlsf the width change less its sky-fiber mean,
    /// in units of the LSF derivative's variance.
    var expectedDwave: [Double] {
        let sky = (0..<Self.nspec).filter { isSky[$0] }
        let m = sky.map { injectedShift[$0] }.reduce(0, +) / Double(sky.count)
        return injectedShift.map { m - $0 }
    }
    var expectedDlsf: [Double] {
        let sky = (0..<Self.nspec).filter { isSky[$0] }
        let m = sky.map { injectedWidthChange[$0] }.reduce(0, +) / Double(sky.count)
        return injectedWidthChange.map { ($0 - m) / lsfAdjustmentVariancePerUnit(step: Self.step) }
    }
    var objTruthConvolved: [[Double]]    // object through the frame's (nominal) resolution
    var brightLines: [Double]

    init(seed: UInt64) {
        let n = Self.nspec, nwave = Self.nwave, w = wave
        let skyFlags = (0..<n).map { $0 % 3 == 0 }
        isSky = skyFlags
        let sigmas = (0..<n).map { 1.3 + 0.2 * sin(Double($0) / 9) }        // bins
        let shifts = (0..<n).map { f in 0.08 * sin(2 * Double.pi * Double(f) / 45) }
        injectedShift = shifts
        let scale = (0..<n).map { f in 1 + 0.04 * sin(2 * Double.pi * Double(f) / 50 + 1) }
        injectedWidthChange = (0..<n).map { f in pow(sigmas[f] * Self.step, 2) * (scale[f] * scale[f] - 1) }
        let lines = skyLineWavelengths.filter { $0 > w[0] + 5 && $0 < w[nwave - 1] - 5 }
        let amps = lines.enumerated().map { 2000 + 18000 * Double(($0.offset * 7) % 5) / 4 }
        brightLines = zip(lines, amps).filter { $0.1 > 10000 }.map { $0.0 }
        let sky = w.map { x -> Double in
            var s = 40 * (1 + 0.1 * (x - 6800) / 600)
            for (c, a) in zip(lines, amps) { s += a * exp(-0.5 * pow((x - c) / 0.3, 2)) }
            return s
        }
        let obj: [[Double]] = (0..<n).map { f in
            if skyFlags[f] { return [Double](repeating: 0, count: nwave) }
            return w.map { 15 + Double(f % 4) * 5 + 60 * exp(-0.5 * pow(($0 - 6300 - 13 * Double(f)) / 1.5, 2)) }
        }
        let perturbed = shiftedGaussianResolution(sigmas: zip(sigmas, scale).map { $0 * $1 },
                                                   shifts: shifts.map { $0 / Self.step }, nwave: nwave)
        let nominal = gaussianResolution(sigmas: sigmas, nwave: nwave)
        var rng = TestRandom(seed: seed + 1)
        let fm = makeFibermap(objtypes: skyFlags.map { $0 ? "SKY" : "TGT" }, x: (0..<n).map { _ in rng.uniform() },
                              y: (0..<n).map { _ in rng.uniform() })
        var made = makeFrame(wave: w, truth: { f in zip(sky, obj[f]).map { $0 + $1 } }, throughput: { _, _ in 1 },
                             resolution: perturbed, readnoise: 3, seed: seed, fibermap: fm).frame
        made.resolution = nominal
        frame = made
        objTruthConvolved = (0..<n).map { nominal.apply(spec: $0, to: obj[$0]) }
    }

    /// Target-fiber pulls (sframe - R object) / sigma on pixels within 2 A of bright lines: mean, std; and the
    /// sky fibers' chi2/ndf (sframe / sigma) on all their valid pixels.
    func scores(_ model: SkyModel, noiseOnly: Bool = false) throws -> (mean: Double, std: Double, skyChi2: Double) {
        var s = frame
        try subtractSky(&s, model)
        if noiseOnly { s.ivar = zip(frame.ivar, s.ivar).map { $1 > 0 ? $0 : 0 } }
        let nwave = Self.nwave
        let near = (0..<nwave).filter { i in brightLines.contains { abs(wave[i] - $0) <= 2 } }
        var pulls = [Double]()
        var c2 = 0.0, nc = 0
        for f in 0..<Self.nspec {
            for i in (isSky[f] ? Array(0..<nwave) : near) where s.ivar[f * nwave + i] > 0 {
                let p = (Double(s.flux[f * nwave + i]) - objTruthConvolved[f][i]) * Double(s.ivar[f * nwave + i]).squareRoot()
                if isSky[f] { c2 += p * p; nc += 1 } else { pulls.append(p) }
            }
        }
        let mean = pulls.reduce(0, +) / Double(pulls.count)
        let std = (pulls.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(pulls.count)).squareRoot()
        return (mean, std, c2 / Double(nc))
    }
}

final class SkyAdjustmentTests: XCTestCase {
    func options(wavelength: Bool = true, lsf: Bool = true) -> SkyOptions {
        var o = SkyOptions()
        o.adjustments.adjustWavelength = wavelength; o.adjustments.adjustLSF = lsf
        return o
    }

    /// Per-fiber mean of an adjustment over the spectrum (each line's value is noisy; the injected change is
    /// the same at all wavelengths).
    func middle(_ a: [Double], fiber f: Int) -> Double {
        let nwave = PerturbedSkyFrame.nwave
        return a[(f * nwave)..<((f + 1) * nwave)].reduce(0, +) / Double(nwave)
    }

    func rms(_ x: [Double]) -> Double { (x.map { $0 * $0 }.reduce(0, +) / Double(x.count)).squareRoot() }

    func testAdjustmentsRecoverInjectedOffsetsAndFixLineResiduals() throws {
        let p = PerturbedSkyFrame(seed: 41)
        let n = PerturbedSkyFrame.nspec
        let plain = try computeSky(frame: p.frame)
        let (adjusted, adj) = try computeSkyAndAdjustments(frame: p.frame, options: options())
        let a = try XCTUnwrap(adj)
        let before = try p.scores(plain), after = try p.scores(adjusted)
        print("no flags:   target pulls near lines mean \(before.mean) std \(before.std), sky chi2/ndf \(before.skyChi2)")
        print("both flags: target pulls near lines mean \(after.mean) std \(after.std), sky chi2/ndf \(after.skyChi2)")
        let beforeN = try p.scores(plain, noiseOnly: true), afterN = try p.scores(adjusted, noiseOnly: true)
        print("frame noise only: pulls std no flags \(beforeN.std) both flags \(afterN.std); "
              + "sky chi2/ndf \(beforeN.skyChi2) \(afterN.skyChi2)")
        // the model is moved to sky(lambda + dwave): dwave = -shift
        let expectedDwave = p.expectedDwave, expectedDlsf = p.expectedDlsf
        let dwErr = (0..<n).map { middle(a.dwave, fiber: $0) - expectedDwave[$0] }
        let dlErr = (0..<n).map { middle(a.dlsf, fiber: $0) - expectedDlsf[$0] }
        let sky = (0..<n).filter { p.isSky[$0] }, targets = (0..<n).filter { !p.isSky[$0] }
        print("dwave rms error sky fibers \(rms(sky.map { dwErr[$0] })) targets \(rms(targets.map { dwErr[$0] })) A "
              + "(injected rms \(rms(expectedDwave)))")
        print("dlsf rms error sky fibers \(rms(sky.map { dlErr[$0] })) targets \(rms(targets.map { dlErr[$0] })) "
              + "(injected rms \(rms(expectedDlsf)))")
        // a bug that drops the adjustments (errors = injected rms) or flips a sign (twice that) fails these
        XCTAssertLessThan(rms(sky.map { dwErr[$0] }), 0.02, "wavelength offsets of the sky fibers")
        XCTAssertLessThan(rms(targets.map { dwErr[$0] }), 0.02, "wavelength offsets carried to the targets")
        XCTAssertLessThan(rms(sky.map { dlErr[$0] }), 0.35, "LSF changes of the sky fibers")
        XCTAssertLessThan(rms(targets.map { dlErr[$0] }), 0.35, "LSF changes carried to the targets")
        XCTAssertEqual(a.linesUsed.filter { $0 > 0 }.count, sky.count, "every sky fiber adjusted, no target")
        // with the sframe's sigma (model variance included) the residuals hide in the extra variance
        XCTAssertLessThan(abs(after.mean), 0.1)
        XCTAssertLessThan(after.std, 1.15)
        XCTAssertLessThan(after.skyChi2, 1.1)
        // in units of the frame's noise: the gain
        XCTAssertGreaterThan(beforeN.std, 2.2, "the test frame must show the line residuals the adjustment removes")
        XCTAssertGreaterThan(beforeN.skyChi2, 1.7)
        XCTAssertLessThan(afterN.std, 1.6)
        XCTAssertLessThan(afterN.skyChi2, 1.3)
        // only the wavelength: offsets as well recovered, the width residuals left
        let (_, onlyW) = try computeSkyAndAdjustments(frame: p.frame, options: options(lsf: false))
        let ow = try XCTUnwrap(onlyW)
        XCTAssertLessThan(rms(sky.map { middle(ow.dwave, fiber: $0) - expectedDwave[$0] }), 0.02)
        XCTAssertTrue(ow.dlsf.allSatisfy { $0 == 0 })
    }

    func testAdjustWithMoreFibersFitsTargetsDirectly() throws {
        let p = PerturbedSkyFrame(seed: 42)
        var o = options(); o.adjustments.withMoreFibers = true
        let (model, adj) = try computeSkyAndAdjustments(frame: p.frame, options: o)
        let a = try XCTUnwrap(adj)
        let n = PerturbedSkyFrame.nspec
        XCTAssertGreaterThan(a.linesUsed.filter { $0 > 0 }.count, n - 3, "targets fitted too")
        let expected = p.expectedDwave
        let err = (0..<n).map { middle(a.dwave, fiber: $0) - expected[$0] }
        print("more fibers: dwave rms error \(rms(err)) A")
        XCTAssertLessThan(rms(err), 0.02)
        XCTAssertLessThan(try p.scores(model, noiseOnly: true).std, 1.6)
    }

    func testPCACorrectionAndSkyCorrFiles() throws {
        let p = PerturbedSkyFrame(seed: 43)
        let n = PerturbedSkyFrame.nspec, nwave = PerturbedSkyFrame.nwave
        // a basis that spans the injected pattern: mean = constant, eigenvector = the fiber-to-fiber sine
        let const = [Double](repeating: 1, count: n * nwave)
        let sine = (0..<(n * nwave)).map { k in sin(2 * Double.pi * Double(k / nwave) / 45) }
        let expected = p.expectedDlsf
        let width = (0..<(n * nwave)).map { k in expected[k / nwave] }
        let pca = SkyCorrPCA(wave: p.wave, nspec: n, dwaveMean: const, dwaveEigenvectors: [sine], dlsfMean: width,
                             dlsfEigenvectors: [])
        let dir = NSTemporaryDirectory() + "skyadj-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try pca.write(to: dir + "/pca.fits")
        var o = options(); o.adjustments.pca = try SkyCorrPCA.read(dir + "/pca.fits")
        let (model, adj) = try computeSkyAndAdjustments(frame: p.frame, options: o)
        let a = try XCTUnwrap(adj)
        let c = try XCTUnwrap(a.dwaveCoefficients)
        print("PCA coefficients dwave \(c) (expected mean(shift over sky fibers), -0.08), dlsf \(a.dlsfCoefficients ?? [])")
        let sky = (0..<n).filter { p.isSky[$0] }
        let meanShift = sky.map { p.injectedShift[$0] }.reduce(0, +) / Double(sky.count)
        // the constant and the sine are not orthogonal on the sky fibers: the constant takes their mean offset
        XCTAssertEqual(c[0], meanShift, accuracy: 0.006)
        XCTAssertEqual(c[1], -0.08, accuracy: 0.015)
        XCTAssertEqual(try XCTUnwrap(a.dlsfCoefficients)[0], 1, accuracy: 0.2)
        XCTAssertLessThan(try p.scores(model, noiseOnly: true).std, 1.6)
        // desispec keeps the per-fiber values (targets 0) in the saved adjustments when a PCA is used
        XCTAssertEqual(middle(a.dwave, fiber: 1), 0)

        try a.write(to: dir + "/skycorr.fits")
        let f = try FITSFile.open(dir + "/skycorr.fits")
        XCTAssertEqual(Array(f.hduNames().prefix(3)), ["WAVELENGTH", "DWAVE", "DLSF"])
        let dw = try f.readImage("DWAVE", as: Double.self)
        XCTAssertEqual(dw.shape, [n, nwave])
        XCTAssertEqual(dw.data[3 * nwave + 700], a.dwave[3 * nwave + 700], accuracy: 1e-6)
        XCTAssertEqual(try f.readImage("WAVELENGTH", as: Double.self).data, p.wave)

        var bad = pca; bad.nspec = n - 1
        bad.dwaveMean.removeLast(nwave); bad.dlsfMean.removeLast(nwave); bad.dwaveEigenvectors = []
        o.adjustments.pca = bad
        XCTAssertThrowsError(try computeSkyAndAdjustments(frame: p.frame, options: o)) { e in
            XCTAssertTrue("\(e)".contains("PCA"), "\(e)")
        }
    }

    func testNumpyHelpers() {
        let inv = invertSmall([4, 7, 2, 6], n: 2)!
        XCTAssertEqual(inv[0], 0.6, accuracy: 1e-12); XCTAssertEqual(inv[1], -0.7, accuracy: 1e-12)
        XCTAssertNil(invertSmall([1, 2, 2, 4], n: 2))
        // derivative of a line: antisymmetric about its peak; LSF derivative negative at the peak, positive in wings
        let wave = (0..<41).map { 6000 + 0.8 * Double($0) }
        let line = wave.map { 100 * exp(-0.5 * pow(($0 - 6016) / 1.0, 2)) }
        let d = wavelengthDerivative(line, wave: wave, nspec: 1)
        XCTAssertEqual(d[20], 0, accuracy: 1e-9); XCTAssertEqual(d[18], -d[22], accuracy: 1e-9)
        let l = lsfDerivative(line, wave: wave, nspec: 1)
        XCTAssertLessThan(l[20], 0); XCTAssertGreaterThan(l[24], 0)
        // one unit broadens by the sampled kernel's variance v (0.035 A^2 at 0.8 A, not 0.3^2):
        // sigma^2 1 -> 1 + 0.3 v, peak 100 -> 100 / sqrt(1 + 0.3 v)
        let v = lsfAdjustmentVariancePerUnit(step: 0.8)
        XCTAssertEqual(v * lsfDerivativeSigma, 0.0348, accuracy: 0.001)
        XCTAssertEqual(l[20] * lsfDerivativeSigma, 100 / (1 + 0.3 * v).squareRoot() - 100, accuracy: 0.3)
    }
}
