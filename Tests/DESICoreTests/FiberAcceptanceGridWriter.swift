import DESICore
import FITS
import Foundation
import XCTest

/// Writes our fiber-acceptance values for scripts/compare_fiber_acceptance.py (desispec and desimodel's tabulated
/// values on the same inputs): only when DESISPEC_ACCEPTANCE_GRID (a JSON path) is set.
///
/// - `table`: the point-source and exponential-disk fractions of a round 107 um fiber at 71.4188 um/arcsec (the
///   plate scale of the galsim table in specsim's test data, data/test/test-galsim-fiber-acceptance.fits) for seeing
///   FWHM 1.0" and 1.1", offsets 0" and 0.2" and half-light radii 0.45" and 1.0", the table's grid nodes.
/// - `fibers`: a focal-plane grid (radius 0-410 mm, 8 angles; some fibers with positioning offsets, some exponential
///   disks) with FLAT_TO_PSF_FLUX and PSF_TO_FIBER_FLUX at seeing 1.0", 1.05" and 1.1".
/// - `platescale`: our plate-scale nodes (radius, radial, azimuthal), for a desimodel platescale.txt.
final class FiberAcceptanceGridWriter: XCTestCase {
    static let tableScale = 71.41879003363185
    static let seeings = [1.0, 1.05, 1.1]

    func testWriteAcceptanceGrid() throws {
        guard let path = ProcessInfo.processInfo.environment["DESISPEC_ACCEPTANCE_GRID"] else {
            throw XCTSkip("set DESISPEC_ACCEPTANCE_GRID to write the grid for scripts/compare_fiber_acceptance.py")
        }
        var table: [[String: Double]] = []
        for fwhm in [1.0, 1.1] {
            for offset in [0.0, 0.2] {
                var ap = FiberFluxCorrection.Aperture(diameterArcsec: FiberFluxCorrection.fiberDiameterMicrons / Self.tableScale)
                ap.offsetRadial = offset
                var row = ["fwhm": fwhm, "offset_arcsec": offset,
                           "point": FiberFluxCorrection.pointSourceFraction(ap, seeingFWHM: fwhm)]
                for hlr in [0.45, 1.0] {
                    row["disk_\(hlr)"] = FiberFluxCorrection.diskFraction(ap, seeingFWHM: fwhm, halfLightRadius: hlr)
                }
                table.append(row)
            }
        }

        var xs: [Double] = [], ys: [Double] = [], dxs: [Double] = [], dys: [Double] = []
        var morph: [String] = [], shape: [Double] = []
        for (k, r) in (Array(stride(from: 0.0, through: 400, by: 50)) + [410]).enumerated() {
            for a in 0..<8 {
                let t = Double(a) * Double.pi / 4 + 0.1
                xs.append(r * cos(t)); ys.append(r * sin(t))
                // every third fiber 10 um off target, along a rotating direction
                let off = (k * 8 + a) % 3 == 0 ? 0.010 : 0
                dxs.append(off * cos(2 * t)); dys.append(off * sin(2 * t))
                // every fourth fiber an exponential disk of 0.45" or 1.0" (the table's nodes)
                let disk = (k * 8 + a) % 4 == 1
                morph.append(disk ? "EXP" : "PSF"); shape.append(disk ? (k % 2 == 0 ? 0.45 : 1.0) : 0)
            }
        }
        let n = xs.count
        let fm = Fibermap(table: FITSTable(columns: [
            FITSColumn("FIBER", .int32((0..<n).map { Int32($0) })),
            FITSColumn("OBJTYPE", .string([String](repeating: "TGT", count: n)), stringWidth: 3),
            FITSColumn("FIBER_X", .double(xs)), FITSColumn("FIBER_Y", .double(ys)),
            FITSColumn("DELTA_X", .double(dxs)), FITSColumn("DELTA_Y", .double(dys)),
            FITSColumn("MORPHTYPE", .string(morph), stringWidth: 4), FITSColumn("SHAPE_R", .double(shape)),
        ]))
        var perSeeing: [[String: Any]] = []
        for s in Self.seeings {
            perSeeing.append(["seeing": s, "flat_to_psf": FiberFluxCorrection.flatToPSF(fm, seeingFWHM: s),
                              "psf_to_fiber": FiberFluxCorrection.psfToFiber(fm, seeingFWHM: s)])
        }
        let radii = Array(stride(from: 0.0, through: 420, by: 1))
        let out: [String: Any] = [
            "table_scale_um_per_arcsec": Self.tableScale, "table": table,
            "fibers": ["FIBER_X": xs, "FIBER_Y": ys, "DELTA_X": dxs, "DELTA_Y": dys, "MORPHTYPE": morph, "SHAPE_R": shape],
            "corrections": perSeeing,
            "platescale": ["radius": radii, "radial": radii.map { DESIPlateScale.scales(radius: $0).radial },
                           "azimuthal": radii.map { DESIPlateScale.scales(radius: $0).azimuthal }],
        ]
        let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        print("wrote \(path): \(table.count) table nodes, \(n) fibers x \(Self.seeings.count) seeings")
    }
}
