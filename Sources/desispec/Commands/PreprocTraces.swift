import DESICore
import Foundation
import PSF
import Preproc

/// The traces of a PSF file for the preprocessing's image model and block background (desispec reads them with
/// read_xytraceset): x and y of each fiber, the cross-dispersion sigma (GHSIGX / XSIG; 1 pixel without), the x
/// traces shifted by the median offset measured on the image when one is given.
enum PreprocTraces {
    static func provider(psfPath: String) throws -> @Sendable (Int, Image?) throws -> FiberTraceGeometry {
        // (the traces alone: a whole PSF would also invert its y traces, which the image model does not read)
        let traces = try PSFTraces.read(psfPath)
        let xTrace = traces.x, yTrace = traces.y
        let xsigAt = traces.xsigma.map { s -> @Sendable (Int, [Double]) -> [Double] in { f, w in s.eval(f, at: w) } }
        return { ny, image in
            var xt = xTrace
            if let image { xt = xTrace.shifted(by: medianTraceXShift(image: image, xTrace: xTrace, yTrace: yTrace)) }
            let x = xt, y = yTrace
            return FiberTraceGeometry.sample(nspec: x.ntrace, ny: ny, wavemin: y.domainMin, wavemax: y.domainMax,
                                             x: { x.eval($0, at: $1) }, y: { y.eval($0, at: $1) }, xsig: xsigAt)
        }
    }
}
