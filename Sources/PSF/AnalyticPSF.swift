import Foundation
import LinearAlgebra

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
        let deg = 3, ncoef = deg + 1
        let nw = 50
        let waves = (0..<nw).map { wavemin + (wavemax - wavemin) * Double($0) / Double(nw - 1) }
        let u = waves.map { Legendre.reduced($0, min: wavemin, max: wavemax) }
        let ylen = Double(npixY) - 2 * yMargin
        func fitRows(_ f: (Int, Double) -> Double) throws -> TraceSet {
            var c = [Double]()
            for i in 0..<nspec { c += try Legendre.fit(x: u, y: u.map { f(i, $0) }, degree: deg) }
            return TraceSet(coefficients: c, ntrace: nspec, ncoef: ncoef, domainMin: wavemin, domainMax: wavemax)
        }
        let xTrace = try fitRows { i, t in
            let x0 = firstFiberX + fiberPitch * Double(i) + bundleGap * Double(i / bundleSize)
            let xc = Double(npixX) / 2
            // Slight bow of the traces, larger far from the CCD centre column.
            return x0 + 1.5 * (t * t - 0.3) * (x0 - xc) / max(xc, 1) + 0.4 * t
        }
        let yTrace = try fitRows { i, t in
            // Mildly non-linear dispersion, the same for every fiber apart from a small smile.
            let xrel = (Double(i) - Double(nspec - 1) / 2) / max(Double(nspec), 1)
            return yMargin + ylen * (0.5 * (t + 1) + 0.03 * (t * t - 1)) + 2.0 * xrel * xrel
        }
        let constant = { (v: Double) -> TraceSet in
            var c = [Double](repeating: 0, count: nspec * ncoef)
            for i in 0..<nspec { c[i * ncoef] = v }
            return TraceSet(coefficients: c, ntrace: nspec, ncoef: ncoef, domainMin: wavemin, domainMax: wavemax)
        }
        var params: [PSFParameter] = []
        params.append(PSFParameter(name: "GHSIGX", traces: try fitRows { _, t in sigmaX * (1 + sigmaSlope * t * t) }, legDegX: 1, legDegW: deg))
        params.append(PSFParameter(name: "GHSIGY", traces: try fitRows { _, t in sigmaY * (1 + sigmaSlope * t * t) }, legDegX: 1, legDegW: deg))
        for j in 0...ghDegree {
            for i in 0...ghDegree {
                let v: Double
                if i == 0 && j == 0 { v = 1 }
                else if i % 2 == 0 && j % 2 == 0 { v = 0.02 / Double(i + j) }
                else { v = 0 }
                params.append(PSFParameter(name: "GH-\(i)-\(j)", traces: constant(v), legDegX: 0, legDegW: 0))
            }
        }
        params.append(PSFParameter(name: "TAILAMP", traces: constant(tailAmplitude), legDegX: 0, legDegW: 0))
        params.append(PSFParameter(name: "TAILCORE", traces: constant(2.0), legDegX: 0, legDegW: 0))
        params.append(PSFParameter(name: "TAILXSCA", traces: constant(1.0), legDegX: 0, legDegW: 0))
        params.append(PSFParameter(name: "TAILYSCA", traces: constant(1.0), legDegX: 0, legDegW: 0))
        params.append(PSFParameter(name: "TAILINDE", traces: constant(2.0), legDegX: 0, legDegW: 0))
        params.append(PSFParameter(name: "CONT", traces: constant(0.0), legDegX: 0, legDegW: 0))
        var headers = PSFHeaders()
        headers.table.addComment("Analytic GAUSS-HERMITE PSF made by desispec-swift (GaussHermitePSF.analytic)")
        return try GaussHermitePSF(xTrace: xTrace, yTrace: yTrace, parameters: params, ghDegX: ghDegree, ghDegY: ghDegree,
                                   halfSizeX: halfSizeX, halfSizeY: halfSizeY, npixX: npixX, npixY: npixY,
                                   headers: headers)
    }
}
