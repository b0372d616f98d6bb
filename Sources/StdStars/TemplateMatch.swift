import DESICore
import Foundation
import LinearAlgebra

/// One camera's spectrum of one star, as the template fit uses it: wavelength [A], flux and ivar
/// (flat-fielded, sky-subtracted electrons/A), and this fiber's resolution diagonals [ndiag, nwave]
/// in DESI's DIA layout (see `ResolutionData`).
public struct CameraSpectrum: Sendable {
    public var camera: String
    public var wave: [Double]
    public var flux: [Double]
    public var ivar: [Double]
    public var resolution: [Double]
    public var ndiag: Int

    public init(camera: String, wave: [Double], flux: [Double], ivar: [Double], resolution: [Double], ndiag: Int) {
        precondition(flux.count == wave.count && ivar.count == wave.count && resolution.count == ndiag * wave.count,
                     "camera spectrum \(camera): inconsistent sizes")
        self.camera = camera; self.wave = wave; self.flux = flux; self.ivar = ivar; self.resolution = resolution; self.ndiag = ndiag
    }
}

/// Result of the template match of one star.
public struct TemplateMatch: Sendable {
    /// Linear coefficients over the templates given (sum 1, at most 27 non-zero).
    public var coefficients: [Double]
    public var redshift: Double
    public var chi2dof: Double
}

/// Standard-star template fitting (desispec.fluxcalibration.match_templates, redshift_fit,
/// interpolate_on_parameter_grid).
public enum TemplateFitter {
    /// Sky lines masked in the fit (vacuum, +-6 A) and the red limit (desispec match_templates).
    static let skyLines: [Double] = [4047.5, 4359.3, 5462.3, 5578.9, 5891.3, 5897.3, 6301.8, 6365.4, 7823.3, 7855.2]
    /// Telluric absorption bands masked in the fit (desispec data/arc_lines/telluric_lines.txt).
    static let telluricBands: [(Double, Double)] = [
        (5881, 5905), (5893, 5913), (5913, 5937), (5933, 5961), (5961, 5981), (6270, 6331), (6468, 6488), (6477, 6498),
        (6511, 6531), (6860, 6978), (6979, 7045), (7034, 7056), (7046, 7067), (7143, 7164), (7154, 7348), (7339, 7385),
        (7375, 7397), (7388, 7410), (7584, 7713), (7889, 7912), (7953, 7976), (8004, 8027), (8092, 8392), (8400, 8424),
        (8926, 9868), (9863, 9890), (10738, 10767), (10764, 10793), (10790, 10832), (10830, 10926), (10923, 11000),
    ]
    /// Interstellar Ca H&K, masked for the redshift only.
    static let ismLines: [Double] = [3934.77, 3969.59]

    /// desispec applySmoothingFilter: median filter of width 200 with zero padding.
    static func smooth(_ x: [Double], width: Int = 200) -> [Double] { Smoothing.medianFilter(x, size: width, boundary: .constant(0)) }

    // MARK: redshift

    /// Radial velocity of one template (desispec redshift_fit): data and model resampled on a log-lambda grid
    /// of step log10(1 + zRes), both divided by their median-filtered continuum, chi2 scanned over +-zMax.
    /// With `refine`, a parabola through the three chi2 values around the minimum gives a sub-step redshift.
    public static func redshiftFit(_ spectra: [CameraSpectrum], stdWave: [Double], stdFlux: [Double],
                                   zMax: Double = 0.005, zRes: Double = 5e-5, refine: Bool = true) -> Double {
        var minw = Double.greatestFiniteMagnitude, maxw = 0.0
        for s in spectra { minw = min(minw, s.wave.min() ?? minw); maxw = max(maxw, s.wave.max() ?? maxw) }
        let lstep = log10(1 + zRes)
        let margin = Int(log10(1 + zMax) / lstep) + 1
        let minl = log10(minw), maxl = log10(maxw)
        let nstep = Int(((maxl - minl) / lstep).rounded(.up))
        guard nstep > 2 * margin + 2 else { return 0 }
        let lw = (0..<nstep).map { pow(10, minl + lstep * Double($0)) }

        var chi2 = [Double](repeating: 0, count: 2 * margin + 1)
        for s in spectra {
            var (data, ivar) = Interpolation.resampleFlux(xout: lw, x: s.wave, flux: s.flux, ivar: s.ivar)
            let nw = s.wave.count
            let dw = s.wave[nw - 1] - s.wave[nw - 2]
            let npix = Int(s.wave[nw - 1] * zMax / dw + 2)
            var ext = [Double](); ext.reserveCapacity(nw + 2 * npix)
            for i in stride(from: -npix, to: 0, by: 1) { ext.append(s.wave[0] + dw * Double(i)) }
            ext.append(contentsOf: s.wave)
            for i in 1...npix { ext.append(s.wave[nw - 1] + dw * Double(i)) }
            let ne = ext.count
            var eres = [Double](repeating: 0, count: s.ndiag * ne)
            for d in 0..<s.ndiag {
                for j in 0..<ne {
                    let src = min(max(j - npix, 0), nw - 1)
                    eres[d * ne + j] = s.resolution[d * nw + src]
                }
            }
            let m0 = Interpolation.resampleFlux(xout: ext, x: stdWave, flux: stdFlux)
            let m1 = ResolutionData.apply(diagonals: eres, ndiag: s.ndiag, to: m0)
            var model = Interpolation.resampleFlux(xout: lw, x: ext, flux: m1)
            let dn = smooth(data)
            for j in 0..<nstep { data[j] /= (dn[j] == 0 ? 1 : dn[j]); ivar[j] *= dn[j] * dn[j] }
            let mn = smooth(model)
            for j in 0..<nstep { model[j] /= (mn[j] == 0 ? 1 : mn[j]); if mn[j] == 0 { ivar[j] = 0 } }
            // pixels that count
            var idx: [Int] = []
            for j in margin..<(nstep - margin) where ivar[j] > 0 { idx.append(j) }
            data.withUnsafeBufferPointer { pd in
                ivar.withUnsafeBufferPointer { pi in
                    model.withUnsafeBufferPointer { pm in
                        for i in -margin...margin {
                            var c = 0.0
                            for j in idx { let r = pd[j] - pm[j + i]; c += pi[j] * r * r }
                            chi2[i + margin] += c
                        }
                    }
                }
            }
        }
        var best = 0
        for i in 1..<chi2.count where chi2[i] < chi2[best] { best = i }
        var shift = Double(best - margin)
        if refine && best > 0 && best < chi2.count - 1 {
            let a = chi2[best - 1], b = chi2[best], c = chi2[best + 1]
            let den = a - 2 * b + c
            if den > 0 { shift += 0.5 * (a - c) / den }
        }
        return pow(10, -shift * lstep) - 1
    }

    // MARK: parameter-grid interpolation

    /// Piecewise-linear weights of the cube nodes for a position in [-1, 1]^3 (desispec _compute_coef).
    static func cubeCoefficients(_ coord: [Double], _ nodes: [[Int]]) -> [Double] {
        var coef = [Double](repeating: 1, count: nodes.count)
        for s in 0..<nodes.count {
            for a in 0..<coord.count {
                let dist = abs(Double(nodes[s][a]) - coord[a])
                if dist > 1 { coef[s] = 0; break }
                coef[s] *= (1 - dist)
            }
        }
        let norm = coef.reduce(0, +)
        if norm <= 0 { return [Double](repeating: 0, count: nodes.count) }
        return coef.map { $0 / norm }
    }

    /// Interpolation among the templates around the best one on the (teff, logg, feh) grid, never extrapolating
    /// (desispec interpolate_on_parameter_grid). `templates` holds normalised template fluxes [ntemplate][ndata].
    public static func interpolateOnParameterGrid(dataFlux: [Double], dataIvar: [Double], templates: [[Double]],
                                                  teff: [Double], logg: [Double], feh: [Double],
                                                  templateChi2: [Double]) -> (coefficients: [Double], chi2: Double) {
        let nt = templates.count
        var bestID = 0
        for t in 1..<nt where templateChi2[t] < templateChi2[bestID] { bestID = t }
        let param = [teff, logg, feh]
        let uparam = param.map { Array(Set($0)).sorted() }
        var centre = [Int](repeating: 0, count: 3)
        for a in 0..<3 { centre[a] = uparam[a].firstIndex(of: param[a][bestID])! }
        var nodeIDs: [Int] = [], nodeCoords: [[Int]] = []
        for j0 in -1...1 { for j1 in -1...1 { for j2 in -1...1 {
            let g = [centre[0] + j0, centre[1] + j1, centre[2] + j2]
            var inGrid = true
            for a in 0..<3 where g[a] < 0 || g[a] >= uparam[a].count { inGrid = false }
            if !inGrid { continue }
            if let t = (0..<nt).first(where: { teff[$0] == uparam[0][g[0]] && logg[$0] == uparam[1][g[1]] && feh[$0] == uparam[2][g[2]] }) {
                nodeIDs.append(t); nodeCoords.append([j0, j1, j2])
            }
        } } }
        let n = nodeIDs.count
        var hb = [Double](repeating: 0, count: n)
        var ha = [Double](repeating: 0, count: n * n)
        let nd = dataFlux.count
        for t in 0..<n {
            let ft = templates[nodeIDs[t]]
            var s = 0.0
            for j in 0..<nd { s += dataIvar[j] * dataFlux[j] * ft[j] }
            hb[t] = s
            for t2 in 0...t {
                let f2 = templates[nodeIDs[t2]]
                var s2 = 0.0
                for j in 0..<nd { s2 += dataIvar[j] * ft[j] * f2[j] }
                ha[t * n + t2] = s2; ha[t2 * n + t] = s2
            }
        }
        var chi0 = 0.0
        for j in 0..<nd { chi0 += dataIvar[j] * dataFlux[j] * dataFlux[j] }
        func chi2Of(_ c: [Double]) -> Double {
            var q = 0.0, l = 0.0
            for i in 0..<n { l += c[i] * hb[i]; var r = 0.0; for k in 0..<n { r += ha[i * n + k] * c[k] }; q += c[i] * r }
            return chi0 - 2 * l + q
        }
        var coord = [0.0, 0.0, 0.0]
        var chi2 = chi2Of(cubeCoefficients(coord, nodeCoords))
        // scan one axis at a time on 41 points, iterate
        let xx = (0..<41).map { -1 + 0.05 * Double($0) }
        for _ in 0..<50 {
            let prev = coord
            for a in 0..<3 {
                var xc = coord
                var bestX = coord[a], bestC = Double.greatestFiniteMagnitude
                for x in xx {
                    xc[a] = x
                    let c = cubeCoefficients(xc, nodeCoords)
                    let v = c.reduce(0, +) == 0 ? 1e20 : chi2Of(c)
                    if v < bestC { bestC = v; bestX = x }
                }
                coord[a] = bestX; chi2 = bestC
            }
            if zip(coord, prev).map({ abs($0 - $1) }).max()! < 0.001 { break }
        }
        // exact best fit per axis by a Newton step on the quadratic
        for _ in 0..<50 {
            let prev = coord
            for a in 0..<3 {
                if coord[a] == -1 || coord[a] == 1 { continue }
                var xc = coord
                let cm = cubeCoefficients(xc, nodeCoords)
                let eps = 0.001
                xc[a] += eps
                let cp = cubeCoefficients(xc, nodeCoords)
                let dc = zip(cp, cm).map { ($0 - $1) / eps }
                var b = 0.0, aa = 0.0
                for i in 0..<n {
                    var hcm = 0.0, hdc = 0.0
                    for k in 0..<n { hcm += ha[i * n + k] * cm[k]; hdc += ha[i * n + k] * dc[k] }
                    b += dc[i] * hb[i] - dc[i] * hcm
                    aa += dc[i] * hdc
                }
                if aa > 0 {
                    var tc = coord
                    tc[a] += b / aa
                    if tc[a] < -1 || tc[a] > 1 { continue }
                    let v = chi2Of(cubeCoefficients(tc, nodeCoords))
                    if v < chi2 { coord = tc; chi2 = v }
                }
            }
            if zip(coord, prev).map({ abs($0 - $1) }).max()! < 0.001 { break }
        }
        let coef = cubeCoefficients(coord, nodeCoords)
        chi2 = chi2Of(coef)
        var out = [Double](repeating: 0, count: nt)
        for (i, t) in nodeIDs.enumerated() { out[t] = coef[i] }
        return (out, chi2)
    }

    // MARK: template match

    /// Best linear combination of templates for one star across cameras, with broadband throughput factored out
    /// by median-filter normalisation (desispec match_templates).
    public static func matchTemplates(_ input: [CameraSpectrum], templates: StellarTemplates,
                                      zMax: Double = 0.008, zRes: Double = 2e-5, templateError: Double = 0.1) throws -> TemplateMatch {
        guard templates.count > 0 else { throw DESIError.invalidArgument("no stellar templates to match") }
        var spectra = input.sorted { $0.camera < $1.camera }
        // continuum, masks, template error
        var continuum: [[Double]] = []
        for c in 0..<spectra.count {
            let s = spectra[c]
            let cont = smooth(s.flux)
            continuum.append(cont)
            var iv = s.ivar
            for j in 0..<iv.count {
                let w = s.wave[j]
                if iv[j] > 0 && !(s.flux[j] < cont[j] + 3 / iv[j].squareRoot()) { iv[j] = 0 }   // cosmics
                if w > 8270 { iv[j] = 0 }
                for l in skyLines where w >= l - 6 && w <= l + 6 { iv[j] = 0 }
                for (lo, hi) in telluricBands where w >= lo && w <= hi { iv[j] = 0 }
                if templateError > 0 && iv[j] > 0 {
                    let e = templateError * cont[j]
                    iv[j] = 1 / (1 / iv[j] + e * e)
                }
            }
            spectra[c].ivar = iv
        }
        // normalised data, cameras concatenated
        var dataFlux: [Double] = [], dataIvar: [Double] = [], dataCont: [Double] = [], camRange: [Range<Int>] = []
        for (c, s) in spectra.enumerated() {
            let start = dataFlux.count
            for j in 0..<s.wave.count {
                let cn = continuum[c][j]
                dataFlux.append(s.flux[j] / (cn == 0 ? 1 : cn))
                dataCont.append(cn)
                dataIvar.append(s.ivar[j] * cn * cn)
            }
            camRange.append(start..<dataFlux.count)
        }
        let ndata = dataIvar.filter { $0 > 0 }.count
        guard ndata > 0 else { throw DESIError.failed("star has no valid pixel (ivar = 0 everywhere after masking)") }

        // redshift on the template closest to Teff 6000, logg 4, [Fe/H] -1.5, with ISM lines masked
        var canonical = 0, bestD = Double.greatestFiniteMagnitude
        for t in 0..<templates.count {
            let d = pow(templates.teff[t] - 6000, 2) + pow(templates.logg[t] - 4, 2) + pow(templates.feh[t] + 1.5, 2)
            if d < bestD { bestD = d; canonical = t }
        }
        var zspectra = spectra
        for c in 0..<zspectra.count {
            for j in 0..<zspectra[c].wave.count {
                let w = zspectra[c].wave[j]
                for l in ismLines where w >= l - 6 && w <= l + 6 { zspectra[c].ivar[j] = 0 }
            }
        }
        let z = redshiftFit(zspectra, stdWave: templates.wave, stdFlux: templates.spectrum(canonical), zMax: zMax, zRes: zRes)

        // templates: redshift, resample, convolve, normalise
        let shifted = templates.wave.map { $0 * (1 + z) }
        let nt = templates.count
        var tflux = [[Double]](repeating: [], count: nt)
        var tnorm = [[Double]](repeating: [], count: nt)
        for t in 0..<nt {
            let sf = templates.spectrum(t)
            var f: [Double] = [], nrm: [Double] = []
            for s in spectra {
                let r1 = Interpolation.resampleFlux(xout: s.wave, x: shifted, flux: sf)
                let r2 = ResolutionData.apply(diagonals: s.resolution, ndiag: s.ndiag, to: r1)
                let no = smooth(r2)
                for j in 0..<r2.count { f.append(r2[j] / (no[j] == 0 ? 1 : no[j])) }
                nrm.append(contentsOf: no)
            }
            tflux[t] = f; tnorm[t] = nrm
        }
        func chi2s() -> [Double] {
            tflux.map { tf in
                var c = 0.0
                for j in 0..<dataFlux.count { let r = dataFlux[j] - tf[j]; c += dataIvar[j] * r * r }
                return c
            }
        }
        var (coef, _) = interpolateOnParameterGrid(dataFlux: dataFlux, dataIvar: dataIvar, templates: tflux,
                                                   teff: templates.teff, logg: templates.logg, feh: templates.feh,
                                                   templateChi2: chi2s())
        // the median-filter normalisation leaves an imprint of the throughput: calibrate the templates with the
        // first fit and redo the match
        for t in 0..<nt { for j in 0..<tflux[t].count { tflux[t][j] *= tnorm[t][j] } }
        var model = [Double](repeating: 0, count: dataFlux.count)
        for t in 0..<nt where coef[t] > 0 { for j in 0..<model.count { model[j] += coef[t] * tflux[t][j] } }
        for r in camRange {
            let calib = r.map { j in dataFlux[j] * dataCont[j] / (model[j] == 0 ? 1 : model[j]) }
            let sc = Smoothing.medianFilter(calib, size: 400, boundary: .constant(0)).map { max($0, 0) }
            for t in 0..<nt {
                var seg = [Double](repeating: 0, count: r.count)
                for (k, j) in r.enumerated() { tflux[t][j] *= sc[k]; seg[k] = tflux[t][j] }
                let no = smooth(seg)
                for (k, j) in r.enumerated() { tflux[t][j] /= (no[k] == 0 ? 1 : no[k]) }
            }
        }
        let result = interpolateOnParameterGrid(dataFlux: dataFlux, dataIvar: dataIvar, templates: tflux,
                                                teff: templates.teff, logg: templates.logg, feh: templates.feh,
                                                templateChi2: chi2s())
        coef = result.coefficients
        return TemplateMatch(coefficients: coef, redshift: z, chi2dof: result.chi2 / Double(ndata))
    }
}
