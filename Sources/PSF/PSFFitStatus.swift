import DESICore
import FITS
import Foundation

/// Per-fiber outcome of the PSF fit, written as the STATUS parameter of the PSF table (specex writes STATUS, 0 for
/// a fitted fiber; desispec's merge_psf keeps only fibers of STATUS 0 from a fit).
public enum PSFFiberStatus: Int, Sendable {
    /// Fitted on its own lines (at least one usable line group).
    case fitted = 0
    /// No usable line of its own (broken or dark fiber, every line masked or saturated): the bundle's smooth
    /// solution (the bundle fit evaluated at the fiber, without a per-fiber offset).
    case bundleSolution = 1
    /// Its bundle had no usable lines (or the per-fiber fit failed): the corrections interpolated from the nearest
    /// fitted fibers.
    case neighbours = 2
}

extension PSFFitResult {
    /// STATUS of every fiber (PSFFiberStatus).
    public var fiberStatus: [PSFFiberStatus] {
        (0..<fiberFitted.count).map { f in
            !fiberFitted[f] ? .neighbours : (linesPerFiber[f] == 0 ? .bundleSolution : .fitted)
        }
    }

    /// Lines of `lines` inside the PSF's wavelength range measured in no fiber on the last cycle (a lamp off, lines
    /// outside the CCD, lines too faint or always masked).
    public func linesNotFound(_ lines: [ArcLine]) -> [Double] {
        let seen = Set(measurements.flatMap(\.wavelengths))
        return lines.map(\.wavelength).filter { $0 > psf.wavemin && $0 < psf.wavemax && !seen.contains($0) }
    }
}

extension GaussHermitePSF {
    /// This PSF with the STATUS parameter set to `status` for each fiber (added, with the Legendre degree of the
    /// other parameters and LEGDEGX = LEGDEGW = 0, when the PSF has none).
    public func withFiberStatus(_ status: [PSFFiberStatus]) -> GaussHermitePSF {
        precondition(status.count == nspec)
        var p = self
        let ncoef = parameters.first?.traces.ncoef ?? 1
        var values = [Double](repeating: 0, count: nspec * ncoef)
        for f in 0..<nspec { values[f * ncoef] = Double(status[f].rawValue) }
        let traces = TraceSet(coefficients: values, ntrace: nspec, ncoef: ncoef, domainMin: wavemin, domainMax: wavemax)
        if let k = parameters.firstIndex(where: { $0.name == "STATUS" }) {
            p.parameters[k].traces = TraceSet(coefficients: values, ntrace: nspec, ncoef: ncoef,
                                              domainMin: parameters[k].traces.domainMin, domainMax: parameters[k].traces.domainMax)
        } else {
            p.parameters.append(PSFParameter(name: "STATUS", traces: traces, legDegX: 0, legDegW: 0))
            p.paramIndex["STATUS"] = p.parameters.count - 1
        }
        return p
    }

    /// STATUS of each fiber (0 when the PSF has no STATUS parameter).
    public var fiberStatusValues: [Int] {
        guard let t = parameters.first(where: { $0.name == "STATUS" })?.traces else { return [Int](repeating: 0, count: nspec) }
        return (0..<nspec).map { Int(t.coefficients[$0 * t.ncoef].rounded()) }
    }
}
