import DESICore
import FITS
import Foundation

extension AnalyticPSF {
    /// Writes the PSF as a GAUSS-HERMITE PSFVER 3 file (the layout specex writes and desispec.io.read_xytraceset /
    /// specter's GaussHermitePSF read): XTRACE and YTRACE images [nspec, 3] of Legendre coefficients with
    /// WAVEMIN/WAVEMAX, and a PSF table of PARAM, COEFF [nspec, 3], LEGDEGX, LEGDEGW with GHSIGX/GHSIGY, the
    /// Hermite coefficients up to degree 2 (only GH-0-0 = 1 non-zero) and a zero tail.
    public func writeGaussHermite(path: String, camera: String, history: String) throws {
        let ncoef = 3
        func flat(_ c: [[Double]]) -> [Double] { c.flatMap { $0 } }
        var traceHeader = FITSHeader()
        traceHeader.set("FIBERMIN", 0)
        traceHeader.set("FIBERMAX", nspec - 1)
        traceHeader.set("WAVEMIN", wavemin, comment: "Lower bound of the Legendre reduced wavelength")
        traceHeader.set("WAVEMAX", wavemax, comment: "Upper bound of the Legendre reduced wavelength")
        traceHeader.set("PSFTYPE", "GAUSS-HERMITE")
        traceHeader.set("PSFVER", 3)
        traceHeader.set("CAMERA", camera)
        traceHeader.addHistory(history)
        var params: [(String, [Double])] = []
        let ones = [Double](repeating: 0, count: nspec * ncoef)
        func constant(_ v: Double) -> [Double] {
            var a = ones
            for f in 0..<nspec { a[f * ncoef] = v }
            return a
        }
        params.append(("GHSIGX", constant(sigmaX)))
        params.append(("GHSIGY", constant(sigmaY)))
        for j in 0...2 { for i in 0...2 { params.append(("GH-\(i)-\(j)", constant(i == 0 && j == 0 ? 1 : 0))) } }
        params.append(("TAILAMP", constant(0)))
        params.append(("TAILCORE", constant(1)))
        params.append(("TAILXSCA", constant(1)))
        params.append(("TAILYSCA", constant(1)))
        params.append(("TAILINDE", constant(1)))
        params.append(("CONT", constant(0)))
        var psfHeader = FITSHeader()
        psfHeader.set("PSFTYPE", "GAUSS-HERMITE")
        psfHeader.set("PSFVER", "3")
        psfHeader.set("CAMERA", camera)
        psfHeader.set("NPIX_X", npixX)
        psfHeader.set("NPIX_Y", npixY)
        psfHeader.set("HSIZEX", halfX)
        psfHeader.set("HSIZEY", halfY)
        psfHeader.set("FIBERMIN", 0)
        psfHeader.set("FIBERMAX", nspec - 1)
        psfHeader.set("NPARAMS", params.count)
        psfHeader.set("LEGDEG", ncoef - 1)
        psfHeader.set("GHDEGX", 2)
        psfHeader.set("GHDEGY", 2)
        psfHeader.set("WAVEMIN", wavemin)
        psfHeader.set("WAVEMAX", wavemax)
        psfHeader.addComment("Simulated analytic PSF: pixel-integrated Gaussian core (GH-0-0 = 1), no tail")
        psfHeader.addHistory(history)
        let table = FITSTable(columns: [
            FITSColumn("PARAM", .string(params.map(\.0)), stringWidth: 8),
            FITSColumn("COEFF", .double(params.flatMap(\.1)), cellShape: [nspec, ncoef]),
            FITSColumn("LEGDEGX", .int32([Int32](repeating: Int32(ncoef - 1), count: params.count))),
            FITSColumn("LEGDEGW", .int32([Int32](repeating: Int32(ncoef - 1), count: params.count))),
        ], header: psfHeader)
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(flat(xCoeff), shape: [nspec, ncoef], name: "XTRACE", header: traceHeader)
            try f.writeImage(flat(yCoeff), shape: [nspec, ncoef], name: "YTRACE", header: traceHeader)
            try f.writeTable(table, name: "PSF")
        }
    }
}
