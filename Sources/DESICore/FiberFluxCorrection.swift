import FITS
import Foundation
import LinearAlgebra

/// Fiber-acceptance corrections of the flux calibration (desispec.fiberfluxcorr): FLAT_TO_PSF_FLUX, which turns a
/// flat-fielded spectrum into the total flux of a point source, and PSF_TO_FIBER_FLUX, which turns the calibrated
/// (point-source) flux into the "fiber flux" of the Legacy Surveys (1.5" diameter fiber, 1" seeing).
///
/// The model: the seeing is a circular Moffat profile (beta 3.5, FWHM the exposure seeing) on the sky; the fiber,
/// 107 um in diameter, is an ellipse on the sky whose semi-axes are 53.5 um over the radial and the azimuthal plate
/// scale at the fiber's focal-plane radius (`DESIPlateScale`); the positioning offset (DELTA_X, DELTA_Y) [mm] is
/// projected on the radial and azimuthal directions and converted with the same scales. desispec instead looks up a
/// galsim table (desimodel.fastfiberacceptance: Moffat beta 3.5 plus the telescope blur, sigma = FWHM/2.35 times the
/// isotropic scale sqrt(radial x azimuthal)); desimodel's data files are not installed here, hence the analytic model.
/// Extended sources (MORPHTYPE other than PSF) are exponential disks of half-light radius SHAPE_R (at most 2",
/// as desispec) convolved with the seeing ("DISK" of fastfiberacceptance).
public enum FiberFluxCorrection {
    public static let fiberDiameterMicrons = 107.0
    public static let moffatBeta = 3.5
    /// Legacy Surveys' point-source fiber fraction for a 1.5" fiber in 1" seeing (the normalisation of
    /// desispec.fiberfluxcorr.psf_to_fiber_flux_correction).
    public static let legacyPointSourceFiberFraction = 0.789

    /// The aperture of one fiber on the sky: semi-axes [arcsec] along the radial and azimuthal directions and the
    /// source's offset from the fiber centre in the same frame [arcsec].
    public struct Aperture: Sendable {
        public var semiAxisRadial: Double, semiAxisAzimuthal: Double
        public var offsetRadial: Double, offsetAzimuthal: Double

        /// The fiber at focal-plane position (x, y) [mm] with positioning offset (dx, dy) [mm].
        public init(x: Double, y: Double, dx: Double = 0, dy: Double = 0) {
            let r = (x * x + y * y).squareRoot()
            let s = DESIPlateScale.scales(radius: r)
            let (ux, uy) = r > 0 ? (x / r, y / r) : (1.0, 0.0)
            let half = FiberFluxCorrection.fiberDiameterMicrons / 2
            semiAxisRadial = half / s.radial
            semiAxisAzimuthal = half / s.azimuthal
            offsetRadial = (dx * ux + dy * uy) * 1000 / s.radial
            offsetAzimuthal = (-dx * uy + dy * ux) * 1000 / s.azimuthal
        }

        /// A circular fiber of the given diameter [arcsec], centred on the source.
        public init(diameterArcsec d: Double) {
            semiAxisRadial = d / 2; semiAxisAzimuthal = d / 2; offsetRadial = 0; offsetAzimuthal = 0
        }
    }

    /// Fraction of a point source's light that enters the fiber in the given seeing FWHM [arcsec].
    public static func pointSourceFraction(_ ap: Aperture, seeingFWHM: Double) -> Double {
        MoffatProfile(fwhm: seeingFWHM, beta: moffatBeta)
            .apertureFraction(semiAxisX: ap.semiAxisRadial, semiAxisY: ap.semiAxisAzimuthal,
                              offsetX: ap.offsetRadial, offsetY: ap.offsetAzimuthal)
    }

    /// What a flat-fielded spectrum holds of a point source, relative to other fibers: the fiber fraction over the
    /// fiber's solid angle on the sky (pi a b; the fiber flat, made with a uniformly lit field, already divides by it).
    /// FLAT_TO_PSF_FLUX is its inverse normalised to the median; the simulator renders point sources with it.
    public static func flatFieldedPointSourceResponse(_ ap: Aperture, seeingFWHM: Double) -> Double {
        pointSourceFraction(ap, seeingFWHM: seeingFWHM) / (Double.pi * ap.semiAxisRadial * ap.semiAxisAzimuthal)
    }

    /// Fraction of an exponential disk of half-light radius `halfLightRadius` [arcsec] that enters the fiber: the
    /// point-source fraction averaged over the disk's light, sum over rho, theta of A(offset + rho e_theta) with rho
    /// at the midpoints of `radialSteps` equal-light rings (the disk's enclosed light is 1 - (1 + x) e^-x, x = rho/rd,
    /// rd = halfLightRadius / 1.67835, inverted by bisection) and 16 angles.
    public static func diskFraction(_ ap: Aperture, seeingFWHM: Double, halfLightRadius: Double,
                                    radialSteps nr: Int = 48) -> Double {
        guard halfLightRadius > 0 else { return pointSourceFraction(ap, seeingFWHM: seeingFWHM) }
        let moffat = MoffatProfile(fwhm: seeingFWHM, beta: moffatBeta)
        let rd = halfLightRadius / 1.67835
        let nt = 16
        var sum = 0.0
        for i in 0..<nr {
            let u = (Double(i) + 0.5) / Double(nr)
            var lo = 0.0, hi = 60.0
            for _ in 0..<60 {
                let x = 0.5 * (lo + hi)
                if 1 - (1 + x) * exp(-x) < u { lo = x } else { hi = x }
            }
            let rho = 0.5 * (lo + hi) * rd
            for k in 0..<nt {
                let t = 2 * Double.pi * (Double(k) + 0.5) / Double(nt)
                sum += moffat.apertureFraction(semiAxisX: ap.semiAxisRadial, semiAxisY: ap.semiAxisAzimuthal,
                                               offsetX: ap.offsetRadial + rho * cos(t),
                                               offsetY: ap.offsetAzimuthal + rho * sin(t), angles: 96)
            }
        }
        return sum / Double(nr * nt)
    }

    /// The apertures of the fibermap's fibers, or nil (with a warning) when FIBER_X/FIBER_Y are absent. NaN
    /// positions and offsets count as 0; DELTA_X/DELTA_Y absent count as 0 (warning), as desispec.
    static func apertures(_ fibermap: Fibermap, warn: (String) -> Void) -> [Aperture]? {
        let t = fibermap.table
        guard let xs = t["FIBER_X"]?.data.doubles, let ys = t["FIBER_Y"]?.data.doubles else {
            warn("no FIBER_X/FIBER_Y in the fibermap: fiber-acceptance corrections are 1")
            return nil
        }
        let n = fibermap.count
        func column(_ name: String) -> [Double] {
            if let v = t[name]?.data.doubles { return v }
            warn("no \(name) in the fibermap: assumed 0")
            return [Double](repeating: 0, count: n)
        }
        let dxs = column("DELTA_X"), dys = column("DELTA_Y")
        func clean(_ v: Double) -> Double { v.isNaN ? 0 : v }
        return (0..<n).map { i in
            let (x, y) = xs[i].isNaN || ys[i].isNaN ? (0, 0) : (xs[i], ys[i])
            let (dx, dy) = dxs[i].isNaN || dys[i].isNaN ? (0, 0) : (clean(dxs[i]), clean(dys[i]))
            return Aperture(x: x, y: y, dx: dx, dy: dy)
        }
    }

    /// FLAT_TO_PSF_FLUX (desispec.fiberfluxcorr.flat_to_psf_flux_correction): 1 / (fiber fraction x isotropic plate
    /// scale^2) for a point source, normalised to its median over the non-sky fibers whose fraction is above 0.01
    /// (the fiber flat already equalises the fibers' solid angles, hence the scale^2); sky fibers get 1, fibers with
    /// a fraction below 0.01 get 0. All 1 (warning) without FIBER_X/FIBER_Y.
    public static func flatToPSF(_ fibermap: Fibermap, seeingFWHM: Double, warn: (String) -> Void = { _ in }) -> [Double] {
        guard let aps = apertures(fibermap, warn: warn) else { return [Double](repeating: 1, count: fibermap.count) }
        let sky = Set(fibermap.rows(objtype: "SKY"))
        var corr = [Double](repeating: 0, count: aps.count)
        var ok: [Int] = []
        for (i, ap) in aps.enumerated() where !sky.contains(i) {
            guard pointSourceFraction(ap, seeingFWHM: seeingFWHM) > 0.01 else { continue }
            // the solid angle pi a b is proportional to 1 / (radial x azimuthal scale), desispec's 1/scale^2
            corr[i] = 1 / flatFieldedPointSourceResponse(ap, seeingFWHM: seeingFWHM)
            ok.append(i)
        }
        if !ok.isEmpty {
            let med = Statistics.median(ok.map { corr[$0] })
            for i in ok { corr[i] /= med }
        }
        for i in sky { corr[i] = 1 }
        return corr
    }

    /// PSF_TO_FIBER_FLUX (desispec.fiberfluxcorr.psf_to_fiber_flux_correction): current point-source fraction x
    /// nominal fraction / current fraction, the nominal one for a 1.5" fiber in 1" seeing scaled so that a point
    /// source gets 0.789 (Legacy Surveys' value); 0 where the current fraction is below 0.01; all 1 (warning) without
    /// FIBER_X/FIBER_Y. MORPHTYPE absent: all point sources; SHAPE_R absent: 0 (warnings).
    public static func psfToFiber(_ fibermap: Fibermap, seeingFWHM: Double, warn: (String) -> Void = { _ in }) -> [Double] {
        guard let aps = apertures(fibermap, warn: warn) else { return [Double](repeating: 1, count: fibermap.count) }
        let n = fibermap.count, t = fibermap.table
        var morph = [String](repeating: "PSF", count: n)
        if case .string(let s)? = t["MORPHTYPE"]?.data { morph = s } else { warn("no MORPHTYPE in the fibermap: all point sources") }
        var radius = [Double](repeating: 0, count: n)
        if let r = t["SHAPE_R"]?.data.doubles { radius = r } else { warn("no SHAPE_R in the fibermap: assumed 0") }
        let nominal = Aperture(diameterArcsec: 1.5)
        let nominalPoint = pointSourceFraction(nominal, seeingFWHM: 1)
        let scale = legacyPointSourceFiberFraction / nominalPoint
        return (0..<n).map { i in
            let point = pointSourceFraction(aps[i], seeingFWHM: seeingFWHM)
            let extended = morph[i].trimmingCharacters(in: .whitespaces) != "PSF"
            let hl = radius[i].isNaN ? 0 : min(max(radius[i], 0), 2)
            let current = extended ? diskFraction(aps[i], seeingFWHM: seeingFWHM, halfLightRadius: hl) : point
            let nominalFraction = extended ? diskFraction(nominal, seeingFWHM: 1, halfLightRadius: hl) : nominalPoint
            return current > 0.01 ? point * nominalFraction * scale / current : 0
        }
    }
}
