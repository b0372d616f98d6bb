import DESICore
import FITS
import Foundation

/// What sits in one fiber of a science exposure.
public struct SimulatedTarget: Sendable {
    public enum Kind: String, Sendable { case sky = "SKY", standard = "STD", galaxy = "ELG", qso = "QSO" }
    public var fiber: Int
    public var kind: Kind
    public var targetID: Int64
    /// Flux above the atmosphere, 1e-17 erg/s/cm2/A (empty for sky fibers).
    public var spectrum: SpectrumModel
    public var redshift: Double
    /// Stellar template index for standards, -1 otherwise.
    public var templateIndex: Int
    /// Fraction of the object's light entering the fiber.
    public var fiberAcceptance: Double
    /// Flux in nanomaggies through DECam g, r, z of `spectrum` (0 for sky).
    public var fluxGRZ: [Double]
    /// Focal-plane position in mm.
    public var fiberX: Double
    public var fiberY: Double
    /// Photometric system of FLUX_G/R/Z ("N": BASS g, r and MzLS z; "S": DECam) and the Galactic E(B-V) that
    /// reddens `spectrum` (standards: alternately S and N, E(B-V) 0.02-0.2; other targets S and 0).
    public var photsys: String = "S"
    public var ebv: Double = 0
}

/// DESI target bits (desitarget desi_mask) used in DESI_TARGET.
public enum DESITargetBits {
    public static let lrg: Int64 = 1 << 0
    public static let elg: Int64 = 1 << 1
    public static let qso: Int64 = 1 << 2
    public static let sky: Int64 = 1 << 32
    public static let stdFaint: Int64 = 1 << 33
    public static let stdBright: Int64 = 1 << 35
}

/// Draws the targets of one spectrograph's fibers and builds the fibermap.
public enum TargetSimulator {

    /// Approximate focal-plane position (mm) of fiber `i` (0..<500) of spectrograph `petal`: each petal is a 36 deg
    /// wedge; fibers go in 50-fiber blocks at increasing radius, 10 across and 5 along the radius per block.
    public static func focalPlanePosition(petal: Int, fiber i: Int) -> (x: Double, y: Double) {
        let block = i / 50, k = i % 50
        let r = 30 + 37 * Double(block) + 37 * (Double(k / 10) + 0.5) / 5
        let angle = (Double(petal) * 36 + 18 + (-15 + 30 * (Double(k % 10) + 0.5) / 10)) * Double.pi / 180
        return (r * cos(angle), r * sin(angle))
    }

    /// Targets for `nspec` fibers of spectrograph `spectrograph`: every 10th fiber (offset 3) is SKY and every 10th
    /// (offset 7) a standard star, the rest alternate between galaxies and QSOs (3 galaxies to 1 QSO).
    public static func make(nspec: Int, spectrograph: Int, inputs: SpectralInputs, instrument: Instrument,
                            seed: UInt64) -> [SimulatedTarget] {
        let filters = inputs.filters
        let rFilter = filters.first { $0.band == "r" } ?? filters[min(1, filters.count - 1)]
        // Standard stars: prefer F-type templates (5800-7000 K) like DESI's standards.
        let fType = inputs.stars.teff.indices.filter { inputs.stars.teff[$0] >= 5800 && inputs.stars.teff[$0] <= 7000 }
        let stdPool = fType.isEmpty ? Array(0..<inputs.stars.count) : fType
        // Fiber acceptance varies over the focal plane (plate scale, DESICore.FiberFluxCorrection): the flat-fielded
        // flux of an object is scaled by its fiber's point-source response relative to the field centre's (galaxies
        // too, as point sources), which the flux calibration's FLAT_TO_PSF_FLUX undoes.
        let centre = FiberFluxCorrection.flatFieldedPointSourceResponse(FiberFluxCorrection.Aperture(x: 0, y: 0),
                                                                         seeingFWHM: instrument.seeingFWHM)
        return (0..<nspec).map { i in
            var rng = SimulationRandom(seed: seed, stream: 1_000 + UInt64(spectrograph * 500 + i))
            let fiber = spectrograph * 500 + i
            let pos = focalPlanePosition(petal: spectrograph, fiber: i)
            let targetID = Int64(39_627_000_000_000_000) + Int64(fiber) * 1_000 + Int64(rng.next() % 1000)
            let kind: SimulatedTarget.Kind
            switch i % 10 {
            case 3: kind = .sky
            case 7: kind = .standard
            default: kind = (i % 4 == 1) ? .qso : .galaxy
            }
            var spectrum = SpectrumModel(), z = 0.0, template = -1, acceptance = 0.0, photsys = "S", ebv = 0.0
            switch kind {
            case .sky: break
            case .standard:
                template = stdPool[Int(rng.next() % UInt64(stdPool.count))]
                spectrum = ObjectSpectra.star(templates: inputs.stars, index: template, rmag: 16.5 + 2 * rng.uniform(), rFilter: rFilter)
                acceptance = instrument.pointSourceFiberAcceptance
                // northern and southern photometry, Milky Way dust (desiutil.dust's law, as the fit removes it)
                photsys = (i / 10) % 2 == 0 ? "S" : "N"
                ebv = 0.02 + 0.18 * rng.uniform()
                let dust = GalacticExtinction.transmission(wave: spectrum.wave, ebv: ebv)
                spectrum.flux = zip(spectrum.flux, dust).map(*)
            case .galaxy:
                z = 0.6 + 1.0 * rng.uniform()
                spectrum = ObjectSpectra.galaxy(z: z, rmag: 21.5 + 1.5 * rng.uniform(), oiiFlux: 5 + 20 * rng.uniform(), rFilter: rFilter)
                acceptance = instrument.galaxyFiberAcceptance
            case .qso:
                z = 0.9 + 2.2 * rng.uniform()
                spectrum = ObjectSpectra.qso(z: z, rmag: 19.5 + 2 * rng.uniform(), rFilter: rFilter)
                acceptance = instrument.pointSourceFiberAcceptance
            }
            let response = FiberFluxCorrection.flatFieldedPointSourceResponse(FiberFluxCorrection.Aperture(x: pos.x, y: pos.y),
                                                                               seeingFWHM: instrument.seeingFWHM)
            acceptance *= response / centre
            var fluxes = kind == .sky ? [0, 0, 0] : filters.map { $0.nanomaggies(of: spectrum) }
            if kind == .standard {
                // the standards' photometry through the shipped curves of their PHOTSYS (package resources)
                fluxes = ["g", "r", "z"].map { b in
                    guard let name = try? FilterCurve.legacySurveyName(band: b, photsys: photsys),
                          let curve = try? FilterCurve.shipped(name) else { preconditionFailure("shipped filter curves missing") }
                    return curve.nanomaggies(of: spectrum)
                }
            }
            return SimulatedTarget(fiber: fiber, kind: kind, targetID: targetID, spectrum: spectrum, redshift: z,
                                   templateIndex: template, fiberAcceptance: acceptance, fluxGRZ: fluxes,
                                   fiberX: pos.x, fiberY: pos.y, photsys: photsys, ebv: ebv)
        }
    }

    /// The tile centre (ICRS degrees) of every simulated tile: the targets' positions and the raw TARGTRA/TARGTDEC.
    public static let fieldCentre = (ra: 150.0, dec: 30.0)

    /// Calibration exposures (arc, flat): every fiber lit, no targets; positions and ids still filled.
    public static func calibrationFibers(nspec: Int, spectrograph: Int) -> [SimulatedTarget] {
        (0..<nspec).map { i in
            let pos = focalPlanePosition(petal: spectrograph, fiber: i)
            let fiber = spectrograph * 500 + i
            return SimulatedTarget(fiber: fiber, kind: .sky, targetID: -Int64(fiber) - 1, spectrum: SpectrumModel(), redshift: 0,
                                   templateIndex: -1, fiberAcceptance: 0, fluxGRZ: [0, 0, 0], fiberX: pos.x, fiberY: pos.y)
        }
    }

    /// The fibermap of the targets (desispec.io.fibermap column names): FIBER, TARGETID, OBJTYPE (TGT/SKY),
    /// DESI_TARGET, BGS_TARGET, MWS_TARGET, PETAL_LOC, LOCATION, DEVICE_LOC, FIBER_X/Y, FIBERASSIGN_X/Y, TARGET_RA/DEC, FLUX_G/R/Z,
    /// FIBERSTATUS, EXPTIME, and SIM_* truth columns (redshift, kind).
    public static func fibermap(targets: [SimulatedTarget], exptime: Double, night: Int, expid: Int, flavor: String,
                                tile: Int? = nil) -> Fibermap {
        let n = targets.count
        var desiTarget = [Int64](repeating: 0, count: n)
        var ra = [Double](repeating: 0, count: n), dec = [Double](repeating: 0, count: n)
        for (k, t) in targets.enumerated() {
            switch t.kind {
            case .sky: desiTarget[k] = flavor == "science" ? DESITargetBits.sky : 0
            case .standard: desiTarget[k] = DESITargetBits.stdFaint
            case .galaxy: desiTarget[k] = DESITargetBits.elg
            case .qso: desiTarget[k] = DESITargetBits.qso
            }
            // plate scale ~ 70 um/arcsec around the field centre
            let centre = TargetSimulator.fieldCentre
            ra[k] = centre.ra + t.fiberX / 70 * 1000 / 3600 / cos(centre.dec * Double.pi / 180)
            dec[k] = centre.dec + t.fiberY / 70 * 1000 / 3600
        }
        let petal = targets.map { Int16($0.fiber / 500) }
        var header = FITSHeader()
        header.set("NIGHT", night)
        header.set("EXPID", expid)
        header.set("FLAVOR", flavor)
        header.set("EXPTIME", exptime)
        header.set("TILEID", tile ?? 1000 + expid % 1000)
        header.set("SURVEY", "main")
        header.set("PROGRAM", "dark")
        let objtype: [String] = targets.map { flavor == "science" ? ($0.kind == .sky ? "SKY" : "TGT") : "TGT" }
        let table = FITSTable(columns: [
            FITSColumn("TARGETID", .int64(targets.map(\.targetID))),
            FITSColumn("PETAL_LOC", .int16(petal)),
            FITSColumn("DEVICE_LOC", .int32(targets.map { Int32($0.fiber % 500) })),
            FITSColumn("LOCATION", .int64(targets.map { Int64($0.fiber / 500 * 1000 + $0.fiber % 500) })),
            FITSColumn("FIBER", .int32(targets.map { Int32($0.fiber) })),
            FITSColumn("FIBERSTATUS", .int32([Int32](repeating: 0, count: n))),
            FITSColumn("TARGET_RA", .double(ra), unit: "deg"),
            FITSColumn("TARGET_DEC", .double(dec), unit: "deg"),
            FITSColumn("OBJTYPE", .string(objtype), stringWidth: 3),
            FITSColumn("DESI_TARGET", .int64(desiTarget)),
            // a dark-time tile: no bright-galaxy or Milky-Way targets (desispec's standard-star selection reads both)
            FITSColumn("BGS_TARGET", .int64([Int64](repeating: 0, count: n))),
            FITSColumn("MWS_TARGET", .int64([Int64](repeating: 0, count: n))),
            FITSColumn("FLUX_G", .float(targets.map { Float($0.fluxGRZ[0]) }), unit: "nanomaggies"),
            FITSColumn("FLUX_R", .float(targets.map { Float($0.fluxGRZ[1]) }), unit: "nanomaggies"),
            FITSColumn("FLUX_Z", .float(targets.map { Float($0.fluxGRZ[2]) }), unit: "nanomaggies"),
            FITSColumn("PHOTSYS", .string(targets.map(\.photsys)), stringWidth: 1),
            FITSColumn("EBV", .float(targets.map { Float($0.ebv) })),
            FITSColumn("FIBERASSIGN_X", .float(targets.map { Float($0.fiberX) }), unit: "mm"),
            FITSColumn("FIBERASSIGN_Y", .float(targets.map { Float($0.fiberY) }), unit: "mm"),
            FITSColumn("FIBER_X", .double(targets.map(\.fiberX)), unit: "mm"),
            FITSColumn("FIBER_Y", .double(targets.map(\.fiberY)), unit: "mm"),
            FITSColumn("EXPTIME", .double([Double](repeating: exptime, count: n)), unit: "s"),
            FITSColumn("SIM_Z", .double(targets.map(\.redshift))),
            FITSColumn("SIM_TYPE", .string(targets.map { flavor == "science" ? $0.kind.rawValue : "CAL" }), stringWidth: 3),
        ], header: header)
        return Fibermap(table: table)
    }
}
