import DESICore
import FITS
import Foundation

/// The QA of one camera's frame (desispec.qa.qa_frame.qaframe_from_frame): which metric families apply, their
/// values, the diagnosis of residual features, and the warnings, as one QA dictionary with keys CAMERA, EXPID,
/// NIGHT, FLAVOR, then FIBERFLAT / SKYSUB / DIAGNOSIS / FLUXCALIB / S2N where they apply, and WARNINGS.
public struct FrameQA: Sendable {
    public var qa: QAValue
    public var diagnosis: FrameDiagnosis?
    /// The sky-subtracted frame the SKYSUB metrics and the diagnosis used.
    public var sframe: Frame?
    public var warnings: [String]

    /// - Parameters:
    ///   - frame: the frame as given (any kind).
    ///   - fiberflat: the fiber flat made from this frame when it is a flat-lamp frame (FIBERFLAT metrics).
    ///   - sframe: its sky-subtracted version (the frame itself for sframe/cframe, frame / fiberflat - sky when the
    ///     caller had a sky model), nil when no sky subtraction is known.
    ///   - nrej: pixels rejected in the sky fit (sky file NREJ), when known.
    ///   - calib: the flux calibration of this frame, [nspec, nwave] on the frame's grid (FLUXCALIB metrics).
    ///   - ccdRow: CCD row of fiber index i at a wavelength (from the PSF traces), for the diagnosis.
    public static func compute(frame: Frame, kind: SpectralFileKind, fiberflat: FiberFlat? = nil, sframe: Frame? = nil,
                               nrej: Int? = nil, calib: FluxCalibration? = nil, ccdRow: ((Int, Double) -> Double)? = nil,
                               params: QAParameters = QAParameters(), diagnosisOptions: FrameDiagnosis.Options = .init(),
                               path: String = "frame") throws -> FrameQA {
        let h = frame.header
        let flavor = (h.string("FLAVOR") ?? h.string("OBSTYPE") ?? "science").trimmingCharacters(in: .whitespaces).lowercased()
        var items: [(String, QAValue)] = [
            ("CAMERA", .string(frame.camera?.name ?? h.string("CAMERA")?.trimmingCharacters(in: .whitespaces) ?? "")),
            ("EXPID", .int(h.int("EXPID") ?? 0)),
            ("NIGHT", .string(h["NIGHT"].map { v in v.intValue.map(String.init) ?? v.stringValue ?? "\(v)" } ?? "")),
            ("FLAVOR", .string(flavor)),
            ("KIND", .string(kind.rawValue)),
            ("NSPEC", .int(frame.nspec)),
            ("NWAVE", .int(frame.nwave)),
        ]
        if let t = h.double("EXPTIME") { items.append(("EXPTIME", .double(t))) }
        var warnings: [String] = []
        func collect(_ family: String, _ v: QAValue) {
            for w in v["WARNINGS"]?.list ?? [] { if let s = w.string { warnings.append("\(family): \(s)") } }
        }

        // FIBERFLAT: a flat-lamp frame and the fiber flat made from it (desispec.fiberflat.qa_fiberflat).
        if let ff = fiberflat {
            guard ff.nspec == frame.nspec, ff.nwave == frame.nwave else {
                throw DESIError.mismatch("\(path): fiber flat is [\(ff.nspec), \(ff.nwave)], frame is [\(frame.nspec), \(frame.nwave)]")
            }
            // The metrics of desispec work on the float32 values of the files.
            let v = FrameMetrics.fiberFlat(frameFlux: frame.flux, flat: ff.flat.map { Float($0) }, flatMask: ff.mask,
                                           meanSpectrum: ff.meanspec.map { Float($0) }, nspec: frame.nspec, nwave: frame.nwave,
                                           chi2pdf: ff.chi2pdf, params: params)
            items.append(("FIBERFLAT", v)); collect("FIBERFLAT", v)
        }

        // SKYSUB and DIAGNOSIS on the sky-subtracted frame.
        var diagnosis: FrameDiagnosis?
        if let s = sframe {
            guard let fm = s.fibermap ?? frame.fibermap else {
                throw DESIError.badFile(path: path, problem: "no FIBERMAP HDU: cannot tell the sky fibers")
            }
            let skyRows = fm.rows(objtype: "SKY")
            guard !skyRows.isEmpty else {
                let problem = "no sky fibers (no OBJTYPE == SKY in the FIBERMAP): cannot measure sky residuals"
                throw DESIError.badFile(path: path, problem: problem)
            }
            let v = FrameMetrics.skyResiduals(sframe: s, skyRows: skyRows, rejected: nrej, params: params)
            items.append(("SKYSUB", v)); collect("SKYSUB", v)
            let d = FrameDiagnosis.analyze(s, options: diagnosisOptions, ccdRow: ccdRow)
            items.append(("DIAGNOSIS", d.qaValue))
            for f in d.features { warnings.append("DIAGNOSIS: \(f.summary)") }
            diagnosis = d
        }

        // FLUXCALIB (desispec.fluxcalibration.qa_fluxcalib).
        if let c = calib {
            guard c.nspec == frame.nspec, c.nwave == frame.nwave else {
                throw DESIError.mismatch("\(path): flux calibration is [\(c.nspec), \(c.nwave)], frame is [\(frame.nspec), \(frame.nwave)]")
            }
            guard let exptime = h.double("EXPTIME"), exptime > 0 else {
                throw DESIError.badFile(path: path, problem: "no positive EXPTIME in the header: cannot compute the zero point")
            }
            let classes = frame.fibermap.map(FrameMetrics.targetClasses) ?? []
            let stdRows = classes.indices.filter { classes[$0] == "STD" }
            if stdRows.isEmpty {
                warnings.append("FLUXCALIB: no standard stars in the FIBERMAP (DESI_TARGET STD bits or OBJTYPE STD): metrics skipped")
            } else if let arm = frame.camera?.arm {
                let v = FrameMetrics.fluxCalibration(exptime: exptime, arm: arm, wave: frame.wave, calib: c.calib, calibIvar: c.ivar,
                                                     frameIvar: frame.ivar, stdRows: stdRows, fibers: frame.fibers, params: params)
                items.append(("FLUXCALIB", v)); collect("FLUXCALIB", v)
            } else {
                warnings.append("FLUXCALIB: no CAMERA keyword: the zero-point wavelength is unknown, metrics skipped")
            }
        }

        // S2N on calibrated or sky-subtracted spectra.
        if kind.isSkySubtracted {
            items.append(("S2N", FrameMetrics.signalToNoise(frame: frame)))
        }
        if let grades = QualityQA.frameSummary(frame) { items.append(("GRADES", grades)) }
        items.append(("WARNINGS", .list(warnings.map { .string($0) })))
        return FrameQA(qa: .dict(items), diagnosis: diagnosis, sframe: sframe, warnings: warnings)
    }
}
