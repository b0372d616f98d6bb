import DESICore
import Foundation
import LinearAlgebra

/// A model of the light scattered inside the spectrograph, to be subtracted from a preprocessed image
/// (`--scattered-light`, desispec.scatteredlight.model_scattered_light):
/// 1. the "direct" light: the pixels within +-2 columns of every trace (columns int(x) - 2 ... int(x) + 2, x the trace
///    centre on the row), unmasked and with ivar > 0;
/// 2. convolved by the camera's isotropic kernel (linear in the radius between nodes at 0, 5, 10, 20, 30, 40, 50, 100,
///    150, 200, 300 pixels, zero beyond; 601 x 601 pixels, normalised to a sum of 1), negative values set to 0;
/// 3. calibrated on the gaps between the blocks of 25 fibers (those of `BlockBackground`): per gap, the 7-pixel sums
///    int(x - 3) ... int(x + 3) of the image and of the model (0 on a row where a pixel has ivar <= 0), their medians
///    in bins of 100 rows, and a least-squares scale polynomial of degree 4 in the row with image = model x scale;
/// 4. the scale interpolated linearly along x between the gaps (0 outside the outermost gaps), times the model,
///    negative values set to 0; r2: the left half of the CCD is set to 0 (desispec does not trust its model there).
public enum ScatteredLight {
    /// The kernel's values at the radii `kernelNodes`, per camera: desispec's fit on arc lamp preproc-z0-00043688
    /// (desi_fit_scattered_light_kernel), as desispec.scatteredlight lists them.
    static let kernelNodes: [Double] = [0, 5, 10, 20, 30, 40, 50, 100, 150, 200, 300]
    static let kernelValues: [String: [Double]] = [
        "b0": [1.0000, 0.5112, 1.1413, 0.6052, 0.3623, 0.3427, 0.2278, 0.0841, 0.0352, 0.0431, 0.0000],
        "b1": [1.0000, 0.5314, 1.3406, 0.6678, 0.2432, 0.1110, 0.0370, 0.0202, 0.0254, 0.0284, 0.0000],
        "b2": [1.0000, 0.8836, 1.0667, 1.3196, 0.6735, 0.2275, 0.1053, 0.1047, 0.0521, 0.0229, 0.0000],
        "b3": [1.0000, 0.6919, 1.0962, 0.7958, 0.5117, 0.3656, 0.1786, 0.0596, 0.0365, 0.0188, 0.0000],
        "b4": [1.0000, 0.2730, 1.0030, 0.4884, 0.1662, 0.1428, 0.0620, 0.0190, 0.0353, 0.0266, 0.0000],
        "b5": [1.0000, 0.5347, 1.1061, 0.6693, 0.4260, 0.3748, 0.2058, 0.0450, 0.0230, 0.0192, 0.0000],
        "b6": [1.0000, 0.7443, 1.0783, 0.8645, 0.5807, 0.4181, 0.1993, 0.0539, 0.0317, 0.0186, 0.0000],
        "b7": [1.0000, 0.2317, 1.0386, 0.3037, 0.1214, 0.0642, 0.0330, 0.0143, 0.0328, 0.0236, 0.0000],
        "b8": [1.0000, 0.4321, 1.2369, 0.4828, 0.2282, 0.1275, 0.0506, 0.0209, 0.0423, 0.0342, 0.0000],
        "b9": [1.0000, 0.7482, 1.1079, 0.9641, 0.4154, 0.2291, 0.0711, 0.0611, 0.0352, 0.0175, 0.0000],
        "r0": [1.0000, 1.0634, 1.1767, 0.9618, 0.5883, 0.6366, 0.7888, 0.0621, 0.0000, 0.0000, 0.0000],
        "r1": [1.0000, 1.1019, 1.2270, 0.9856, 0.1717, 0.1558, 0.2142, 0.0000, 0.0000, 0.0000, 0.0000],
        "r2": [1.0000, 1.3130, 1.1483, 1.2472, 0.7480, 0.6697, 0.1524, 0.1562, 0.0877, 0.0292, 0.0000],
        "r3": [1.0000, 1.2498, 1.4043, 1.0969, 0.0860, 0.1838, 0.2942, 0.0723, 0.0682, 0.0000, 0.0000],
        "r4": [1.0000, 1.3722, 1.2573, 1.6649, 1.4019, 1.6920, 1.7492, 0.4951, 0.2254, 0.1171, 0.0000],
        "r5": [1.0000, 1.2123, 1.2441, 0.9732, 0.0766, 0.1110, 0.0164, 0.0174, 0.0159, 0.0000, 0.0000],
        "r6": [1.0000, 0.9967, 1.0351, 0.8091, 0.3163, 0.3794, 0.5617, 0.0000, 0.0000, 0.0000, 0.0000],
        "r7": [1.0000, 0.9842, 1.3198, 1.1438, 0.5061, 0.5434, 0.3175, 0.0574, 0.0156, 0.0045, 0.0000],
        "r8": [1.0000, 1.6838, 0.9991, 1.3340, 0.5631, 0.6579, 0.5212, 0.0942, 0.0000, 0.0000, 0.0000],
        "r9": [1.0000, 1.2776, 1.2246, 1.2775, 0.9397, 1.0657, 0.6500, 0.1212, 0.0663, 0.0303, 0.0000],
        "z0": [1.0000, 1.2187, 1.3041, 0.8125, 0.5324, 0.5660, 0.2830, 0.0637, 0.0915, 0.0045, 0.0000],
        "z1": [1.0000, 0.4882, 0.9247, 0.4095, 0.1006, 0.1259, 0.0635, 0.0022, 0.0028, 0.0000, 0.0000],
        "z2": [1.0000, 0.8952, 1.0721, 0.6368, 0.3757, 0.4195, 0.1516, 0.0792, 0.1059, 0.0000, 0.0000],
        "z3": [1.0000, 0.9608, 1.0748, 0.6764, 0.4919, 0.4806, 0.3256, 0.0496, 0.0401, 0.0000, 0.0000],
        "z4": [1.0000, 1.6451, 1.4325, 1.1856, 1.0914, 1.2408, 0.8704, 0.1198, 0.0826, 0.0037, 0.0000],
        "z5": [1.0000, 0.4804, 0.7011, 0.3784, 0.0633, 0.0954, 0.1605, 0.0275, 0.0182, 0.0000, 0.0000],
        "z6": [1.0000, 0.9678, 1.2216, 0.7484, 0.4634, 0.4786, 0.3571, 0.0569, 0.0382, 0.0000, 0.0000],
        "z7": [1.0000, 0.5858, 0.8845, 0.4246, 0.1513, 0.1859, 0.1553, 0.0152, 0.0197, 0.0000, 0.0000],
        "z8": [1.0000, 0.9139, 1.0364, 0.7501, 0.5155, 0.3914, 0.1731, 0.0134, 0.0307, 0.0000, 0.0000],
        "z9": [1.0000, 0.8205, 1.0013, 0.7501, 0.4873, 0.3066, 0.1290, 0.0576, 0.0158, 0.0000, 0.0000],
    ]

    /// The camera's kernel [601 * 601], normalised to a sum of 1.
    public static func kernel(camera: String) throws -> (values: [Double], halfWidth: Int) {
        guard let v = kernelValues[camera.lowercased()] else {
            throw DESIError.invalidArgument("scattered light: no kernel for camera '\(camera)' (b0-9, r0-9, z0-9)")
        }
        let hw = Int(kernelNodes.last!), n = 2 * hw + 1
        var k = [Double](repeating: 0, count: n * n)
        for y in 0..<n {
            for x in 0..<n {
                let dy = Double(y - hw), dx = Double(x - hw)
                k[y * n + x] = Interpolation.linear(x: kernelNodes, y: v, at: (dx * dx + dy * dy).squareRoot(), left: v[0], right: v.last!)
            }
        }
        let s = k.reduce(0, +)
        return (k.map { $0 / s }, hw)
    }

    /// The scattered-light model [ny * nx] (electrons per pixel) of an image and its traces.
    public static func model(pix: [Float], ivar: [Float], mask: [UInt32], ny: Int, nx: Int, traces g: FiberTraceGeometry,
                             camera: String) throws -> [Double] {
        guard g.nspec > 0 else { throw DESIError.invalidArgument("scattered light: the traces have no fiber") }
        guard g.ny == ny else { throw DESIError.mismatch("traces sampled on \(g.ny) rows, image has \(ny)") }
        let (kern, hw) = try kernel(camera: camera)
        let good = (0..<(ny * nx)).map { mask[$0] == 0 && ivar[$0] > 0 }
        // 1. direct light along the traces
        var direct = [Double](repeating: 0, count: ny * nx)
        for f in 0..<g.nspec {
            for y in 0..<ny {
                let xc = Int(g.x[f * ny + y])
                for x in max(0, xc - 2)..<min(nx, xc + 3) where good[y * nx + x] { direct[y * nx + x] = Double(pix[y * nx + x]) }
            }
        }
        // 2. convolution by the kernel
        let conv = SameModeConvolution2D(kernel: kern, kny: 2 * hw + 1, knx: 2 * hw + 1, imageNy: ny, imageNx: nx)
        var model = conv.apply(direct, ny: ny, nx: nx).map { max($0, 0) }
        // 3. calibration on the gaps between fiber blocks
        let nblock = (g.nspec - 1) / BlockBackground.fibersPerBlock + 2
        let nbins = ny / 100
        guard nbins >= 1 else { throw DESIError.invalidArgument("scattered light: \(ny) rows, at least 100 needed") }
        let edges = (0...nbins).map { Int(Double(ny) * Double($0) / Double(nbins)) }
        let binY = (0..<nbins).map { Double(edges[$0] + edges[$0 + 1]) / 2 }
        let modelNow = model
        let perGap = try parallelMap(nblock) { b -> (x: [Double], scale: [Double]) in
            let xb = (0..<ny).map { BlockBackground.gapX(b, $0, nblock: nblock, traces: g) }
            let meas = gapSums({ Double(pix[$0]) }, xb, good: good, nx: nx)
            let mod = gapSums({ modelNow[$0] }, xb, good: good, nx: nx)
            var fy: [Double] = [], fr: [Double] = [], fw: [Double] = []
            for k in 0..<nbins {
                let m = Statistics.median(Array(meas[edges[k]..<edges[k + 1]]))
                let s = Statistics.median(Array(mod[edges[k]..<edges[k + 1]]))
                // meas = mod x P(y) in least squares: (meas / mod) vs P(y) weighted by mod; bins with mod = 0 do not
                // constrain P
                guard s != 0 else { continue }
                fy.append(binY[k]); fr.append(m / s); fw.append(s)
            }
            guard fy.count >= 5 else { return (xb, [Double](repeating: 0, count: ny)) }
            let c = try Polynomial.fit(x: fy, y: fr, degree: 4, weights: fw)
            return (xb, (0..<ny).map { Polynomial.value(c, Double($0)) })
        }
        // 4. scale interpolated between the gaps, 0 outside
        model.withUnsafeMutableBufferPointer { mb in
            let m = SharedBuffer(mb)
            parallelFor(ny) { y in
                let nodes = perGap.map { ($0.x[y], $0.scale[y]) }.sorted { $0.0 < $1.0 }
                let xs = nodes.map(\.0), vs = nodes.map(\.1)
                for x in 0..<nx {
                    let xd = Double(x)
                    let s = xd < xs.first! || xd > xs.last! ? 0 : Interpolation.linear(x: xs, y: vs, at: xd)
                    m[y * nx + x] = max(m[y * nx + x] * s, 0)
                }
            }
        }
        if camera.lowercased() == "r2" {
            for y in 0..<ny { for x in 0..<(nx / 2) { model[y * nx + x] = 0 } }
        }
        return model
    }

    /// desispec.qproc.qextract.numba_extract as model_scattered_light calls it: per row the sum of the pixels
    /// int(x - 3) ... int(x + 3), 0 when one of them has ivar <= 0 (or is masked) or the window leaves the CCD.
    static func gapSums(_ img: (Int) -> Double, _ xb: [Double], good: [Bool], nx: Int) -> [Double] {
        xb.enumerated().map { y, x in
            let lo = Int(x - 3), hi = Int(x + 3) + 1
            guard lo >= 0, hi <= nx else { return 0 }
            var s = 0.0
            for i in lo..<hi {
                guard good[y * nx + i] else { return 0 }
                s += img(y * nx + i)
            }
            return s
        }
    }
}
