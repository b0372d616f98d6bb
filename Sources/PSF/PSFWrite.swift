import DESICore
import FITS
import Foundation

extension GaussHermitePSF {
    /// Writes this PSF in the PSFVER 3 layout specter and desispec read: HDU 0 XTRACE and HDU 1 YTRACE
    /// (Legendre coefficients [nfiber, ncoef], WAVEMIN/WAVEMAX), HDU 2 PSF table (PARAM, COEFF[nfiber, ncoef],
    /// LEGDEGX, LEGDEGW) with the kept headers (GAUSS-HERMITE2: the PSF table in HDU 1 with X and Y rows and
    /// WAVEMIN/WAVEMAX columns, as specter's GaussHermite2PSF reads it, YTRACE in HDU 2), atomically
    /// (desispec.trace_shifts.write_traces_in_psf when the traces changed). `history` lines become HISTORY cards;
    /// `extraKeys` go in the XTRACE and PSF headers.
    /// `extraTables` are written after the PSF table, in order (the trace shifts' INTOFF and EXTOFF).
    public func write(to path: String, history: [String] = [], extraKeys: [FITSCard] = [],
                      extraTables: [(name: String, table: FITSTable)] = []) throws {
        // Common domain and number of coefficients for the table (pad with zeros, refit another domain).
        guard let first = parameters.first else { throw DESIError.invalidArgument("PSF has no parameters to write") }
        let lo = first.traces.domainMin, hi = first.traces.domainMax
        // GAUSS-HERMITE2: specter's GaussHermite2PSF reads the table in HDU 1 with X and Y among its rows (and each
        // row's WAVEMIN/WAVEMAX), desispec's read_xytraceset the XTRACE and YTRACE HDUs: the file has both.
        let twoCores = psfType == "GAUSS-HERMITE2"
        let rows = twoCores ? [PSFParameter(name: "X", traces: xTrace, legDegX: 0), PSFParameter(name: "Y", traces: yTrace, legDegX: 0)]
            + parameters : parameters
        let ncoef = rows.map(\.traces.ncoef).max()!
        var coeff = [Double]()
        coeff.reserveCapacity(rows.count * nspec * ncoef)
        for p in rows {
            var t = p.traces
            if abs(t.domainMin - lo) > 1e-9 || abs(t.domainMax - hi) > 1e-9 {
                let v = (0..<100).map { lo + (hi - lo) * Double($0) / 99 }
                t = try TraceSet.fit(v: v, values: (0..<nspec).map { i in v.map { t.eval(i, $0) } },
                                     degree: t.ncoef - 1, domain: (lo, hi))
            }
            for i in 0..<nspec {
                let c = t.coefficients(of: i)
                coeff += c
                if c.count < ncoef { coeff += [Double](repeating: 0, count: ncoef - c.count) }
            }
        }
        var columns = [FITSColumn("PARAM", .string(rows.map(\.name)), stringWidth: 8)]
        if twoCores {
            columns += [FITSColumn("WAVEMIN", .double([Double](repeating: lo, count: rows.count))),
                        FITSColumn("WAVEMAX", .double([Double](repeating: hi, count: rows.count)))]
        }
        columns += [FITSColumn("COEFF", .double(coeff), cellShape: [nspec, ncoef]),
                    FITSColumn("LEGDEGX", .int32(rows.map { Int32($0.legDegX) })),
                    FITSColumn("LEGDEGW", .int32(rows.map { Int32($0.legDegW) }))]
        var table = FITSTable(columns: columns)
        var th = headers.table
        for k in ["PSFTYPE", "PSFVER", "NPIX_X", "NPIX_Y", "HSIZEX", "HSIZEY", "FIBERMIN", "FIBERMAX", "NPARAMS",
                  "LEGDEG", "GHDEGX", "GHDEGY", "GHDEGX2", "GHDEGY2", "WAVEMIN", "WAVEMAX", "BUNDLMIN", "BUNDLMAX"] {
            th.remove(k)
        }
        th.set("PSFTYPE", psfType)
        th.set("PSFVER", "3")
        th.set("NPIX_X", npixX, comment: "number of columns in input CCD image")
        th.set("NPIX_Y", npixY, comment: "number of rows in input CCD image")
        th.set("HSIZEX", halfSizeX, comment: "Half size of PSF in fit, NX=2*HSIZEX+1")
        th.set("HSIZEY", halfSizeY, comment: "Half size of PSF in fit, NY=2*HSIZEY+1")
        th.set("FIBERMIN", fiberMin, comment: "first fiber (starting at 0)")
        th.set("FIBERMAX", fiberMin + nspec - 1, comment: "last fiber (included)")
        th.set("NPARAMS", rows.count, comment: "number of PSF parameters")
        th.set("LEGDEG", ncoef - 1, comment: "degree of Legendre pol.(wave) for parameters")
        th.set("GHDEGX", ghDegX, comment: "degree of Hermite polynomial along CCD columns")
        th.set("GHDEGY", ghDegY, comment: "degree of Hermite polynomial along CCD rows")
        if let c2 = core2 {
            th.set("GHDEGX2", c2.degX, comment: "degree of second core Hermite polynomial along columns")
            th.set("GHDEGY2", c2.degY, comment: "degree of second core Hermite polynomial along rows")
        }
        th.set("WAVEMIN", lo, comment: "minimum wavelength (A), used for the Legendre polynomials")
        th.set("WAVEMAX", hi, comment: "maximum wavelength (A), used for the Legendre polynomials")
        for c in extraKeys { th.set(c.key, c.value, comment: c.comment) }
        for h in history { th.addHistory(h) }
        table.header = th

        func traceHeader(_ base: FITSHeader, _ t: TraceSet, primary: Bool) -> FITSHeader {
            var h = base
            for k in ["FIBERMIN", "FIBERMAX", "WAVEMIN", "WAVEMAX", "PSFTYPE", "PSFVER", "NPIX_X", "NPIX_Y"] { h.remove(k) }
            h.set("FIBERMIN", fiberMin)
            h.set("FIBERMAX", fiberMin + nspec - 1)
            h.set("WAVEMIN", t.domainMin)
            h.set("WAVEMAX", t.domainMax)
            if primary {
                h.set("PSFTYPE", psfType)
                h.set("PSFVER", 3)
                h.set("NPIX_X", npixX)
                h.set("NPIX_Y", npixY)
                for c in extraKeys { h.set(c.key, c.value, comment: c.comment) }
                for line in history { h.addHistory(line) }
            }
            return h
        }
        let xh = traceHeader(headers.primary, xTrace, primary: true)
        let yh = traceHeader(headers.ytrace, yTrace, primary: false)
        try FITSFile.writeAtomically(path) { f in
            try f.writeImage(xTrace.coefficients, shape: [nspec, xTrace.ncoef], name: "XTRACE", header: xh)
            if twoCores { try f.writeTable(table, name: "PSF") }
            try f.writeImage(yTrace.coefficients, shape: [nspec, yTrace.ncoef], name: "YTRACE", header: yh)
            if !twoCores { try f.writeTable(table, name: "PSF") }
            for extra in extraTables { try f.writeTable(extra.table, name: extra.name) }
        }
    }
}

/// Writes a GaussHermitePSF (PSFVER 3 layout) atomically.
public func writePSF(_ psf: GaussHermitePSF, to path: String, history: [String] = [], extraKeys: [FITSCard] = []) throws {
    try psf.write(to: path, history: history, extraKeys: extraKeys)
}
