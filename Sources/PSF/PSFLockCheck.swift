import DESICore
import Foundation
import LinearAlgebra

/// Typical scatter (pixels) of the line centres about the fitted traces above which the fit is taken as locked on
/// the wrong lines: a correct fit leaves a few hundredths of a pixel (the line fits' errors plus the shape's
/// centroid terms); lines matched with other lines of the lamps (a start farther off than the coarse scan looks)
/// scatter by pixels.
let lockedScatterLimit = 0.3

extension TraceWidthFit {
    /// The median over fibers with 3 lines or more of the larger of the x and y rms of their lines' centres about the
    /// fitted traces (pixels), and the number of such fibers.
    var medianLineScatter: (rms: Double, fibers: Int) {
        let f = (0..<corrections.nlines.count).filter { corrections.nlines[$0] >= 3 }
        guard !f.isEmpty else { return (0, 0) }
        return (Statistics.median(f.map { max(corrections.rmsX[$0], corrections.rmsY[$0]) }), f.count)
    }

    /// Throws when the lines of the first fit scatter about the traces as lines matched with the wrong lines do (the
    /// start, after the coarse scan's offset, is not on the image's traces), naming the offset the scan found.
    func checkLockedOnLines(scan: CoarseScanResult?) throws {
        let s = medianLineScatter
        guard s.fibers > 0, s.rms > lockedScatterLimit else { return }
        let found = scan.map { String(format: " after the coarse scan's offset (%+.2f, %+.2f) pixel", $0.dx, $0.dy) } ?? ""
        throw DESIError.failed(String(format: "the arc lines scatter by %.2f pixel (median rms over %d fibers, a correct fit "
            + "leaves < %.1f) about the traces fitted", s.rms, s.fibers, lockedScatterLimit)
            + found + ": the start is not on the image's traces (farther off than the coarse scan's limits, or another "
            + "spectrograph's PSF)")
    }
}
