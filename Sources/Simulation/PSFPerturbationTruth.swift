import DESICore
import FITS
import Foundation
import PSF

/// `desispec simulate --psf-wave-offset AMP,PERIOD --psf-width-scale AMP,PERIOD --psf-wave-shift SHIFT`: the exposure
/// is rendered with a `PerturbedPSF` (per-fiber wavelength offsets SHIFT + AMP sin(2 pi fiber / PERIOD) Angstrom and
/// row-width scales 1 + AMP sin(2 pi fiber / PERIOD)), while truth-psf-CAMERA.fits stays the unperturbed PSF the
/// reduction uses. SHIFT, common to every fiber, is a flexure of the spectrograph along the dispersion since the arcs:
/// what the absolute calibration of the trace shifts (`traceshift --sky`) must find.
public struct PSFPerturbationSpec: Sendable, Equatable {
    public var offsetAmplitude: Double
    public var offsetPeriod: Double
    public var scaleAmplitude: Double
    public var scalePeriod: Double
    /// Wavelength offset common to every fiber, Angstrom.
    public var commonOffset: Double

    public init(offsetAmplitude: Double = 0, offsetPeriod: Double = 40, scaleAmplitude: Double = 0, scalePeriod: Double = 50,
                commonOffset: Double = 0) {
        self.offsetAmplitude = offsetAmplitude; self.offsetPeriod = offsetPeriod
        self.scaleAmplitude = scaleAmplitude; self.scalePeriod = scalePeriod; self.commonOffset = commonOffset
    }

    /// Parses "AMP,PERIOD" (PERIOD in fibers, not 0).
    public static func pair(_ text: String, option: String) throws -> (Double, Double) {
        let v = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard v.count == 2, let a = v[0], let p = v[1], p != 0, a.isFinite, p.isFinite else {
            throw DESIError.invalidArgument("\(option) expects AMPLITUDE,PERIOD (period in fibers, not 0), got '\(text)'")
        }
        return (a, p)
    }

    public func perturb(_ base: any SpectralPSF) throws -> PerturbedPSF {
        try PerturbedPSF.smooth(base: base, offsetAmplitude: offsetAmplitude, offsetPeriod: offsetPeriod,
                                scaleAmplitude: scaleAmplitude, scalePeriod: scalePeriod, commonOffset: commonOffset)
    }
}

extension PerturbedPSF {
    /// The change of each fiber's LSF variance in Angstrom^2 at `wavelength`: (scale^2 - 1) times the base spot's
    /// row variance (less the 1/12 of pixel integration), converted with the base trace's dlambda/dy.
    public func lsfVarianceChange(fiber f: Int, wavelength: Double) -> Double {
        let s = base.spot(fiber: f, wavelength: wavelength)
        var total = 0.0, m1 = 0.0, m2 = 0.0
        for i in 0..<s.ny {
            let r = (0..<s.nx).reduce(0.0) { $0 + s.values[i * s.nx + $1] }
            total += r; m1 += r * Double(i); m2 += r * Double(i * i)
        }
        guard total > 0 else { return 0 }
        let rows = max(m2 / total - pow(m1 / total, 2) - 1.0 / 12, 0)
        let dyDw = (base.y(fiber: f, wavelength: wavelength + 0.5) - base.y(fiber: f, wavelength: wavelength - 0.5))
        guard dyDw != 0 else { return 0 }
        return (widthScale[f] * widthScale[f] - 1) * rows / (dyDw * dyDw)
    }

    /// Writes the injected per-fiber errors (truth-psf-perturbation-CAMERA.fits, table PSFPERTURB): FIBER,
    /// WAVEOFFSET [Angstrom] (light of lambda lands where the unperturbed PSF puts lambda + WAVEOFFSET, so an
    /// extraction with it sees lines at lambda + WAVEOFFSET), WIDTHSCALE (row widths of the spots), LSFVARDELTA
    /// [Angstrom^2] (the LSF variance change at REFWAVE). The first `nspec` fibers are written.
    public func writeTruth(path: String, camera: String, nspec: Int, spec: PSFPerturbationSpec, history: String) throws {
        let n = min(nspec, self.nspec)
        let refWave = 0.5 * (wavemin + wavemax)
        var h = FITSHeader()
        h.set("CAMERA", camera)
        h.set("REFWAVE", refWave, comment: "[Angstrom] wavelength of LSFVARDELTA")
        h.set("WOFFAMP", spec.offsetAmplitude, comment: "[Angstrom] amplitude of the wavelength offsets")
        h.set("WOFFPER", spec.offsetPeriod, comment: "[fibers] period of the wavelength offsets")
        h.set("WOFFCOMM", spec.commonOffset, comment: "[Angstrom] wavelength offset of every fiber (flexure)")
        h.set("WSCLAMP", spec.scaleAmplitude, comment: "amplitude of the width scales - 1")
        h.set("WSCLPER", spec.scalePeriod, comment: "[fibers] period of the width scales")
        let table = FITSTable(columns: [
            FITSColumn("FIBER", .int32((0..<n).map { Int32($0) })),
            FITSColumn("WAVEOFFSET", .double(Array(wavelengthOffset.prefix(n)))),
            FITSColumn("WIDTHSCALE", .double(Array(widthScale.prefix(n)))),
            FITSColumn("LSFVARDELTA", .double((0..<n).map { lsfVarianceChange(fiber: $0, wavelength: refWave) })),
        ], header: h)
        try FITSFile.writeAtomically(path) { f in
            var h0 = FITSHeader(); h0.addHistory(history)
            try f.writeEmptyHDU(header: h0)
            try f.writeTable(table, name: "PSFPERTURB")
        }
    }
}
