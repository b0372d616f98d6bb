import DESICore
import FITS
import Foundation

/// A dark frame for one exposure, in electrons: Double(rate) x exptime, plus, for desispec's exposure-time dependent
/// model, a per-row profile for the left and right halves of the frame. Evaluated pixel by pixel instead of stored.
struct DarkImage: @unchecked Sendable {
    /// Dark current per pixel (electrons per second), row-major [ny, nx].
    var rate: CalibrationPlane
    var ny: Int
    var nx: Int
    var exptime: Double
    /// Row profiles (electrons) added to the left (column < nx / 2) and right halves, or nil.
    var left: [Double]? = nil
    var right: [Double]? = nil

    @inline(__always)
    func value(row: Int, col: Int) -> Double {
        let v = rate[row * nx + col] * exptime
        guard let l = left, let r = right else { return v }
        return v + (col < nx / 2 ? l[row] : r[row])
    }

    /// Values of row `row`, columns cols.lowerBound ..< cols.lowerBound + out.count, times `scale` (the gain for a dark in
    /// the raw shape, else 1): the same numbers as `value(row:col:) * scale`, one row at a time.
    @inline(__always)
    func values(row: Int, from col: Int, scale: Double, into out: UnsafeMutableBufferPointer<Double>) {
        rate.values(from: row * nx + col, into: out)
        let e = exptime
        if let l = left, let r = right {
            for i in 0..<out.count { out[i] = (out[i] * e + (col + i < nx / 2 ? l[row] : r[row])) * scale }
        } else if scale == 1 {
            for i in 0..<out.count { out[i] = out[i] * e }
        } else {
            for i in 0..<out.count { out[i] = out[i] * e * scale }
        }
    }

    /// Whether every value is exactly 0 (then desispec does not apply the dark); stops at the first non-zero one.
    var isAllZero: Bool {
        for r in 0..<ny { for c in 0..<nx where value(row: r, col: c) != 0 { return false } }
        return true
    }
}

/// Exposure-time dependent dark model (desispec.preproc.read_dark with several HDUs): `exptime` x DARK (e-/s) plus a
/// per-row profile for the left and right halves of the CCD, read from the HDU "T<seconds>" of that exposure time or
/// interpolated linearly between the two nearest ones (the shortest or longest beyond the range; none at 0 s).
enum DarkModel {
    static func read(_ f: FITSFile, exptime: Double) throws -> DarkImage {
        try f.moveTo(name: "DARK")
        let (bitpix, shape) = try f.imageShape()
        guard shape.count == 2, shape[0] > 0, shape[1] > 0 else {
            throw DESIError.badFile(path: f.path, problem: "DARK is not a 2-D image")
        }
        let ny = shape[0], nx = shape[1]
        var out = DarkImage(rate: try CalibrationPlane.read(f, bitpix: bitpix, shape: shape).plane, ny: ny, nx: nx, exptime: exptime)
        var profiles: [(Double, String)] = []
        for name in f.hduNames() where name.hasPrefix("T") {
            if let t = Double(name.dropFirst()) { profiles.append((t, name)) }
        }
        profiles.sort { $0.0 < $1.0 }
        guard exptime > 0, let first = profiles.first, let last = profiles.last else { return out }
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
        out.left = left; out.right = right
        return out
    }
}
