import DESICore
import FITS
import Foundation
import TestSupport

/// Sky-subtracted frames made in memory: white noise of known ivar, faint object continua, and optional defects.
enum SyntheticFrames {
    /// `defect(fiberIndex, wavelength)` adds to the flux (e.g. a broad dip in a group of fibers).
    static func sframe(nspec: Int = 150, nwave: Int = 1000, wave0: Double = 5760, dw: Double = 0.8, sigma: Double = 1.0,
                       seed: UInt64 = 1, defect: (Int, Double) -> Double = { _, _ in 0 }) -> Frame {
        var rng = TestRandom(seed: seed)
        let wave = (0..<nwave).map { wave0 + dw * Double($0) }
        var flux = [Float](repeating: 0, count: nspec * nwave)
        let ivar = [Float](repeating: Float(1 / (sigma * sigma)), count: nspec * nwave)
        var objtype = [String](), fx = [Double](), fy = [Double]()
        for f in 0..<nspec {
            let isSky = f % 10 == 0
            objtype.append(isSky ? "SKY" : "TGT")
            // Fibers of one 50-block sit together on the focal plane (a petal wedge), as on DESI.
            let block = Double(f / 50), inBlock = Double(f % 50)
            fx.append(100 + 60 * block + 0.8 * inBlock)
            fy.append(-50 + 2 * inBlock + 10 * block)
            let level = isSky ? 0 : 0.5 * rng.gaussian().magnitude
            let slope = isSky ? 0 : 0.2 * rng.gaussian()
            for j in 0..<nwave {
                let t = Double(j) / Double(nwave) - 0.5
                flux[f * nwave + j] = Float(level * (1 + slope * t) + sigma * rng.gaussian() + defect(f, wave[j]))
            }
        }
        let table = FITSTable(columns: [
            FITSColumn("FIBER", .int32((0..<nspec).map(Int32.init))),
            FITSColumn("OBJTYPE", .string(objtype)),
            FITSColumn("FIBER_X", .double(fx)),
            FITSColumn("FIBER_Y", .double(fy)),
        ])
        var header = FITSHeader()
        header.set("CAMERA", "r0")
        return Frame(wave: wave, flux: flux, ivar: ivar, mask: [UInt32](repeating: 0, count: nspec * nwave),
                     fibermap: Fibermap(table: table), header: header)
    }
}
