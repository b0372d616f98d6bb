import DESICore
import XCTest

@testable import Extraction

final class SpectroPerfectionismTests: XCTestCase {
    // 8 fibers in bundles of 4 (2 sub-bundles each), 150 wavelengths at 0.8 A in patches of 50.
    static let grid = WaveGrid(wave0: 5000, dw: 0.8, count: 150)
    static let options = ExtractionOptions(bundleSize: 4, nSubBundles: 2, waveStep: 50)

    func testSplitBundleAsSpecter() {
        // specter's docstring example: split_bundle(10, 3)
        let s = splitBundle(10, into: 3)
        XCTAssertEqual(s.map(\.core), [0..<3, 3..<6, 6..<10])
        XCTAssertEqual(s.map(\.extract), [0..<4, 2..<7, 5..<10])
        // 25 fibers in 6: sizes 5,4,4,4,4,4 -> smaller in the middle: 4,4,4,4,4,5? (one bubble pass moves the 5 last)
        let t = splitBundle(25, into: 6)
        XCTAssertEqual(t.map { $0.core.count }, [4, 4, 4, 4, 4, 5])
        XCTAssertEqual(t.last!.extract, 19..<25)
    }

    func testPullsAgainstConvolvedTruth() throws {
        let scene = SimulatedScene(nspec: 8, bundleSize: 4, npixY: 260, grid: Self.grid)
        let r = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<8, grid: Self.grid, options: Self.options)
        XCTAssertEqual(r.resolution.ndiag, 11)
        let h = r.resolution.ndiag / 2
        var chi2 = 0.0, sumPull = 0.0, n = 0
        for f in 0..<8 {
            for i in h..<(Self.grid.count - h) {
                let idx = f * Self.grid.count + i
                let expected = scene.convolvedTruth(r.resolution, spec: f, fiber: f, bin: i) / Self.grid.dw
                let pull = (r.flux[idx] - expected) * r.ivar[idx].squareRoot()
                chi2 += pull * pull; sumPull += pull; n += 1
                XCTAssertEqual(r.mask[idx], 0)
            }
        }
        let chi2dof = chi2 / Double(n), meanPull = sumPull / Double(n)
        print("extraction pulls: n=\(n) chi2/dof=\(chi2dof) mean pull=\(meanPull)")
        XCTAssertGreaterThan(chi2dof, 0.9); XCTAssertLessThan(chi2dof, 1.1)
        XCTAssertLessThan(abs(meanPull), 0.1)
        // chi2 per pixel of the 2D fit is about 1 for a correct model
        let meanChi2pix = r.chi2pix.reduce(0, +) / Double(r.chi2pix.count)
        XCTAssertGreaterThan(meanChi2pix, 0.7); XCTAssertLessThan(meanChi2pix, 1.3)
    }

    func testNoiselessExtractionMatchesConvolvedTruth() throws {
        let scene = SimulatedScene(nspec: 8, bundleSize: 4, npixY: 260, grid: Self.grid, noise: false)
        let r = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<8, grid: Self.grid, options: Self.options)
        let h = r.resolution.ndiag / 2
        var worst = 0.0
        for f in 0..<8 {
            for i in h..<(Self.grid.count - h) {
                let idx = f * Self.grid.count + i
                let expected = scene.convolvedTruth(r.resolution, spec: f, fiber: f, bin: i) / Self.grid.dw
                worst = max(worst, abs(r.flux[idx] - expected) * r.ivar[idx].squareRoot())
            }
        }
        print("noiseless extraction: worst |flux - R truth| = \(worst) sigma")
        XCTAssertLessThan(worst, 0.05)
    }

    func testResolutionRowsSumToOne() throws {
        let scene = SimulatedScene(nspec: 4, bundleSize: 4, npixY: 260, grid: Self.grid)
        let r = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<4, grid: Self.grid, options: Self.options)
        let res = r.resolution, h = res.ndiag / 2
        var worst = 0.0
        for s in 0..<4 {
            for i in h..<(res.nwave - h) {
                var sum = 0.0
                for j in (i - h)...(i + h) { sum += Double(res.element(spec: s, row: i, column: j)) }
                worst = max(worst, abs(sum - 1))
            }
            // the central diagonal dominates and is near the expected value for sigma = 0.55 A on 0.8 A bins
            let mid = res.element(spec: s, row: 75, column: 75)
            XCTAssertGreaterThan(mid, 0.3); XCTAssertLessThan(mid, 0.9)
        }
        // rows of the full R sum to 1; the stored band (+-5 bins, as specter) loses < 1e-3 in the tails
        XCTAssertLessThan(worst, 1e-3)
    }

    func testSameResultWhateverTheThreadCount() throws {
        let scene = SimulatedScene(nspec: 8, bundleSize: 4, npixY: 260, grid: Self.grid, seed: 7)
        var o1 = Self.options; o1.threads = 1; o1.computeModel = true
        var o3 = Self.options; o3.threads = 3; o3.computeModel = true
        let a = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<8, grid: Self.grid, options: o1)
        let b = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<8, grid: Self.grid, options: o3)
        XCTAssertEqual(a.flux, b.flux)
        XCTAssertEqual(a.ivar, b.ivar)
        XCTAssertEqual(a.resolution, b.resolution)
        XCTAssertEqual(a.chi2pix, b.chi2pix)
        XCTAssertEqual(a.model, b.model)
        // the model reproduces the noiseless image: residual/sigma ~ 1 over the traces
        let model = try XCTUnwrap(a.model)
        var chi2 = 0.0, n = 0
        for y in 20..<240 {
            for x in 0..<scene.image.nx {
                let i = y * scene.image.nx + x
                let d = Double(scene.image.pix[i]) - Double(model[i])
                chi2 += d * d * Double(scene.image.ivar[i]); n += 1
            }
        }
        XCTAssertLessThan(chi2 / Double(n), 1.2)
    }

    func testMaskedPixelsFlagBins() throws {
        var scene = SimulatedScene(nspec: 4, bundleSize: 4, npixY: 260, grid: Self.grid, seed: 3)
        // mask a 20-row band across fiber 1's whole spot width
        var img = scene.image
        let x1 = Int(scene.psf.x(fiber: 1, wavelength: 5060))
        let y1 = Int(scene.psf.y(fiber: 1, wavelength: 5060))
        for y in (y1 - 10)..<(y1 + 10) { for x in (x1 - 9)...(x1 + 9) { img.mask[y * img.nx + x] = CCDMask.cosmic } }
        scene = SimulatedScene(copying: scene, image: img)
        let r = try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<4, grid: Self.grid, options: Self.options)
        let k = Int(((5060 - Self.grid.wave0) / Self.grid.dw).rounded())
        let idx = 1 * Self.grid.count + k
        XCTAssertNotEqual(r.mask[idx] & SpecMask.allBadPix, 0)
        XCTAssertEqual(r.ivar[idx], 0, accuracy: 1e-12 * r.ivar.max()!)
        // fiber 1 far from the mask is clean
        XCTAssertEqual(r.mask[1 * Self.grid.count + 10], 0)
    }

    func testWavelengthsOutsidePSFAreRejected() {
        let scene = SimulatedScene(nspec: 4, bundleSize: 4, npixY: 100, grid: Self.grid)
        XCTAssertThrowsError(try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<4, grid: Self.grid)) { e in
            XCTAssertTrue("\(e)".contains("not covered by the PSF"), "\(e)")
        }
        XCTAssertThrowsError(try extractSpectra(image: scene.image, psf: scene.psf, fibers: 0..<9,
                                                grid: WaveGrid(wave0: 5000, dw: 0.8, count: 10)))
    }
}

extension SimulatedScene {
    init(copying s: SimulatedScene, image: Image) {
        self = s
        self.imageOverride(image)
    }
    mutating func imageOverride(_ img: Image) {
        self = SimulatedScene(psf: psf, grid: grid, kmin: kmin, kmax: kmax, truth: truth, image: img)
    }
    init(psf: GaussianTestPSF, grid: WaveGrid, kmin: Int, kmax: Int, truth: [Double], image: Image) {
        self.psf = psf; self.grid = grid; self.kmin = kmin; self.kmax = kmax; self.truth = truth; self.image = image
    }
}
