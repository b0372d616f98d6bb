import DESICore
import FITS
import Foundation

/// What the simulator put into one camera's raw frame.
public struct CCDTruth: Sendable {
    public var config: CCDConfig
    public var exptime: Double
    /// Charge collected per active pixel (signal + dark + hot columns), electrons, shape [ny, nx], before read noise.
    public var electrons: [Float]
    /// Dark charge per active pixel (part of `electrons`).
    public var darkElectrons: [Float]
    /// Active pixels whose raw value reached the saturation level (flat indices into [ny, nx]).
    public var saturatedPixels: [Int]
}

/// One camera's raw frame: UInt16 ADU in DESI's raw layout, the camera-HDU header, and the truth.
public struct RawCamera: Sendable {
    public var camera: String
    public var ny: Int
    public var nx: Int
    public var data: [UInt16]
    public var header: FITSHeader
    public var truth: CCDTruth
}

extension CCDConfig {
    /// Turns an image of collected electrons (shape [ny, nx], signal Poisson noise already included) into the raw
    /// frame: adds dark current (Poisson, `darkCurrent * exptime`), hot/dead columns, then per amplifier converts to
    /// ADU with the gain, adds Gaussian read noise, the bias level and the bias structure, rounds, and clips at the
    /// saturation level and the 16-bit ADC range. Overscan, prescan and ORSEC pixels hold bias + read noise.
    /// Each amplifier draws from its own stream derived from `rng`, so the result does not depend on thread count.
    public func readout(electrons: [Float], ny: Int, nx: Int, exptime: Double, rng: inout SimulationRandom) -> RawCamera {
        precondition(ny == self.ny && nx == self.nx, "readout: image is \(ny)x\(nx), CCD is \(self.ny)x\(self.nx)")
        precondition(electrons.count == ny * nx, "readout: electrons must have ny*nx values")
        let baseSeed = rng.next()
        let rawNy = self.rawNy, rawNx = self.rawNx
        var raw = [UInt16](repeating: 0, count: rawNy * rawNx)
        var collected = [Float](repeating: 0, count: ny * nx)
        var dark = [Float](repeating: 0, count: ny * nx)
        var hotColumns = [Double](repeating: 0, count: nx)
        var deadColumns = [Bool](repeating: false, count: nx)
        for b in badColumns where b.column >= 0 && b.column < nx {
            hotColumns[b.column] += b.extraElectrons
            if b.dead { deadColumns[b.column] = true }
        }
        let hot = hotColumns, deadColumn = deadColumns
        // crosstalk: a fraction of each source amplifier's signal, mirrored as desispec's correction assumes
        // (rows reversed between bottom and top amplifiers, columns between left and right ones)
        var xtalk = [Float](repeating: 0, count: crosstalk.isEmpty ? 0 : ny * nx)
        for x in crosstalk where x.from != x.to {
            let s1 = regions(amp: x.from), s2 = regions(amp: x.to)
            let flipRows = (x.from >= 2) != (x.to >= 2), flipCols = (x.from % 2) != (x.to % 2)
            let nr = s1.ccdRows.count, nc = s1.ccdCols.count
            for i in 0..<nr {
                let si = flipRows ? nr - 1 - i : i
                for j in 0..<nc {
                    let sj = flipCols ? nc - 1 - j : j
                    xtalk[(s2.ccdRows.lowerBound + i) * nx + s2.ccdCols.lowerBound + j] +=
                        Float(x.fraction) * electrons[(s1.ccdRows.lowerBound + si) * nx + s1.ccdCols.lowerBound + sj]
                }
            }
        }
        let xt = xtalk
        var saturatedPerAmp = [[Int]](repeating: [], count: 4)
        let config = self
        raw.withUnsafeMutableBufferPointer { rawBuf in
        collected.withUnsafeMutableBufferPointer { colBuf in
        dark.withUnsafeMutableBufferPointer { darkBuf in
        electrons.withUnsafeBufferPointer { eBuf in
            nonisolated(unsafe) let rawP = rawBuf, colP = colBuf, darkP = darkBuf
            nonisolated(unsafe) let eP = eBuf
            let results = UnsafeMutablePointer<[Int]>.allocate(capacity: 4)
            results.initialize(repeating: [], count: 4)
            nonisolated(unsafe) let res = results
            DispatchQueue.concurrentPerform(iterations: 4) { ampIndex in
                let amp = config.amplifiers[ampIndex]
                let r = config.regions(amp: ampIndex)
                var g = SimulationRandom(seed: baseSeed, stream: UInt64(ampIndex) + 1)
                let sigmaADU = amp.readNoise / amp.gain
                let meanDark = amp.darkCurrent * exptime
                let satADU = min(amp.saturation, 65535)
                var saturated: [Int] = []
                func store(_ row: Int, _ col: Int, _ adu: Double) -> Bool {
                    let v = min(max(adu.rounded(), 0), satADU)
                    rawP[row * rawNx + col] = UInt16(v)
                    return v >= satADU
                }
                // every raw row of this amplifier's half: data rows, then ORSEC rows
                for (k, row) in r.dataRows.enumerated() {
                    let ccdRow = r.ccdRows.lowerBound + k
                    let stepADU = config.biasStep(amp: ampIndex, row: k)
                    for (m, col) in r.dataCols.enumerated() {
                        let ccdCol = r.ccdCols.lowerBound + m
                        let idx = ccdRow * nx + ccdCol
                        let d = meanDark > 0 ? g.poisson(meanDark) : 0
                        var e = Double(eP[idx]) + d + hot[ccdCol]
                        if deadColumn[ccdCol] { e = 0 }
                        darkP[idx] = Float(d)
                        colP[idx] = Float(e)
                        let eRead = xt.isEmpty ? e : e + Double(xt[idx])
                        let adu = amp.biasLevel + stepADU + config.biasStructureValue(rawRow: row, rawCol: col)
                            + eRead / amp.gain + sigmaADU * g.gaussian()
                        if store(row, col, adu) { saturated.append(idx) }
                    }
                    for col in Array(r.biasCols) + Array(r.prescanCols) {
                        _ = store(row, col, amp.biasLevel + stepADU + config.biasStructureValue(rawRow: row, rawCol: col)
                                      + sigmaADU * g.gaussian())
                    }
                }
                for row in r.orRows {
                    for col in Array(r.orCols) + Array(r.biasCols) + Array(r.prescanCols) {
                        _ = store(row, col, amp.biasLevel + config.biasStructureValue(rawRow: row, rawCol: col) + sigmaADU * g.gaussian())
                    }
                }
                res[ampIndex] = saturated
            }
            for i in 0..<4 { saturatedPerAmp[i] = results[i] }
            results.deinitialize(count: 4)
            results.deallocate()
        }}}}
        var header = headerCards()
        header.set("EXPTIME", exptime, comment: "exposure time [s]")
        header.addHistory(DESIProvenance.note("simulated CCD readout"))
        let truth = CCDTruth(config: self, exptime: exptime, electrons: collected, darkElectrons: dark,
                             saturatedPixels: saturatedPerAmp.flatMap { $0 }.sorted())
        return RawCamera(camera: camera, ny: rawNy, nx: rawNx, data: raw, header: header, truth: truth)
    }
}
