import DESICore
import FITS
import Foundation

/// What `desispec psf --psf FILE` starts from (Docs/psf.md, "Starting points"):
/// - a GAUSS-HERMITE PSF (PSFVER 2 or 3): the previous night's PSF, a PSF of the same camera from another epoch,
///   or a generic one whose GH-i-j other than GH-0-0 and tails are 0; taken as it is;
/// - a trace-only file (XTRACE/YTRACE with optional XSIGMA or XSIG and WSIGMA or YSIG, as the quick-look
///   ql-psf-CAMERA.fits files, desispec's XYTraceSet): turned into a generic GAUSS-HERMITE PSF with a Gaussian
///   core (`GaussHermitePSF.gaussianCore(from:)`).
/// The file must describe the image's CCD (NPIX_X, NPIX_Y) and, when both say, its camera.
public struct StartingPSF: Sendable {
    public var psf: GaussHermitePSF
    /// "gauss-hermite" or "trace-only (Gaussian core made)".
    public var kind: String

    /// Reads `path` as a starting point for the fit of `image` (read from `imagePath`, for the messages).
    public static func load(_ path: String, image: Image, imagePath: String) throws -> StartingPSF {
        let read: StartingPSF
        let any = try readPSF(path)
        if let g = any as? GaussHermitePSF {
            read = StartingPSF(psf: g, kind: "gauss-hermite")
        } else if let t = any as? TraceOnlyPSF {
            let camera = try? primaryCamera(path)
            read = StartingPSF(psf: try GaussHermitePSF.gaussianCore(from: t, camera: camera),
                               kind: "trace-only (Gaussian core made)")
        } else {
            throw DESIError.badFile(path: path, problem: "neither a GAUSS-HERMITE PSF nor a trace set")
        }
        let start = read.psf
        guard image.ny == start.npixY, image.nx == start.npixX else {
            throw DESIError.mismatch("\(imagePath) is \(image.ny) x \(image.nx) pixels but \(path) describes a "
                                     + "\(start.npixY) x \(start.npixX) CCD")
        }
        if let a = image.camera?.description.lowercased(), let b = start.camera, a != b {
            throw DESIError.mismatch("\(imagePath) is camera \(a) but \(path) is camera \(b)")
        }
        return read
    }

    /// CAMERA of HDU 0 of a file, lower case, without padding; nil when absent.
    static func primaryCamera(_ path: String) throws -> String? {
        let f = try FITSFile.open(path)
        defer { try? f.close() }
        try f.moveTo(index: 0)
        return try f.readHeader().string("CAMERA")?.trimmingCharacters(in: CharacterSet(charactersIn: "' ")).lowercased()
    }
}

extension GaussHermitePSF {
    /// A generic GAUSS-HERMITE PSF from a trace set: the traces as they are, GHSIGX = the trace set's
    /// cross-dispersion sigma (XSIG / XSIGMA, pixels; 1 when absent) and GHSIGY = its dispersion sigma (YSIG, or
    /// WSIGMA times dy/dwavelength; 1 when absent), each refitted as a Legendre series of degree `widthDegree` in
    /// wavelength; GH-0-0 = 1 and every other GH-i-j = 0 up to `ghDegree` (room for the shape fit), no tail
    /// (TAILAMP 0, TAILCORE 2, TAILXSCA = TAILYSCA = 1, TAILINDE 2), CONT 0, a stamp of 17 x 11 pixels as specex's
    /// (HSIZEX 8, HSIZEY 5). CAMERA `camera` in the table header.
    public static func gaussianCore(from t: TraceOnlyPSF, camera: String?, ghDegree: Int = 6,
                                    widthDegree: Int = 3) throws -> GaussHermitePSF {
        let lo = t.wavemin, hi = t.wavemax, nw = 50
        let waves = (0..<nw).map { lo + (hi - lo) * Double($0) / Double(nw - 1) }
        func widths(_ s: (Int, Double) -> Double) throws -> TraceSet {
            let values = (0..<t.nspec).map { f in waves.map { s(f, $0) } }
            for (f, row) in values.enumerated() where !row.allSatisfy({ $0.isFinite && $0 > 0.1 && $0 < 20 }) {
                throw DESIError.invalidArgument("the trace set's width of fiber \(f) is not between 0.1 and 20 pixels")
            }
            return try TraceSet.fit(v: waves, values: values, degree: widthDegree, domain: (lo, hi))
        }
        var headers = PSFHeaders()
        headers.table.addComment("Generic GAUSS-HERMITE PSF (Gaussian core) made by \(DESIProvenance.softwareName) from a trace set")
        if let c = camera, !c.isEmpty { headers.table.set("CAMERA", c, comment: "camera ID") }
        return try withConstantTerms(
            xTrace: t.xTrace, yTrace: t.yTrace,
            sigmaX: widths { t.xsigma(fiber: $0, wavelength: $1) }, sigmaY: widths { t.ysigma(fiber: $0, wavelength: $1) },
            ghDegree: ghDegree, gh: { i, j in i == 0 && j == 0 ? 1 : 0 },
            tailAmplitude: 0, tailCore: 2, tailIndex: 2,
            halfSizeX: 8, halfSizeY: 5, npixX: t.npixX, npixY: t.npixY, headers: headers)
    }
}
