import DESICore
import Foundation
import LinearAlgebra

/// The median x offset of the traces on a preprocessed image, as desispec.image_model.compute_image_model fits it
/// before modelling the image: compute_dx_from_cross_dispersion_profiles (7-pixel window, degree 2, rows rebinned by
/// 4) for every fiber, then the median of all measured offsets (0 when none is measured). The centroid windows are
/// desispec's (centred on floor(x), see `CentroidWindow.desispec`), whose -0.01 pixel bias the image model inherits.
public func medianTraceXShift(image: Image, xTrace: TraceSet, yTrace: TraceSet) -> Double {
    let offsets = measureDx(image: image, xTrace: xTrace, yTrace: yTrace, fibers: Array(0..<xTrace.ntrace),
                            width: 7, deg: 2, rebin: 4, window: .desispec)
    guard !offsets.isEmpty else { return 0 }
    return Statistics.median(offsets.map(\.delta))
}
