import DESICore
import FITS
import Foundation

/// Exposure-time dependent dark model (desispec.preproc.read_dark with several HDUs): `exptime` x DARK (e-/s) plus a
/// per-row profile for the left and right halves of the CCD, read from the HDU "T<seconds>" of that exposure time or
/// interpolated linearly between the two nearest ones (the shortest or longest beyond the range; none at 0 s).
enum DarkModel {
    static func read(_ f: FITSFile, exptime: Double) throws -> (data: [Double], shape: [Int]) {
        let dark = try f.readImage("DARK", as: Double.self)
        guard dark.shape.count == 2 else { throw DESIError.badFile(path: f.path, problem: "DARK is not a 2-D image") }
        let ny = dark.shape[0], nx = dark.shape[1]
        var out = dark.data.map { $0 * exptime }
        var profiles: [(Double, String)] = []
        for name in f.hduNames() where name.hasPrefix("T") {
            if let t = Double(name.dropFirst()) { profiles.append((t, name)) }
        }
        profiles.sort { $0.0 < $1.0 }
        guard exptime > 0, let first = profiles.first, let last = profiles.last else { return (out, dark.shape) }
        func profile(_ name: String) throws -> (left: [Double], right: [Double]) {
            let p = try f.readImage(name, as: Double.self)
            guard p.shape.count == 2, p.shape[0] >= 2, p.shape[1] == ny else {
                throw DESIError.badFile(path: f.path, problem: "\(name) should hold 2 profiles of \(ny) rows, shape is \(p.shape)")
            }
            return (Array(p.data[0..<ny]), Array(p.data[ny..<(2 * ny)]))
        }
        var left: [Double], right: [Double]
        if let exact = profiles.first(where: { $0.0 == exptime }) { (left, right) = try profile(exact.1) }
        else if exptime < first.0 { (left, right) = try profile(first.1) }
        else if exptime > last.0 { (left, right) = try profile(last.1) }
        else {
            let i2 = profiles.firstIndex { $0.0 > exptime }!
            let (t1, n1) = profiles[i2 - 1], (t2, n2) = profiles[i2]
            let w = (exptime - t1) / (t2 - t1)
            let a = try profile(n1), b = try profile(n2)
            left = zip(a.left, b.left).map { $0 * (1 - w) + $1 * w }
            right = zip(a.right, b.right).map { $0 * (1 - w) + $1 * w }
        }
        for r in 0..<ny { for c in 0..<nx { out[r * nx + c] += c < nx / 2 ? left[r] : right[r] } }
        return (out, dark.shape)
    }
}
