import DESICore
import FITS
import Foundation

/// Fibermap of a coadd (desispec.coaddition.coadd_fibermap): one row per target (first appearance) with
/// COADD_NUMEXP, COADD_EXPTIME, COADD_NUMNIGHT, COADD_NUMTILE, COADD_FIBERSTATUS, MEAN_/RMS_ of DELTA_X/Y,
/// MEAN_PSF_TO_FIBER_SPECFLUX, MEAN_/STD_FIBER_RA/DEC, MIN_/MAX_/MEAN_MJD; and the per-exposure EXP_FIBERMAP
/// with IN_COADD_B/R/Z.
public enum CoaddFibermap {
    /// Columns kept per exposure in EXP_FIBERMAP (desispec fibermap_perexp_cols, targeting columns aside).
    static let perExposureColumns = ["TARGETID", "PRIORITY", "SUBPRIORITY", "NIGHT", "EXPID", "MJD", "TILEID", "EXPTIME",
        "PETAL_LOC", "DEVICE_LOC", "LOCATION", "FIBER", "FIBERSTATUS", "FIBERASSIGN_X", "FIBERASSIGN_Y",
        "LAMBDA_REF", "PLATE_RA", "PLATE_DEC", "NUM_ITER", "FIBER_X", "FIBER_Y", "DELTA_X", "DELTA_Y",
        "FIBER_RA", "FIBER_DEC", "PSF_TO_FIBER_SPECFLUX", "IN_COADD_B", "IN_COADD_R", "IN_COADD_Z",
        QualityColumns.grade, QualityColumns.reasons]

    static let targetBitColumns = ["CMX_TARGET", "SV1_DESI_TARGET", "SV1_BGS_TARGET", "SV1_MWS_TARGET", "SV1_SCND_TARGET",
        "SV2_DESI_TARGET", "SV2_BGS_TARGET", "SV2_MWS_TARGET", "SV2_SCND_TARGET", "SV3_DESI_TARGET", "SV3_BGS_TARGET",
        "SV3_MWS_TARGET", "SV3_SCND_TARGET", "DESI_TARGET", "BGS_TARGET", "MWS_TARGET", "SCND_TARGET"]

    public static func coadd(_ fibermap: FITSTable, onetile: Bool = false) throws -> (fibermap: FITSTable, expFibermap: FITSTable) {
        guard let tidCol = fibermap["TARGETID"]?.data.ints else {
            throw DESIError.invalidArgument("coadd: FIBERMAP has no TARGETID column")
        }
        if onetile, let tiles = fibermap["TILEID"]?.data.ints, Set(tiles).count != 1 {
            throw DESIError.invalidArgument("coadd: input has \(Set(tiles).count) tiles, but --onetile was given")
        }
        var exp = fibermap
        var firstRow: [Int] = [], rowsOf: [Int: [Int]] = [:]
        for (i, t) in tidCol.enumerated() {
            if rowsOf[t] == nil { firstRow.append(i) }
            rowsOf[t, default: []].append(i)
        }
        let targets = firstRow.map { tidCol[$0] }
        let n = targets.count
        var tf = fibermap.selectingRows(firstRow)
        let fsKey = fibermap.hasColumn("FIBERSTATUS")
            ? "FIBERSTATUS" : (fibermap.hasColumn("COADD_FIBERSTATUS") ? "COADD_FIBERSTATUS" : nil)
        let fs = fsKey.flatMap { fibermap[$0]?.data.ints }?.map { UInt32(truncatingIfNeeded: $0) }
            ?? [UInt32](repeating: 0, count: tidCol.count)
        func col(_ k: String) -> [Double]? { fibermap[k]?.data.doubles }
        let nights = fibermap["NIGHT"]?.data.ints, tiles = fibermap["TILEID"]?.data.ints, exptime = col("EXPTIME")
        let mjd = col("MJD"), fra = col("FIBER_RA"), fdec = col("FIBER_DEC")
        var meanCols = ["DELTA_X", "DELTA_Y", "PSF_TO_FIBER_SPECFLUX"]
        if onetile { meanCols += ["FIBER_X", "FIBER_Y"] }
        let rmsCols = ["DELTA_X", "DELTA_Y"]

        var inB = [Bool](repeating: false, count: tidCol.count), inR = inB, inZ = inB
        var numexp = [Int16](repeating: -1, count: n), numnight = numexp, numtile = numexp
        var cexptime = [Float](repeating: -1, count: n)
        var coaddFS = [Int32](repeating: 0, count: n)
        var means: [String: [Float]] = [:], rms: [String: [Float]] = [:]
        var mra = [Double](repeating: 0, count: n), mdec = mra, sra = [Float](repeating: 0, count: n), sdec = sra
        var minMJD = [Double](repeating: 0, count: n), maxMJD = minMJD, meanMJD = minMJD
        let (bb, rb, zb) = (Coaddition.badFiberStatusBits(band: "b"), Coaddition.badFiberStatusBits(band: "r"),
                            Coaddition.badFiberStatusBits(band: "z"))
        for (t, tid) in targets.enumerated() {
            let jj = rowsOf[tid]!
            var good: [Int] = []
            for j in jj {
                inB[j] = fs[j] & bb == 0; inR[j] = fs[j] & rb == 0; inZ[j] = fs[j] & zb == 0
                if inB[j] || inR[j] || inZ[j] { good.append(j) }
            }
            numexp[t] = Int16(good.count)
            let compute: [Int]
            if !good.isEmpty {
                compute = good
                coaddFS[t] = Int32(bitPattern: good.map { fs[$0] }.reduce(UInt32.max, &))
            } else {
                compute = jj
                coaddFS[t] = Int32(bitPattern: jj.map { fs[$0] }.reduce(0, |))
            }
            if let nights { numnight[t] = Int16(Set(good.map { nights[$0] }).count) }
            if let tiles { numtile[t] = Int16(Set(good.map { tiles[$0] }).count) }
            if let exptime { cexptime[t] = Float(good.map { exptime[$0] }.reduce(0, +)) }
            for k in meanCols { if let v = col(k) {
                let vals = compute.map { v[$0] }
                means[k, default: [Float](repeating: 0, count: n)][t] = Float(vals.reduce(0, +) / Double(vals.count))
            } }
            for k in rmsCols { if let v = col(k) {
                let vals = compute.map { v[$0] }
                rms[k, default: [Float](repeating: 0, count: n)][t] =
                    Float((vals.map { $0 * $0 }.reduce(0, +) / Double(vals.count)).squareRoot())
            } }
            if let fra, let fdec {
                let goodCoords = jj.filter { fra[$0] != 0 || fdec[$0] != 0 }
                let cc = goodCoords.isEmpty ? jj : goodCoords
                let both = compute.filter { cc.contains($0) }
                let use = both.isEmpty ? cc : both
                let s = meanStdRaDec(use.map { fra[$0] }, use.map { fdec[$0] })
                mra[t] = s.meanRA; sra[t] = Float(s.stdRA); mdec[t] = s.meanDec; sdec[t] = Float(s.stdDec)
            }
            if let mjd {
                let vals = compute.map { mjd[$0] }
                minMJD[t] = vals.min()!; maxMJD[t] = vals.max()!; meanMJD[t] = vals.reduce(0, +) / Double(vals.count)
            }
        }
        tf["COADD_NUMEXP"] = FITSColumn("COADD_NUMEXP", .int16(numexp))
        tf["COADD_EXPTIME"] = FITSColumn("COADD_EXPTIME", .float(cexptime))
        tf["COADD_NUMNIGHT"] = FITSColumn("COADD_NUMNIGHT", .int16(numnight))
        tf["COADD_NUMTILE"] = FITSColumn("COADD_NUMTILE", .int16(numtile))
        // As desispec: MEAN_k (then RMS_k) appended and the per-exposure column k removed.
        for k in meanCols where means[k] != nil {
            tf["MEAN_" + k] = FITSColumn("MEAN_" + k, .float(means[k]!))
            if let r = rms[k] { tf["RMS_" + k] = FITSColumn("RMS_" + k, .float(r)) }
            tf[k] = nil
        }
        if fra != nil && fdec != nil {
            tf["MEAN_FIBER_RA"] = FITSColumn("MEAN_FIBER_RA", .double(mra))
            tf["STD_FIBER_RA"] = FITSColumn("STD_FIBER_RA", .float(sra))
            tf["MEAN_FIBER_DEC"] = FITSColumn("MEAN_FIBER_DEC", .double(mdec))
            tf["STD_FIBER_DEC"] = FITSColumn("STD_FIBER_DEC", .float(sdec))
            tf["FIBER_RA"] = nil; tf["FIBER_DEC"] = nil
        }
        if mjd != nil {
            tf["MIN_MJD"] = FITSColumn("MIN_MJD", .double(minMJD))
            tf["MAX_MJD"] = FITSColumn("MAX_MJD", .double(maxMJD))
            tf["MEAN_MJD"] = FITSColumn("MEAN_MJD", .double(meanMJD))
        }
        // Targeting bits can evolve between exposures: OR of the inputs.
        for k in targetBitColumns {
            guard let c = fibermap[k], let v = c.data.ints else { continue }
            let ored = targets.map { t in rowsOf[t]!.reduce(0) { $0 | v[$1] } }
            var nc = tf[k]!
            switch c.data {
            case .int64: nc.data = .int64(ored.map(Int64.init))
            case .int32: nc.data = .int32(ored.map { Int32(truncatingIfNeeded: $0) })
            case .int16: nc.data = .int16(ored.map { Int16(truncatingIfNeeded: $0) })
            default: continue
            }
            tf[k] = nc
        }
        // COADD_FIBERSTATUS replaces FIBERSTATUS, in its place.
        if let i = tf.columns.firstIndex(where: { $0.name.uppercased() == "FIBERSTATUS" || $0.name.uppercased() == "COADD_FIBERSTATUS" }) {
            tf.columns[i] = FITSColumn("COADD_FIBERSTATUS", .int32(coaddFS))
        } else {
            tf.columns.append(FITSColumn("COADD_FIBERSTATUS", .int32(coaddFS)))
        }
        for k in ["NIGHT", "EXPID", "MJD", "EXPTIME", "NUM_ITER", "PSF_TO_FIBER_SPECFLUX"] { tf[k] = nil }
        if !onetile {
            for k in ["TILEID", "FIBER", "FIBER_X", "FIBER_Y", "PRIORITY", "PETAL_RA", "PETAL_DEC", "LAMBDA_REF",
                      "FIBERASSIGN_X", "FIBERASSIGN_Y", "PETAL_LOC", "DEVICE_LOC", "LOCATION"] { tf[k] = nil }
        }
        // Quality grade of each target: the worst usable grade of its exposures, and their count per grade.
        if let q = QualityColumns.read(fibermap) {
            let perTarget = targets.map { t in rowsOf[t]!.map { q[$0] } }
            QualityColumns.write(perTarget.map(QualityColumns.coadded), to: &tf)
            let ngrade = perTarget.flatMap { QualityColumns.counts($0).map { Int16(clamping: $0) } }
            tf[QualityColumns.gradeCounts] = FITSColumn(QualityColumns.gradeCounts, .int16(ngrade),
                                                        cellShape: [QualityGrade.allCases.count])
        }
        exp["IN_COADD_B"] = FITSColumn("IN_COADD_B", .bool(inB))
        exp["IN_COADD_R"] = FITSColumn("IN_COADD_R", .bool(inR))
        exp["IN_COADD_Z"] = FITSColumn("IN_COADD_Z", .bool(inZ))
        exp.columns = perExposureColumns.compactMap { exp[$0] }
        return (tf, exp)
    }

    /// desispec.coaddition.calc_mean_std_ra_dec: means in degrees, standard deviations in arcsec (RA with cos dec).
    static func meanStdRaDec(_ ras: [Double], _ decs: [Double]) -> (meanRA: Double, stdRA: Double, meanDec: Double, stdDec: Double) {
        var r = ras
        var offset = 0.0
        if (r.max()! - r.min()!) > 180 { offset = 180; r = r.map { ($0 + offset).truncatingRemainder(dividingBy: 360) } }
        func mean(_ a: [Double]) -> Double { a.reduce(0, +) / Double(a.count) }
        func std(_ a: [Double]) -> Double {
            let m = mean(a); return (a.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(a.count)).squareRoot()
        }
        let md = mean(decs)
        var mr = (mean(r) - offset + 360).truncatingRemainder(dividingBy: 360)
        if mr < 0 { mr += 360 }
        return (mr, std(r) * cos(md * .pi / 180) * 3600, md, std(decs) * 3600)
    }
}
