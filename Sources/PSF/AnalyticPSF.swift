import DESICore
import Foundation
import LinearAlgebra

/// Fibers laid out across a CCD as DESI's: bundles of `bundleSize` fibers `pitch` pixels apart, with an extra
/// `gap` between bundles. Shared by the analytic PSFs of the PSF module and of the simulator.
public struct FiberBundleLayout: Sendable {
    public var pitch: Double
    public var bundleSize: Int
    public var gap: Double

    public init(pitch: Double = 7.3, bundleSize: Int = 25, gap: Double) {
        self.pitch = pitch; self.bundleSize = bundleSize; self.gap = gap
    }

    /// x of fiber `i` when fiber 0 is at `first`.
    @inline(__always) public func position(_ i: Int, first: Double = 0) -> Double {
        first + pitch * Double(i) + gap * Double(i / bundleSize)
    }

    /// Distance from the first to the last of `n` fibers.
    public func span(_ n: Int) -> Double { position(n - 1) }
}

extension GaussHermitePSF {
    /// A small realistic GAUSS-HERMITE PSF without a file, for simulations and tests: fibers in bundles
    /// (`bundleSize` fibers `fiberPitch` pixels apart, an extra `bundleGap` between bundles), traces slightly
    /// curved in x and with a y(wavelength) mildly non-linear over `npixY` rows, cores of sigma `sigmaX`,
    /// `sigmaY` growing by `sigmaSlope` (fraction) from the centre to the edges of the CCD, GH degree
    /// `ghDegree` with small even terms, and a weak power-law tail. Legendre degree 3 in wavelength.
    public static func analytic(nspec: Int, wavemin: Double, wavemax: Double, npixX: Int, npixY: Int,
                                fiberPitch: Double = 7.3, bundleSize: Int = 25, bundleGap: Double = 10.0,
                                firstFiberX: Double = 20.0, sigmaX: Double = 1.05, sigmaY: Double = 1.1,
                                sigmaSlope: Double = 0.05, ghDegree: Int = 2, tailAmplitude: Double = 0.002,
                                halfSizeX: Int = 8, halfSizeY: Int = 5, yMargin: Double = 20.0) throws -> GaussHermitePSF {
        precondition(nspec >= 1 && npixY > 2 * Int(yMargin) && wavemax > wavemin && ghDegree >= 0)
        let deg = 3
        let layout = FiberBundleLayout(pitch: fiberPitch, bundleSize: bundleSize, gap: bundleGap)
        let nw = 50
        let waves = (0..<nw).map { wavemin + (wavemax - wavemin) * Double($0) / Double(nw - 1) }
        let u = waves.map { Legendre.reduced($0, min: wavemin, max: wavemax) }
        let ylen = Double(npixY) - 2 * yMargin
        func fitRows(_ f: (Int, Double) -> Double) throws -> TraceSet {
            var c = [Double]()
            for i in 0..<nspec { c += try Legendre.fit(x: u, y: u.map { f(i, $0) }, degree: deg) }
            return TraceSet(coefficients: c, ntrace: nspec, ncoef: deg + 1, domainMin: wavemin, domainMax: wavemax)
        }
        let xTrace = try fitRows { i, t in
            let x0 = layout.position(i, first: firstFiberX)
            let xc = Double(npixX) / 2
            // Slight bow of the traces, larger far from the CCD centre column.
            return x0 + 1.5 * (t * t - 0.3) * (x0 - xc) / max(xc, 1) + 0.4 * t
        }
        let yTrace = try fitRows { i, t in
            // Mildly non-linear dispersion, the same for every fiber apart from a small smile.
            let xrel = (Double(i) - Double(nspec - 1) / 2) / max(Double(nspec), 1)
            return yMargin + ylen * (0.5 * (t + 1) + 0.03 * (t * t - 1)) + 2.0 * xrel * xrel
        }
        var headers = PSFHeaders()
        headers.table.addComment("Analytic GAUSS-HERMITE PSF made by \(DESIProvenance.softwareName) (GaussHermitePSF.analytic)")
        return try withConstantTerms(
            xTrace: xTrace, yTrace: yTrace,
            sigmaX: try fitRows { _, t in sigmaX * (1 + sigmaSlope * t * t) },
            sigmaY: try fitRows { _, t in sigmaY * (1 + sigmaSlope * t * t) },
            ghDegree: ghDegree,
            gh: { i, j in i == 0 && j == 0 ? 1 : (i % 2 == 0 && j % 2 == 0 ? 0.02 / Double(i + j) : 0) },
            tailAmplitude: tailAmplitude, tailCore: 2.0, tailIndex: 2.0,
            halfSizeX: halfSizeX, halfSizeY: halfSizeY, npixX: npixX, npixY: npixY, headers: headers)
    }

    /// A GAUSS-HERMITE PSF from traces and core widths (Legendre series in wavelength, one per fiber) and
    /// constant terms: GH-i-j = `gh(i, j)` up to degree `ghDegree` in x and y, a tail TAILAMP `tailAmplitude`,
    /// TAILCORE `tailCore`, TAILXSCA = TAILYSCA = 1, TAILINDE `tailIndex`, CONT = 0. Parameters come in the
    /// order specex writes them (GHSIGX, GHSIGY, GH-i-j with i fastest, TAIL*, CONT). The LEGDEGX / LEGDEGW recorded
    /// (not used to evaluate the PSF) are 1 / the wavelength degree for the widths and 0 / 0 for the constants, or
    /// `legendreDegrees` for every parameter.
    public static func withConstantTerms(xTrace: TraceSet, yTrace: TraceSet, sigmaX: TraceSet, sigmaY: TraceSet,
                                         ghDegree: Int, gh: (Int, Int) -> Double,
                                         tailAmplitude: Double, tailCore: Double, tailIndex: Double,
                                         halfSizeX: Int, halfSizeY: Int, npixX: Int, npixY: Int,
                                         headers: PSFHeaders = PSFHeaders(),
                                         legendreDegrees: (x: Int, w: Int)? = nil) throws -> GaussHermitePSF {
        let nspec = xTrace.ntrace, ncoef = sigmaX.ncoef
        let lo = sigmaX.domainMin, hi = sigmaX.domainMax
        let constant = { (v: Double) -> TraceSet in
            var c = [Double](repeating: 0, count: nspec * ncoef)
            for i in 0..<nspec { c[i * ncoef] = v }
            return TraceSet(coefficients: c, ntrace: nspec, ncoef: ncoef, domainMin: lo, domainMax: hi)
        }
        var params: [PSFParameter] = []
        func add(_ name: String, _ t: TraceSet, varying: Bool) {
            let deg = legendreDegrees ?? (varying ? (1, t.ncoef - 1) : (0, 0))
            params.append(PSFParameter(name: name, traces: t, legDegX: deg.x, legDegW: deg.w))
        }
        add("GHSIGX", sigmaX, varying: true)
        add("GHSIGY", sigmaY, varying: true)
        for j in 0...ghDegree {
            for i in 0...ghDegree { add("GH-\(i)-\(j)", constant(gh(i, j)), varying: false) }
        }
        add("TAILAMP", constant(tailAmplitude), varying: false)
        add("TAILCORE", constant(tailCore), varying: false)
        add("TAILXSCA", constant(1.0), varying: false)
        add("TAILYSCA", constant(1.0), varying: false)
        add("TAILINDE", constant(tailIndex), varying: false)
        add("CONT", constant(0.0), varying: false)
        return try GaussHermitePSF(xTrace: xTrace, yTrace: yTrace, parameters: params, ghDegX: ghDegree, ghDegY: ghDegree,
                                   halfSizeX: halfSizeX, halfSizeY: halfSizeY, npixX: npixX, npixY: npixY,
                                   headers: headers)
    }
}
