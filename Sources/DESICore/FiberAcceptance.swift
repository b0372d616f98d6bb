import Foundation

/// The seeing disk as a circular Moffat profile on the sky, I(r) = (beta - 1) / (pi alpha^2) (1 + r^2/alpha^2)^-beta,
/// normalised to 1, with FWHM = 2 alpha sqrt(2^(1/beta) - 1). beta = 3.5 is the atmospheric Moffat index of specsim,
/// which computed desimodel's fiber-acceptance table (desimodel.fastfiberacceptance, galsim-fiber-acceptance.fits).
public struct MoffatProfile: Sendable {
    public let alpha: Double
    public let beta: Double

    public init(fwhm: Double, beta: Double = 3.5) {
        precondition(fwhm > 0 && beta > 1, "Moffat profile needs fwhm > 0 and beta > 1")
        self.beta = beta
        alpha = fwhm / (2 * (pow(2, 1 / beta) - 1).squareRoot())
    }

    public var fwhm: Double { 2 * alpha * (pow(2, 1 / beta) - 1).squareRoot() }

    /// Surface density at radius r (per unit area).
    public func density(_ r: Double) -> Double {
        (beta - 1) / (Double.pi * alpha * alpha) * pow(1 + r * r / (alpha * alpha), -beta)
    }

    /// The fraction of the light beyond radius r: (1 + r^2/alpha^2)^(1 - beta) (closed form of the integral of I).
    public func outsideFraction(_ r: Double) -> Double { pow(1 + r * r / (alpha * alpha), 1 - beta) }

    /// The fraction of the light within radius r of the centre.
    public func enclosedFraction(_ r: Double) -> Double { 1 - outsideFraction(r) }

    /// The fraction of the light that falls in an elliptical aperture with semi-axes `semiAxisX`, `semiAxisY` along x
    /// and y, whose centre is at (`offsetX`, `offsetY`) from the profile's centre.
    ///
    /// Along each ray from the profile's centre the radial integral has the closed form above, so the fraction is
    /// (1/2pi) times the integral over the ray angle of [outside(R_in) - outside(R_out)], R_in, R_out where the ray
    /// enters and leaves the ellipse (R_in = 0 when the centre is inside). A centre inside gives a smooth periodic
    /// integrand (the trapezoid rule converges geometrically); a centre outside has square-root ends at the tangent
    /// rays, integrated between them with the substitution phi = mid + half sin(t) that removes them.
    public func apertureFraction(semiAxisX a: Double, semiAxisY b: Double, offsetX: Double = 0, offsetY: Double = 0,
                                 angles n: Int = 256) -> Double {
        precondition(a > 0 && b > 0, "aperture semi-axes must be positive")
        // ellipse centred at the origin, profile centre at p
        let px = -offsetX, py = -offsetY
        let c = px * px / (a * a) + py * py / (b * b) - 1
        func crossing(_ phi: Double) -> (Double, Double)? {
            let u = cos(phi), v = sin(phi)
            let qa = u * u / (a * a) + v * v / (b * b)
            let qb = 2 * (px * u / (a * a) + py * v / (b * b))
            let disc = qb * qb - 4 * qa * c
            if disc <= 0 { return nil }
            let s = disc.squareRoot()
            let r1 = (-qb - s) / (2 * qa), r2 = (-qb + s) / (2 * qa)
            if r2 <= 0 { return nil }
            return (max(r1, 0), r2)
        }
        func ray(_ phi: Double) -> Double {
            guard let (r1, r2) = crossing(phi) else { return 0 }
            return (r1 > 0 ? outsideFraction(r1) : 1) - outsideFraction(r2)
        }
        if c < 0 {
            var sum = 0.0
            for k in 0..<n { sum += ray(2 * Double.pi * Double(k) / Double(n)) }
            return sum / Double(n)
        }
        // centre outside: the rays that meet the ellipse lie between the two tangent directions. In coordinates
        // scaled by the axes the ellipse is the unit circle, seen from q = (px/a, py/b) under half-angle asin(1/|q|);
        // the tangent directions map back through the (monotonic) scaling.
        let qx = px / a, qy = py / b
        let qn = (qx * qx + qy * qy).squareRoot()
        let toCentre = atan2(-qy, -qx), half = asin(min(1, 1 / qn))
        func unscaled(_ t: Double) -> Double { atan2(b * sin(t), a * cos(t)) }
        let lo = unscaled(toCentre - half)
        var hi = unscaled(toCentre + half)
        while hi < lo { hi += 2 * Double.pi }
        let mid = 0.5 * (lo + hi), w = 0.5 * (hi - lo)
        // phi = mid + w sin(t), t in (-pi/2, pi/2): dphi = w cos(t) dt; midpoint rule in t
        var sum = 0.0
        for k in 0..<n {
            let t = -Double.pi / 2 + Double.pi * (Double(k) + 0.5) / Double(n)
            sum += ray(mid + w * sin(t)) * w * cos(t)
        }
        return sum * (Double.pi / Double(n)) / (2 * Double.pi)
    }
}

/// DESI's plate scale versus focal-plane radius, meridional (radial) and sagittal (azimuthal) [um/arcsec], from the
/// Echo 22 corrector design (DESI-0329 v18 figure 7; desimodel's data/focalplane/platescale.txt columns MPS and SPS,
/// read by desimodel.io.load_platescale). desimodel's data files are not installed here: the nodes below are that
/// table's rows every 20 mm (as published in desimeter's tan2fp/data/Echo22Platescale.txt, the same design table),
/// interpolated linearly in radius^2 as desispec.fiberfluxcorr interpolates the 1 mm table; the 20 mm sampling
/// reproduces the table's intermediate rows to better than 2e-4 (DESICoreTests.FiberAcceptanceTests).
public enum DESIPlateScale {
    static let nodeSpacing = 20.0
    static let radial: [Double] = [
        67.50706676, 67.53014385, 67.59886242, 67.71311786, 67.87275968, 68.07763656, 68.3274759, 68.62191274,
        68.95847579, 69.34335225, 69.76982711, 70.2387251, 70.75031595, 71.30442789, 71.90026492, 72.53705923,
        73.21489519, 73.93278909, 74.69559116, 75.48435367, 76.3293628, 77.14020066,
    ]
    static let azimuthal: [Double] = [
        67.50706676, 67.51463923, 67.53735248, 67.57515261, 67.62736449, 67.69550783, 67.77832272, 67.87546945,
        67.98708514, 68.11291087, 68.25266384, 68.4062584, 68.57341358, 68.75376642, 68.94752907, 69.15313261,
        69.3722603, 69.60202659, 69.844863, 70.10213452, 70.36736311, 70.64437545,
    ]

    /// (radial, azimuthal) plate scale [um/arcsec] at focal-plane radius r [mm]; constant beyond the last node (420 mm)
    /// as numpy.interp.
    public static func scales(radius r: Double) -> (radial: Double, azimuthal: Double) {
        let r2 = r * r
        let n = radial.count
        let last = nodeSpacing * Double(n - 1)
        if !(r2 < last * last) { return (radial[n - 1], azimuthal[n - 1]) }
        var i = Int(r / nodeSpacing)
        i = min(max(i, 0), n - 2)
        var lo = nodeSpacing * Double(i), hi = lo + nodeSpacing
        if r2 < lo * lo { i -= 1; hi = lo; lo -= nodeSpacing }
        let f = (r2 - lo * lo) / (hi * hi - lo * lo)
        return (radial[i] + f * (radial[i + 1] - radial[i]), azimuthal[i] + f * (azimuthal[i + 1] - azimuthal[i]))
    }

    /// sqrt(radial x azimuthal) [um/arcsec], the isotropic scale of desispec.fiberfluxcorr.
    public static func isotropic(radius r: Double) -> Double {
        let s = scales(radius: r)
        return (s.radial * s.azimuthal).squareRoot()
    }
}
