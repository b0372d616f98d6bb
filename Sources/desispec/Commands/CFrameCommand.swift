import ArgumentParser
import DESICore
import FITS
import Foundation
import QA

/// `desispec cframe`: apply fiber flat, sky subtraction and flux calibration to a frame (desi_process_exposure).
struct CFrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cframe",
        abstract: "Apply a fiber flat, subtract the sky and flux-calibrate a frame (sframe without --calib, cframe with it).",
        discussion: """
        Example: desispec cframe -i frame-r0-00000003.fits --fiberflat fiberflatnight-r0-20250101.fits \\
                   --sky sky-r0-00000003.fits --calib fluxcalib-r0-00000003.fits -o cframe-r0-00000003.fits
        """
    )

    @Option(name: [.short, .customLong("infile")], help: "Frame file.") var infile: String
    @Option(name: .long, help: "Fiber flat.") var fiberflat: String?
    @Option(name: .long, help: "Sky model.") var sky: String?
    @Option(name: .long, help: "Flux calibration.") var calib: String?
    @Option(name: [.short, .customLong("outfile")], help: "Output frame.") var outfile: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runStep(keepingFreedArraysInHeap: true) {
            let log = global.makeLogger("cframe")
            // the resolution is not changed (as desispec's procexp): its stored bytes are copied to the output
            let resolution = try Frame.storedResolution(infile)
            var frame = try Frame.readSkySubtracted(infile, fiberflat: fiberflat, sky: sky, skipResolution: resolution != nil)
            if let resolution { try frame.checkStoredResolution(resolution) }
            var fallback = frame.header.bool("FCFALLBK") ?? false
            if let calib {
                let c = try FluxCalibration.read(calib)
                do { try applyFluxCalibration(&frame, c) } catch { throw DESIError.mismatch("\(infile) and \(calib): \(error)") }
                fallback = fallback || (c.header.bool("FCFALLBK") ?? false)
                frame.appendScores(suffix: "CALIB")
            }
            if sky != nil || calib != nil { gradeSkySubtracted(&frame, fallbackCalibration: fallback) }
            var inputs = ["-i \(infile)"]
            if let fiberflat { inputs.append("--fiberflat \(fiberflat)") }
            if let sky { inputs.append("--sky \(sky)") }
            if let calib { inputs.append("--calib \(calib)") }
            frame.header.addHistory(DESIProvenance.line(command: "cframe", arguments: inputs))
            try frame.write(to: outfile, storedResolution: resolution)
            log.info("wrote \(outfile)")
        }
    }

    /// The quality grades of the sky-subtracted (calibrated) spectra, added to the frame's: negative flux, sky
    /// residuals against neighbouring sky fibers, a fallback calibration, fibers in a feature of the frame diagnosis.
    func gradeSkySubtracted(_ frame: inout Frame, fallbackCalibration: Bool) {
        let diagnosed = Set(FrameDiagnosis.analyze(frame).features.flatMap(\.fibers))
        frame.addQuality(QualityGrading.skySubtracted(frame, fallbackCalibration: fallbackCalibration, diagnosedFibers: diagnosed))
    }
}
