import Foundation

/// Probabilists' Hermite polynomials He_n and pixel-integrated Gauss-Hermite functions
/// (the basis of specex / specter GAUSS-HERMITE PSFs).
public enum Hermite {
    /// He_0(u) ... He_deg(u) into `out` (He_{n+1} = u He_n - n He_{n-1}).
    @inlinable
    public static func basis(_ u: Double, degree: Int, into out: UnsafeMutablePointer<Double>) {
        out[0] = 1
        if degree >= 1 { out[1] = u }
        if degree >= 2 {
            for n in 1..<degree { out[n + 1] = u * out[n] - Double(n) * out[n - 1] }
        }
    }

    /// He_n(u).
    public static func value(_ n: Int, _ u: Double) -> Double {
        if n < 0 { return 0 }
        var a = 1.0, b = u
        if n == 0 { return a }
        for k in 1..<n { let c = u * b - Double(k) * a; a = b; b = c }
        return b
    }

    /// Pixel-integrated Gauss-Hermite functions of orders 0 ... degree for `count` pixels centred on
    /// integer coordinates first, first+1, ... (specter.psf.gausshermite.pgh):
    ///   order 0: integral over the pixel of the unit Gaussian in u = (x - centre) / sigma,
    ///   order m > 0: [-He_{m-1}(u) exp(-u^2/2) / sqrt(2 pi)] between the pixel's edges (u units, as specter).
    /// Output row-major [degree + 1, count].
    public static func pixelIntegrated(first: Int, count: Int, centre: Double, sigma: Double, degree: Int,
                                       into out: UnsafeMutableBufferPointer<Double>) {
        precondition(out.count >= (degree + 1) * count)
        let nedge = count + 1
        let invSqrt2 = 1.0 / 2.0.squareRoot(), invSqrt2Pi = 1.0 / (2.0 * Double.pi).squareRoot()
        withUnsafeTemporaryAllocation(of: Double.self, capacity: nedge * (degree + 1)) { prim in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: max(degree, 1)) { he in
                for k in 0..<nedge {
                    let u = (Double(first + k) - centre - 0.5) / sigma
                    prim[k] = 0.5 * erf(u * invSqrt2)
                    if degree >= 1 {
                        Hermite.basis(u, degree: degree - 1, into: he.baseAddress!)
                        let g = exp(-0.5 * u * u) * invSqrt2Pi
                        for m in 1...degree { prim[m * nedge + k] = -he[m - 1] * g }
                    }
                }
                for m in 0...degree {
                    for k in 0..<count { out[m * count + k] = prim[m * nedge + k + 1] - prim[m * nedge + k] }
                }
            }
        }
    }
}
